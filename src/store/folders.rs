//! Library folders: which folders are scanned and the profile each uses (checked in the same
//! write transaction, see `profiles`).

use std::path::{Path, PathBuf};

use redb::ReadableTable;

use super::codec::{decode, encode};
use super::profiles::{FolderProfile, check_folder_profile};
use super::records::{DEFAULT_RESCAN_MINUTES, LibraryFolder};
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
                watch: true,
                rescan_interval_minutes: DEFAULT_RESCAN_MINUTES,
            };
            txn.open_table(LIBRARY_FOLDERS)?
                .insert(id, encode(&folder).as_slice())?;
            Ok(folder)
        })
    }

    /// Change how folder `id` is watched; `None` keeps a value. `NotFound` for an unknown
    /// folder.
    pub fn set_folder_watch(
        &self,
        id: u64,
        watch: Option<bool>,
        rescan_interval_minutes: Option<u32>,
    ) -> Result<LibraryFolder> {
        self.write(|txn| {
            let mut t = txn.open_table(LIBRARY_FOLDERS)?;
            let mut folder: LibraryFolder = match t.get(id)? {
                Some(v) => decode(v.value())?,
                None => return Err(StoreError::NotFound),
            };
            if let Some(w) = watch {
                folder.watch = w;
            }
            if let Some(m) = rescan_interval_minutes {
                folder.rescan_interval_minutes = m;
            }
            t.insert(id, encode(&folder).as_slice())?;
            Ok(folder)
        })
    }

    pub fn remove_folder(&self, id: u64) -> Result<()> {
        self.write(|txn| match txn.open_table(LIBRARY_FOLDERS)?.remove(id)? {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_without_watch_fields_read_with_defaults() {
        // A folder as written before watching existed.
        let mut old = vec![1u8];
        old.extend_from_slice(
            br#"{"id":3,"path":"/media/tv","recursive":true,"created_at":1,"profile":null}"#,
        );
        let f: LibraryFolder = decode(&old).unwrap();
        assert!(f.watch);
        assert_eq!(f.rescan_interval_minutes, DEFAULT_RESCAN_MINUTES);
    }

    #[test]
    fn watch_settings_change_and_persist() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let f = store.add_folder(Path::new("/m"), true).unwrap();
        assert!(f.watch);
        let f = store.set_folder_watch(f.id, Some(false), None).unwrap();
        assert_eq!((f.watch, f.rescan_interval_minutes), (false, 360));
        let f = store.set_folder_watch(f.id, None, Some(0)).unwrap();
        assert_eq!((f.watch, f.rescan_interval_minutes), (false, 0));
        assert_eq!(store.folders().unwrap()[0].rescan_interval_minutes, 0);
        assert!(matches!(
            store.set_folder_watch(99, Some(true), None),
            Err(StoreError::NotFound)
        ));
    }
}
