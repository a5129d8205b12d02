//! The store: the only code that imports redb. One database file under the data directory holds
//! users, sessions, tokens, jobs with their index tables, logs, attempts, statistics, library
//! folders and their encoding profiles, the probe cache, settings and the engine state.
//!
//! All methods are blocking; async callers go through [`Store::call`], the one `spawn_blocking`
//! helper. Writes are serialized by redb; the in-memory job index (see `index`) is updated under
//! the same writer lock right after each commit, so it never disagrees with the file. It is
//! built in the background after `open` (see `load`); what needs it waits for it.

mod batch;
pub(crate) mod codec; // the tests of `engine::jobs::views` list jobs from stored bytes
mod devices;
mod folders;
mod index;
mod jobs;
mod listing;
mod load;
mod logs;
mod probe_cache;
mod profiles;
mod queue;
pub mod records;
mod retries;
mod scanned;
mod segments;
mod settings;
pub mod snapshot;
mod stats;
mod tables;
mod trash;
mod users;
mod watched;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use redb::{Database, ReadableDatabase, ReadableTable, WriteTransaction};

pub use index::{Cursor, JobQuery, SortKey};
pub use jobs::{RunEnd, StatusCounts};
pub use listing::{JobRow, StoredPath};
pub use load::{IndexLoader, IndexStatus};
pub use profiles::FolderProfile;
pub use queue::{QueueFacts, QueueOrder, QueuedRow, UNPROBED_SAVING_FRACTION};
pub use records::*;
pub use scanned::{ScanOutcome, ScannedFile};
pub use stats::{Aggregated, CodecSavings, DailyEntry, Savings};
use tables::*;

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "alchemist.redb";
/// redb page cache. Its default (1 GiB) is the whole RAM of a small ARM NAS; the job list
/// is served from the in-memory index, so a small cache costs little: 4 MiB instead of 32
/// cut idle RSS at 100k jobs from 58.8 to 26.3 MiB (the index build reads every record, which
/// filled the cache) with the same list throughput (`load` bench, README).
pub const CACHE_BYTES: usize = 4 << 20;
/// How long `open` waits for the database file's lock. After a crash the lock can outlive the
/// dead server for a moment: a child it had forked but not yet exec'd (an ffprobe or ffmpeg
/// starting) holds a copy of its descriptors until the kernel has killed it too. The SIGKILL
/// crash test saw this often once probes ran ahead of dispatch; a restart must wait, not fail.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);
/// Poll period while waiting for the lock.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Bumped only when the table layout changes in a way `codec` upgrades cannot express.
pub const SCHEMA_VERSION: u64 = 1;

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(String),
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the store task failed: {0}")]
    Task(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { StoreError::Db(e.to_string()) }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

pub type Result<T> = std::result::Result<T, StoreError>;

struct Inner {
    db: Database,
    path: PathBuf,
    /// Serializes writers so the in-memory index is updated in commit order.
    writer: Mutex<()>,
    index: Arc<load::IndexCell>,
    /// The queued jobs in dispatch order for the orders the tables do not keep (see `queue`).
    queue: Mutex<queue::QueueBook>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A build still running stops: its snapshot would keep the file open.
        self.index.cancel.store(true, Ordering::Relaxed);
    }
}

/// Handle to the store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Open (or create) the database in `data_dir` and start building the job index in the
    /// background (see `load`). Waits up to [`LOCK_WAIT`] for another holder of the file to
    /// let go.
    pub fn open(data_dir: &Path) -> Result<Store> {
        let (store, loader) = Store::open_deferred(data_dir)?;
        loader.start();
        Ok(store)
    }

    /// Like [`Store::open`], but the index build starts only with [`IndexLoader::start`]
    /// (or when the loader is dropped): until then the store is open and the index is not
    /// ready, which lets a caller (a test) see that state for as long as it needs.
    pub fn open_deferred(data_dir: &Path) -> Result<(Store, IndexLoader)> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Db(format!("cannot create data directory: {e}")))?;
        let path = data_dir.join(DB_FILE);
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let db = loop {
            match Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&path)
            {
                Err(redb::DatabaseError::DatabaseAlreadyOpen)
                    if std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(LOCK_POLL);
                }
                other => break other?,
            }
        };
        let store = Store {
            inner: Arc::new(Inner {
                db,
                path,
                writer: Mutex::new(()),
                index: Arc::new(load::IndexCell::loading()),
                queue: Mutex::new(queue::QueueBook::default()),
            }),
        };
        store.init_schema()?;
        let order = store.stored_queue_order()?;
        store
            .inner
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set_order(order);
        // No other thread has the store yet: every commit after this snapshot reaches the
        // index through the cell's pending list.
        let snapshot = store.read()?;
        let loader = IndexLoader::new(store.inner.index.clone(), snapshot);
        Ok((store, loader))
    }

    /// Whether the job index is built (`/api/ready`).
    pub fn index_status(&self) -> IndexStatus {
        self.inner.index.status()
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Run blocking store work from async code.
    pub async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    fn init_schema(&self) -> Result<()> {
        self.write(|txn| {
            // Opening creates the tables, so readers never meet a missing table.
            txn.open_table(META)?;
            txn.open_table(USERS)?;
            txn.open_table(SESSIONS)?;
            txn.open_table(API_TOKENS)?;
            txn.open_table(API_TOKEN_HASHES)?;
            txn.open_table(JOBS)?;
            txn.open_table(JOBS_BY_STATUS)?;
            txn.open_table(JOBS_QUEUE)?;
            txn.open_table(JOBS_BY_UPDATED)?;
            txn.open_table(JOBS_BY_PATH)?;
            txn.open_table(JOB_LOGS)?;
            txn.open_table(ATTEMPTS)?;
            txn.open_table(ENCODE_RESULTS)?;
            txn.open_table(DAILY_STATS)?;
            txn.open_table(LIBRARY_FOLDERS)?;
            txn.open_table(PROBE_CACHE)?;
            txn.open_table(SETTINGS)?;
            txn.open_table(TRASH)?;
            txn.open_table(PROFILES)?;
            txn.open_table(DEVICES)?;
            let mut meta = txn.open_table(META)?;
            let existing = meta
                .get("schema_version")?
                .map(|v| u64::from_le_bytes(v.value().try_into().unwrap_or([0; 8])));
            match existing {
                None => {
                    meta.insert("schema_version", SCHEMA_VERSION.to_le_bytes().as_slice())?;
                }
                Some(v) if v > SCHEMA_VERSION => {
                    return Err(StoreError::Corrupt(format!(
                        "database schema {v} is newer than this release ({SCHEMA_VERSION})"
                    )));
                }
                Some(_) => {}
            }
            Ok(())
        })
    }

    /// Run `f` in a write transaction and commit. Holds the writer lock throughout.
    fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> Result<T>) -> Result<T> {
        self.write_jobs(|txn, _| f(txn))
    }

    /// Like `write`, for changes to jobs: `f` pushes every job it stored into the vector, and
    /// the in-memory index takes them after the commit, still under the writer lock.
    fn write_jobs<T>(
        &self,
        f: impl FnOnce(&WriteTransaction, &mut Vec<Job>) -> Result<T>,
    ) -> Result<T> {
        let _guard = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        let txn = self.inner.db.begin_write()?;
        let mut changed = Vec::new();
        let out = f(&txn, &mut changed)?;
        txn.commit()?;
        if !changed.is_empty() {
            self.inner.index.apply(&changed);
            self.queue_book_apply(&changed);
        }
        Ok(out)
    }

    fn read(&self) -> Result<redb::ReadTransaction> {
        Ok(self.inner.db.begin_read()?)
    }

    /// Next value of a named counter (ids start at 1).
    fn next_id(txn: &WriteTransaction, counter: &str) -> Result<u64> {
        let mut meta = txn.open_table(META)?;
        let current = meta
            .get(counter)?
            .map(|v| u64::from_le_bytes(v.value().try_into().unwrap_or([0; 8])))
            .unwrap_or(0);
        let next = current + 1;
        meta.insert(counter, next.to_le_bytes().as_slice())?;
        Ok(next)
    }

    /// True when the database answers a read (readiness probe).
    pub fn ping(&self) -> bool {
        self.read()
            .and_then(|r| Ok(r.open_table(META)?.get("schema_version")?.is_some()))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod load_tests;
#[cfg(test)]
mod tests;
