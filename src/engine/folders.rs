//! The library folders service: which folders are scanned, stored canonical, and the encoding
//! profile each uses. A folder's profile reference is checked in the store's write
//! transaction, so a folder never points at a profile that is gone.

use std::path::PathBuf;

use serde::Serialize;
use utoipa::ToSchema;

use crate::profiles::{ProfileError, folder_ref};
use crate::store::{LibraryFolder, Store, StoreError};

/// A library folder as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FolderView {
    pub id: u64,
    pub path: String,
    pub recursive: bool,
    /// The folder's encoding profile; `null` is `default` (the configuration).
    pub profile: Option<String>,
}

impl From<LibraryFolder> for FolderView {
    fn from(f: LibraryFolder) -> Self {
        FolderView {
            id: f.id,
            path: f.path.to_string_lossy().into_owned(),
            recursive: f.recursive,
            profile: f.profile,
        }
    }
}

/// Why a library folder cannot be added or changed.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("{0}")]
    Invalid(String),
    #[error("profile `{0}` does not exist; a folder can only use an existing profile")]
    UnknownProfile(String),
    #[error("{0}")]
    Exists(String),
    #[error("folder {0} does not exist")]
    NotFound(u64),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for FolderError {
    fn from(e: StoreError) -> FolderError {
        match e {
            StoreError::Conflict(msg) => FolderError::Exists(msg),
            other => FolderError::Store(other),
        }
    }
}

/// Handle to the folders. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Folders {
    store: Store,
}

impl Folders {
    pub fn new(store: Store) -> Folders {
        Folders { store }
    }

    pub async fn list(&self) -> Result<Vec<FolderView>, StoreError> {
        let folders = self.store.call(|s| s.folders()).await?;
        Ok(folders.into_iter().map(FolderView::from).collect())
    }

    /// Add a library folder: an absolute path to an existing directory, stored canonical, with
    /// its encoding profile (`None`: the default).
    pub async fn add(
        &self,
        path: PathBuf,
        recursive: bool,
        profile: Option<String>,
    ) -> Result<FolderView, FolderError> {
        let unknown = || FolderError::UnknownProfile(profile.clone().unwrap_or_default());
        folder_ref(profile.as_deref()).map_err(|_| unknown())?;
        if !path.is_absolute() {
            return Err(FolderError::Invalid(format!(
                "`{}` is not an absolute path",
                path.display()
            )));
        }
        let canonical = tokio::task::spawn_blocking(move || {
            let meta = std::fs::metadata(&path).map_err(|e| {
                FolderError::Invalid(format!("`{}` cannot be used: {e}", path.display()))
            })?;
            if !meta.is_dir() {
                return Err(FolderError::Invalid(format!(
                    "`{}` is not a directory",
                    path.display()
                )));
            }
            std::fs::canonicalize(&path).map_err(|e| {
                FolderError::Invalid(format!("`{}` cannot be resolved: {e}", path.display()))
            })
        })
        .await
        .map_err(|e| FolderError::Invalid(e.to_string()))??;
        let wanted = profile.clone();
        let folder = self
            .store
            .call(move |s| {
                let target = folder_ref(wanted.as_deref())
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                s.add_folder_with_profile(&canonical, recursive, target)
            })
            .await
            .map_err(|e| match e {
                StoreError::Invalid(_) => unknown(),
                other => other.into(),
            })?;
        Ok(folder.into())
    }

    /// Remove a folder from the library (its files and jobs stay).
    pub async fn remove(&self, id: u64) -> Result<(), FolderError> {
        self.store
            .call(move |s| s.remove_folder(id))
            .await
            .map_err(|e| match e {
                StoreError::NotFound => FolderError::NotFound(id),
                other => other.into(),
            })
    }

    /// Choose the profile of folder `id` (`None` or `default`: the default profile).
    pub async fn set_profile(
        &self,
        id: u64,
        profile: Option<String>,
    ) -> Result<FolderView, ProfileError> {
        folder_ref(profile.as_deref())?;
        let wanted = profile.clone().unwrap_or_default();
        let folder = self
            .store
            .call(move |s| {
                let target = folder_ref(profile.as_deref())
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                s.set_folder_profile(id, target)
            })
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ProfileError::FolderNotFound(id),
                StoreError::Invalid(_) => ProfileError::UnknownForFolder(wanted),
                other => other.into(),
            })?;
        Ok(folder.into())
    }
}
