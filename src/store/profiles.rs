//! Custom encoding profiles (name → [`StoredProfile`]) and which profile each library folder
//! uses. A folder's reference to a stored profile is checked in the same write transaction that
//! sets it, and deleting a profile checks the folders in its own, so a folder never points at a
//! profile that is gone.

use redb::{ReadableTable, WriteTransaction};

use super::codec::{decode, encode};
use super::records::{LibraryFolder, StoredProfile};
use super::tables::{LIBRARY_FOLDERS, PROFILES};
use super::{Result, Store, StoreError};
use crate::model::now_ms;

/// The profile a folder is set to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderProfile<'a> {
    /// A name the engine knows without the store (a built-in preset).
    Reserved(&'a str),
    /// A custom profile: it must be in the profiles table.
    Stored(&'a str),
}

impl<'a> FolderProfile<'a> {
    pub fn name(self) -> &'a str {
        match self {
            FolderProfile::Reserved(n) | FolderProfile::Stored(n) => n,
        }
    }
}

/// `Invalid` when `profile` names a stored profile that does not exist.
pub(super) fn check_folder_profile(
    txn: &WriteTransaction,
    profile: Option<FolderProfile<'_>>,
) -> Result<()> {
    if let Some(FolderProfile::Stored(name)) = profile
        && txn.open_table(PROFILES)?.get(name)?.is_none()
    {
        return Err(StoreError::Invalid(format!(
            "profile `{name}` does not exist"
        )));
    }
    Ok(())
}

impl Store {
    /// Every stored profile, by name.
    pub fn profiles(&self) -> Result<Vec<StoredProfile>> {
        let read = self.read()?;
        let t = read.open_table(PROFILES)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            out.push(decode(row?.1.value())?);
        }
        Ok(out)
    }

    pub fn profile(&self, name: &str) -> Result<Option<StoredProfile>> {
        let read = self.read()?;
        let t = read.open_table(PROFILES)?;
        match t.get(name)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// Store a new profile. `Conflict` if the name is taken.
    pub fn insert_profile(&self, name: &str, profile: serde_json::Value) -> Result<StoredProfile> {
        self.write(|txn| {
            let mut t = txn.open_table(PROFILES)?;
            if t.get(name)?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "a profile named `{name}` exists"
                )));
            }
            let now = now_ms();
            let record = StoredProfile {
                name: name.to_string(),
                profile,
                created_at: now,
                updated_at: now,
            };
            t.insert(name, encode(&record).as_slice())?;
            Ok(record)
        })
    }

    /// Replace the fields of a stored profile. `NotFound` if there is none by that name.
    pub fn replace_profile(&self, name: &str, profile: serde_json::Value) -> Result<StoredProfile> {
        self.write(|txn| {
            let mut t = txn.open_table(PROFILES)?;
            let mut record: StoredProfile = match t.get(name)? {
                Some(v) => decode(v.value())?,
                None => return Err(StoreError::NotFound),
            };
            record.profile = profile;
            record.updated_at = now_ms().max(record.created_at);
            t.insert(name, encode(&record).as_slice())?;
            Ok(record)
        })
    }

    /// Delete a stored profile. `NotFound` if there is none; `Conflict` (naming the folders)
    /// while a folder uses it.
    pub fn delete_profile(&self, name: &str) -> Result<()> {
        self.write(|txn| {
            let folders = txn.open_table(LIBRARY_FOLDERS)?;
            let mut users = Vec::new();
            for row in folders.iter()? {
                let f: LibraryFolder = decode(row?.1.value())?;
                if f.profile.as_deref() == Some(name) {
                    users.push(f.path.display().to_string());
                }
            }
            drop(folders);
            let mut t = txn.open_table(PROFILES)?;
            if t.get(name)?.is_none() {
                return Err(StoreError::NotFound);
            }
            if !users.is_empty() {
                return Err(StoreError::Conflict(format!(
                    "profile `{name}` is used by {}; choose another profile for them first",
                    users.join(", ")
                )));
            }
            t.remove(name)?;
            Ok(())
        })
    }

    pub fn folder(&self, id: u64) -> Result<Option<LibraryFolder>> {
        let read = self.read()?;
        let t = read.open_table(LIBRARY_FOLDERS)?;
        match t.get(id)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// Set the profile of folder `id` (`None`: the default). `NotFound` for an unknown folder,
    /// `Invalid` for an unknown stored profile.
    pub fn set_folder_profile(
        &self,
        id: u64,
        profile: Option<FolderProfile<'_>>,
    ) -> Result<LibraryFolder> {
        self.write(|txn| {
            let mut t = txn.open_table(LIBRARY_FOLDERS)?;
            let mut folder: LibraryFolder = match t.get(id)? {
                Some(v) => decode(v.value())?,
                None => return Err(StoreError::NotFound),
            };
            check_folder_profile(txn, profile)?;
            folder.profile = profile.map(|p| p.name().to_string());
            t.insert(id, encode(&folder).as_slice())?;
            Ok(folder)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::codec::Versioned;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn folders_written_before_profiles_still_decode() {
        let mut old = vec![LibraryFolder::VERSION];
        old.extend_from_slice(br#"{"id":3,"path":"/m","recursive":true,"created_at":5}"#);
        let f: LibraryFolder = decode(&old).unwrap();
        assert_eq!((f.id, f.profile), (3, None));
    }

    #[test]
    fn profile_crud() {
        let (_dir, store) = open();
        assert!(store.profiles().unwrap().is_empty());
        let a = store
            .insert_profile("kids", serde_json::json!({"crf": 20}))
            .unwrap();
        assert_eq!(a.created_at, a.updated_at);
        assert!(matches!(
            store.insert_profile("kids", serde_json::json!({})),
            Err(StoreError::Conflict(_))
        ));
        let b = store
            .replace_profile("kids", serde_json::json!({"crf": 22}))
            .unwrap();
        assert_eq!(b.profile["crf"], 22);
        assert_eq!(store.profile("kids").unwrap().unwrap(), b);
        assert!(matches!(
            store.replace_profile("nope", serde_json::json!({})),
            Err(StoreError::NotFound)
        ));
        store.delete_profile("kids").unwrap();
        assert!(store.profile("kids").unwrap().is_none());
        assert!(matches!(
            store.delete_profile("kids"),
            Err(StoreError::NotFound)
        ));
    }

    #[test]
    fn folders_reference_existing_profiles_and_block_their_deletion() {
        let (_dir, store) = open();
        store
            .insert_profile("films", serde_json::json!({}))
            .unwrap();
        let f = store.add_folder(Path::new("/m"), true).unwrap();
        assert_eq!(f.profile, None);
        assert!(matches!(
            store.set_folder_profile(f.id, Some(FolderProfile::Stored("gone"))),
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            store.set_folder_profile(99, None),
            Err(StoreError::NotFound)
        ));
        let set = store
            .set_folder_profile(f.id, Some(FolderProfile::Stored("films")))
            .unwrap();
        assert_eq!(set.profile.as_deref(), Some("films"));
        assert_eq!(store.folder(f.id).unwrap().unwrap(), set);
        assert!(matches!(
            store.delete_profile("films"),
            Err(StoreError::Conflict(_))
        ));
        store
            .set_folder_profile(f.id, Some(FolderProfile::Reserved("balanced")))
            .unwrap();
        store.delete_profile("films").unwrap();
        let g = store
            .add_folder_with_profile(
                Path::new("/n"),
                false,
                Some(FolderProfile::Reserved("compatible")),
            )
            .unwrap();
        assert_eq!(g.profile.as_deref(), Some("compatible"));
        assert!(matches!(
            store.add_folder_with_profile(
                Path::new("/o"),
                false,
                Some(FolderProfile::Stored("films"))
            ),
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(store.folders().unwrap().len(), 2);
    }
}
