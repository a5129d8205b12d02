//! Small tables: library folders, the probe cache, settings and the engine state.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use redb::ReadableTable;

use super::codec::{decode, encode};
use super::profiles::{FolderProfile, check_folder_profile};
use super::records::{EngineState, LibraryFolder, ProbeCacheEntry};
use super::tables::*;
use super::{Result, Store, StoreError};
use crate::model::now_ms;

impl Store {
    pub fn folders(&self) -> Result<Vec<LibraryFolder>> {
        let read = self.read()?;
        let t = read.open_table(LIBRARY_FOLDERS)?;
        let mut out = Vec::new();
        for e in t.iter()? {
            out.push(decode(e?.1.value())?);
        }
        Ok(out)
    }

    /// Add a folder (path already validated and canonical). `Conflict` if it is present.
    pub fn add_folder(&self, path: &Path, recursive: bool) -> Result<LibraryFolder> {
        self.add_folder_with_profile(path, recursive, None)
    }

    /// Add a folder that uses `profile` (see [`FolderProfile`]). `Conflict` if the folder is
    /// present, `Invalid` if a stored profile it names does not exist.
    pub fn add_folder_with_profile(
        &self,
        path: &Path,
        recursive: bool,
        profile: Option<FolderProfile<'_>>,
    ) -> Result<LibraryFolder> {
        self.write(|txn| {
            check_folder_profile(txn, profile)?;
            let t = txn.open_table(LIBRARY_FOLDERS)?;
            for e in t.iter()? {
                let f: LibraryFolder = decode(e?.1.value())?;
                if f.path == path {
                    return Err(StoreError::Conflict(format!(
                        "folder {} is already in the library (id {})",
                        path.display(),
                        f.id
                    )));
                }
            }
            drop(t);
            let id = Store::next_id(txn, "next_folder_id")?;
            let folder = LibraryFolder {
                id,
                path: PathBuf::from(path),
                recursive,
                created_at: now_ms(),
                profile: profile.map(|p| p.name().to_string()),
            };
            txn.open_table(LIBRARY_FOLDERS)?
                .insert(id, encode(&folder).as_slice())?;
            Ok(folder)
        })
    }

    pub fn remove_folder(&self, id: u64) -> Result<()> {
        self.write(|txn| match txn.open_table(LIBRARY_FOLDERS)?.remove(id)? {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound),
        })
    }

    pub fn probe_cache_get(&self, path: &Path) -> Result<Option<ProbeCacheEntry>> {
        let read = self.read()?;
        let t = read.open_table(PROBE_CACHE)?;
        match t.get(path.as_os_str().as_bytes())? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    pub fn probe_cache_put(&self, path: &Path, entry: &ProbeCacheEntry) -> Result<()> {
        self.write(|txn| {
            txn.open_table(PROBE_CACHE)?
                .insert(path.as_os_str().as_bytes(), encode(entry).as_slice())?;
            Ok(())
        })
    }

    pub fn engine_state(&self) -> Result<EngineState> {
        let read = self.read()?;
        let t = read.open_table(META)?;
        match t.get("engine")? {
            Some(v) => decode(v.value()),
            None => Ok(EngineState::default()),
        }
    }

    pub fn set_engine_state(&self, state: &EngineState) -> Result<()> {
        self.write(|txn| {
            txn.open_table(META)?
                .insert("engine", encode(state).as_slice())?;
            Ok(())
        })
    }

    pub fn setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let read = self.read()?;
        let t = read.open_table(SETTINGS)?;
        match t.get(key)? {
            Some(v) => serde_json::from_slice(v.value())
                .map(Some)
                .map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(None),
        }
    }

    pub fn set_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.write(|txn| {
            txn.open_table(SETTINGS)?.insert(key, bytes.as_slice())?;
            Ok(())
        })
    }
}
