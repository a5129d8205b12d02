//! Consistent copies of the store while the server runs (backups). Every table is read from
//! one read transaction, so the copy is the state of a single commit however many writes land
//! meanwhile; rows go into a fresh redb file in chunks, so neither side holds a table in
//! memory. redb has no untyped row access, so the copy is typed, table by table: a table the
//! live store has but the list below does not name makes the snapshot fail rather than be
//! silently incomplete (the backup tests list the live tables and catch a table added without
//! being registered here).

use std::path::Path;

use redb::{
    Database, Key, ReadOnlyDatabase, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition, TableHandle, Value,
};
use serde::{Deserialize, Serialize};

use super::tables::*;
use super::{CACHE_BYTES, Result, SCHEMA_VERSION, Store, StoreError};

/// Rows per write transaction of the copy: bounds the copy's dirty pages in memory.
const CHUNK: u64 = 10_000;
/// Tables a restorable store must have (the rest are created on open or lazily).
pub const REQUIRED_TABLES: &[&str] = &["meta", "users", "jobs", "settings"];

/// One table of a snapshot and how many rows it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TableCount {
    pub name: String,
    pub rows: u64,
}

/// Copy one table; `None` when the live store does not have it (a lazily created table).
fn copy_table<K: Key + 'static, V: Value + 'static>(
    read: &ReadTransaction,
    db: &Database,
    def: TableDefinition<K, V>,
) -> Result<Option<u64>> {
    let src = match read.open_table(def) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut rows = 0u64;
    let mut iter = src.iter()?;
    loop {
        let txn = db.begin_write()?;
        let mut more = false;
        {
            let mut dst = txn.open_table(def)?;
            let mut n = 0;
            for entry in iter.by_ref() {
                let (k, v) = entry?;
                dst.insert(k.value(), v.value())?;
                rows += 1;
                n += 1;
                if n == CHUNK {
                    more = true;
                    break;
                }
            }
        }
        txn.commit()?;
        if !more {
            return Ok(Some(rows));
        }
    }
}

impl Store {
    /// Write a consistent copy of the whole store into a new redb file at `dest` (which must
    /// not exist) and return its tables with their row counts.
    pub fn snapshot_to(&self, dest: &Path) -> Result<Vec<TableCount>> {
        let read = self.read()?;
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(dest)?;
        let mut counts = Vec::new();
        macro_rules! copy {
            ($($t:ident),* $(,)?) => {$(
                if let Some(rows) = copy_table(&read, &db, $t)? {
                    counts.push(TableCount { name: $t.name().to_string(), rows });
                }
            )*};
        }
        copy!(
            META,
            USERS,
            SESSIONS,
            API_TOKENS,
            API_TOKEN_HASHES,
            JOBS,
            JOBS_BY_STATUS,
            JOBS_QUEUE,
            JOBS_BY_UPDATED,
            JOBS_BY_PATH,
            JOB_LOGS,
            ATTEMPTS,
            ENCODE_RESULTS,
            DAILY_STATS,
            LIBRARY_FOLDERS,
            PROBE_CACHE,
            SETTINGS,
            TRASH,
            PROFILES,
            RETRY_SCHEDULE,
            DEVICES,
            SEGMENTS,
        );
        let missed: Vec<String> = read
            .list_tables()?
            .map(|h| h.name().to_string())
            .filter(|name| !counts.iter().any(|c| &c.name == name))
            .collect();
        if !missed.is_empty() {
            return Err(StoreError::Invalid(format!(
                "the backup does not know how to copy table(s) {}: register them in store::snapshot",
                missed.join(", ")
            )));
        }
        Ok(counts)
    }
}

/// The library folders a store file holds (a backup being restored), without opening it as
/// the live store.
pub fn folder_paths(path: &Path) -> Result<Vec<std::path::PathBuf>> {
    let db = ReadOnlyDatabase::open(path)?;
    let read = db.begin_read()?;
    let table = match read.open_table(LIBRARY_FOLDERS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for row in table.iter()? {
        let folder: super::records::LibraryFolder = super::codec::decode(row?.1.value())?;
        out.push(folder.path);
    }
    Ok(out)
}

/// Open a store file read-only and list its tables with row counts, checking that it is a
/// store this release can open: the required tables are there and its schema is not newer.
pub fn inspect_file(path: &Path) -> Result<Vec<TableCount>> {
    let db = ReadOnlyDatabase::open(path)?;
    let read = db.begin_read()?;
    let mut counts = Vec::new();
    for handle in read.list_tables()? {
        let name = handle.name().to_string();
        let rows = read.open_untyped_table(handle)?.len()?;
        counts.push(TableCount { name, rows });
    }
    for required in REQUIRED_TABLES {
        if !counts.iter().any(|c| c.name == *required) {
            return Err(StoreError::Corrupt(format!(
                "the store has no `{required}` table"
            )));
        }
    }
    let meta = read.open_table(META)?;
    let schema = meta
        .get("schema_version")?
        .map(|v| u64::from_le_bytes(v.value().try_into().unwrap_or([0; 8])))
        .ok_or_else(|| StoreError::Corrupt("the store has no schema version".into()))?;
    if schema > SCHEMA_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the store's schema {schema} is newer than this release ({SCHEMA_VERSION})"
        )));
    }
    Ok(counts)
}
