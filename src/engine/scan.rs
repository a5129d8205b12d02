//! Library scans: walk each folder (symlinks not followed, so nothing outside the folder is
//! reached), keep video files that are not ours, and record them in batches. Known files with
//! unchanged size, mtime and inode cost one index lookup and no ffprobe run. A vanished or
//! unreadable folder is reported and skipped; the scan goes on with the others.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde::Serialize;
use utoipa::ToSchema;

use super::{Engine, EngineError};
use crate::events::Event;
use crate::media::paths;
use crate::model::JobState;
use crate::store::{LibraryFolder, ScanOutcome, ScannedFile, StoreError};

/// Files recorded per store transaction during a scan.
const BATCH: usize = 512;

/// `GET /api/library/scan`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanStatus {
    pub running: bool,
    pub files_seen: u64,
    pub files_queued: u64,
}

/// Totals of one scan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanTotals {
    pub found: u64,
    pub queued: u64,
    pub skipped: u64,
}

pub(super) fn scanned_file(
    path: PathBuf,
    meta: &std::fs::Metadata,
    folder_id: Option<u64>,
) -> ScannedFile {
    ScannedFile {
        path,
        size: meta.len(),
        mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        inode: meta.ino(),
        folder_id,
    }
}

/// Why a library folder cannot be added.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("{0}")]
    Invalid(String),
    #[error("profile `{0}` does not exist; a folder can only use an existing profile")]
    UnknownProfile(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Engine {
    /// Add a library folder: an absolute path to an existing directory, stored canonical.
    pub async fn add_folder(
        &self,
        path: PathBuf,
        recursive: bool,
    ) -> Result<LibraryFolder, FolderError> {
        self.add_folder_with_profile(path, recursive, None).await
    }

    /// Like `add_folder`, with the folder's encoding profile (`None`: the default).
    pub async fn add_folder_with_profile(
        &self,
        path: PathBuf,
        recursive: bool,
        profile: Option<String>,
    ) -> Result<LibraryFolder, FolderError> {
        let unknown = || FolderError::UnknownProfile(profile.clone().unwrap_or_default());
        super::profiles::folder_ref(profile.as_deref()).map_err(|_| unknown())?;
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
        self.inner
            .store
            .call(move |s| {
                let target = super::profiles::folder_ref(wanted.as_deref())
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                s.add_folder_with_profile(&canonical, recursive, target)
            })
            .await
            .map_err(|e| match e {
                StoreError::Invalid(_) => unknown(),
                other => other.into(),
            })
    }

    pub fn scan_status(&self) -> ScanStatus {
        ScanStatus {
            running: self.inner.scanning.load(Ordering::SeqCst),
            files_seen: self.inner.scan_seen.load(Ordering::SeqCst),
            files_queued: self.inner.scan_queued.load(Ordering::SeqCst),
        }
    }

    /// Start a scan in the background unless one is running. Returns whether it started.
    pub fn start_scan(&self) -> bool {
        if self.inner.scanning.swap(true, Ordering::SeqCst) {
            return false;
        }
        let engine = self.clone();
        // Tracked, so shutdown waits for the scan (it stops between folders).
        self.inner.tasks.spawn(async move {
            if let Err(e) = engine.scan_all().await {
                tracing::error!(error = %e, "library scan failed");
            }
            engine.inner.scanning.store(false, Ordering::SeqCst);
        });
        true
    }

    async fn scan_all(&self) -> Result<ScanTotals, EngineError> {
        let started = Instant::now();
        self.inner.scan_seen.store(0, Ordering::SeqCst);
        self.inner.scan_queued.store(0, Ordering::SeqCst);
        let folders = self.inner.store.call(|s| s.folders()).await?;
        self.inner.events.publish(Event::ScanStarted {
            folder_count: folders.len(),
        });
        let mut totals = ScanTotals::default();
        for folder in folders {
            if self.inner.shutdown.is_cancelled() {
                break;
            }
            let (files, problem) = {
                let f = folder.clone();
                tokio::task::spawn_blocking(move || walk(&f))
                    .await
                    .map_err(|e| EngineError::Invalid(e.to_string()))?
            };
            if let Some(problem) = problem {
                self.inner.events.publish(Event::Log {
                    job_id: None,
                    level: "warning",
                    message: problem,
                });
            }
            for chunk in files.chunks(BATCH) {
                let chunk = chunk.to_vec();
                let n = chunk.len() as u64;
                let mut first_queued: Option<crate::model::JobId> = None;
                let order = self.job_order().await;
                let outcomes = self
                    .inner
                    .store
                    .call(move |s| s.upsert_scanned(&chunk))
                    .await?;
                totals.found += n;
                self.inner.scan_seen.fetch_add(n, Ordering::SeqCst);
                for o in outcomes {
                    match o {
                        ScanOutcome::Queued(id) | ScanOutcome::Requeued(id) => {
                            totals.queued += 1;
                            self.inner.scan_queued.fetch_add(1, Ordering::SeqCst);
                            self.publish_status(id, JobState::Queued, None);
                            first_queued = Some(first_queued.map_or(id, |f| f.min(id)));
                        }
                        ScanOutcome::Unchanged => totals.skipped += 1,
                    }
                }
                drop(order);
                self.inner.wake.notify_one();
                if let Some(first) = first_queued {
                    self.analyse_from(first);
                }
            }
        }
        self.inner.events.publish(Event::ScanCompleted {
            found: totals.found,
            queued: totals.queued,
            skipped: totals.skipped,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(totals)
    }
}

/// Walk one folder. Returns the files and, when something went wrong, a sentence about it.
fn walk(folder: &LibraryFolder) -> (Vec<ScannedFile>, Option<String>) {
    let mut files = Vec::new();
    let mut errors = 0usize;
    let mut first_error = None;
    if !folder.path.is_dir() {
        return (
            files,
            Some(format!(
                "library folder {} is missing or not a directory; skipped",
                folder.path.display()
            )),
        );
    }
    let walker = walkdir::WalkDir::new(&folder.path)
        .follow_links(false)
        .max_depth(if folder.recursive { usize::MAX } else { 1 });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        if !paths::is_video_file(path) || paths::is_own_file(path) {
            continue;
        }
        match entry.metadata() {
            Ok(meta) => files.push(scanned_file(path.to_path_buf(), &meta, Some(folder.id))),
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let problem = first_error.map(|e| {
        format!(
            "{errors} entries under {} could not be read (first: {e})",
            folder.path.display()
        )
    });
    (files, problem)
}
