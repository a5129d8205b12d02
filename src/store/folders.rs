//! Library folders: which folders are scanned and the profile each uses (checked in the same
//! write transaction, see `profiles`).

use std::path::{Path, PathBuf};

use redb::ReadableTable;

use super::codec::{decode, encode};
use super::profiles::{FolderProfile, check_folder_profile};
use super::records::LibraryFolder;
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
}
