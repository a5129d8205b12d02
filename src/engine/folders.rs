//! The library folders service: which folders are scanned, stored canonical, the encoding
//! profile each uses, and how each is watched for new files (see `watch`). A folder's profile
//! reference is checked in the store's write transaction, so a folder never points at a
//! profile that is gone. Every change asks the watcher to take the folders in again.

use std::path::PathBuf;

use serde::Serialize;
use utoipa::ToSchema;

use super::watch::{FolderWatch, Watch, WatchMode};
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
    /// Queue new and changed files as they appear.
    pub watch: bool,
    /// Walk the folder this often as a safety net; 0 = never.
    pub rescan_interval_minutes: u32,
    /// How the folder is watched now.
    pub watch_mode: WatchMode,
    /// Why, in a sentence (filesystem type, settings, inotify limits).
    pub watch_reason: String,
    /// Files seen and waiting to settle before they are queued.
    pub watch_pending: usize,
}

/// Largest rescan interval: a year.
pub const MAX_RESCAN_MINUTES: u32 = 525_600;

fn view(f: LibraryFolder, watch: &Watch) -> FolderView {
    let state = watch.folder(f.id).unwrap_or_else(|| FolderWatch {
        mode: WatchMode::Off,
        reason: if f.watch {
            "not watched yet: the watcher is taking the folder in".into()
        } else {
            "watching is off for this folder".into()
        },
        pending: 0,
    });
    FolderView {
        id: f.id,
        path: f.path.to_string_lossy().into_owned(),
        recursive: f.recursive,
        profile: f.profile,
        watch: f.watch,
        rescan_interval_minutes: f.rescan_interval_minutes,
        watch_mode: state.mode,
        watch_reason: state.reason,
        watch_pending: state.pending,
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
    #[error("{0}")]
    OutsideRoots(String),
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

/// System locations that are never a library folder nor inside one when no
/// `[security] library_roots` are configured: the whole system (`/`), kernel and device
/// interfaces, configuration, boot files, programs and root's home. With the `replace` policy a
/// library folder is a place files are moved in and out of, so it must hold media only.
pub const SYSTEM_LOCATIONS: &[&str] = &[
    "/", "/proc", "/sys", "/dev", "/run", "/etc", "/boot", "/usr", "/root", "/bin", "/sbin",
    "/lib", "/lib64", "/var/lib", "/var/log",
];

/// Where library folders may be.
#[derive(Debug, Clone)]
pub(crate) struct LibraryPolicy {
    /// `[security] library_roots`: only below these; `None`: anywhere but [`SYSTEM_LOCATIONS`].
    pub roots: Option<Vec<PathBuf>>,
    /// The server's own data (the store, the config): never a library folder or inside one
    /// (a folder below it, such as the demo library of `bash .ci/dev run`, is fine).
    pub data_dir: PathBuf,
}

impl LibraryPolicy {
    /// `Some(why)` when `folder` (canonical) may not be a library folder.
    pub fn refuses(&self, folder: &std::path::Path) -> Option<String> {
        let data = std::fs::canonicalize(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
        if data.starts_with(folder) {
            return Some(format!(
                "`{}` holds the server's data folder {}",
                folder.display(),
                data.display()
            ));
        }
        match &self.roots {
            Some(roots) => {
                let inside = roots.iter().any(|r| {
                    let r = std::fs::canonicalize(r).unwrap_or_else(|_| r.clone());
                    folder.starts_with(r)
                });
                (!inside).then(|| {
                    let list: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
                    format!(
                        "`{}` is not inside an allowed library root ({}; see [security] library_roots)",
                        folder.display(),
                        list.join(", ")
                    )
                })
            }
            None => SYSTEM_LOCATIONS
                .iter()
                .find(|s| {
                    let s = std::path::Path::new(s);
                    folder == s || (s != std::path::Path::new("/") && folder.starts_with(s))
                })
                .map(|s| {
                    format!(
                        "`{}` is a system location ({s}); library folders hold media only \
                         (allow it with [security] library_roots)",
                        folder.display()
                    )
                }),
        }
    }
}

/// Handle to the folders. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Folders {
    store: Store,
    policy: LibraryPolicy,
    watch: Watch,
}

impl Folders {
    pub fn new(store: Store, policy: LibraryPolicy, watch: Watch) -> Folders {
        Folders {
            store,
            policy,
            watch,
        }
    }

    /// `Some(why)` when `path` may not be a library folder under the running policy (a folder
    /// in a backup being restored over the network): resolved as adding it would.
    pub fn refuses(&self, path: &std::path::Path) -> Option<String> {
        use std::path::Component;
        let clean = path.is_absolute()
            && path
                .components()
                .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if !clean {
            return Some(format!(
                "`{}` is not an absolute path without `..` parts",
                path.display()
            ));
        }
        self.policy
            .refuses(path)
            .or_else(|| self.policy.refuses(&crate::profiles::resolved(path)))
    }

    /// Watch the folders with `settings` from now on (`[watch]` edited in the config file).
    pub fn apply_watch_settings(&self, settings: crate::config::WatchSettings) {
        self.watch.apply(settings);
    }

    pub async fn list(&self) -> Result<Vec<FolderView>, StoreError> {
        let folders = self.store.call(|s| s.folders()).await?;
        Ok(folders.into_iter().map(|f| view(f, &self.watch)).collect())
    }

    /// Change how folder `id` is watched (`None` keeps a value).
    pub async fn set_watch(
        &self,
        id: u64,
        watch: Option<bool>,
        rescan_interval_minutes: Option<u32>,
    ) -> Result<FolderView, FolderError> {
        if rescan_interval_minutes.is_some_and(|m| m > MAX_RESCAN_MINUTES) {
            return Err(FolderError::Invalid(format!(
                "rescan_interval_minutes must be between 0 (never) and {MAX_RESCAN_MINUTES}"
            )));
        }
        let folder = self
            .store
            .call(move |s| s.set_folder_watch(id, watch, rescan_interval_minutes))
            .await
            .map_err(|e| match e {
                StoreError::NotFound => FolderError::NotFound(id),
                other => other.into(),
            })?;
        self.watch.reload();
        Ok(view(folder, &self.watch))
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
        if let Some(why) = self.policy.refuses(&canonical) {
            return Err(FolderError::OutsideRoots(why));
        }
        // A profile's output root inside the new folder would have its outputs scanned.
        let path = canonical.clone();
        let overlap = self
            .store
            .call(move |s| Ok(crate::profiles::check_folder_against_outputs(s, &path)))
            .await?;
        if let Err(e) = overlap {
            return Err(FolderError::Invalid(e.to_string()));
        }
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
        self.watch.reload();
        Ok(view(folder, &self.watch))
    }

    /// Remove a folder from the library (its files and jobs stay).
    pub async fn remove(&self, id: u64) -> Result<(), FolderError> {
        self.store
            .call(move |s| s.remove_folder(id))
            .await
            .map_err(|e| match e {
                StoreError::NotFound => FolderError::NotFound(id),
                other => other.into(),
            })?;
        self.watch.reload();
        Ok(())
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
        Ok(view(folder, &self.watch))
    }
}
