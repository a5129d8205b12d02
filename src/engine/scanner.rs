//! Library scans: a worker that walks every library folder when asked (at start, by the owner,
//! by the API), keeps video files that are not ours (symlinks not followed, so nothing outside
//! the folder is reached), and records them in batches. Known files with unchanged size, mtime
//! and inode cost one index lookup and no ffprobe run. A vanished or unreadable folder is
//! reported and skipped; the scan goes on with the others. [`Scanner`] is its handle: it asks
//! for a scan and reads the running totals.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::EngineError;
use super::ledger::Ledger;
use super::worker::Worker;
use crate::events::Event;
use crate::media::paths;
use crate::model::LogLevel;
use crate::model::count;
use crate::store::{LibraryFolder, ScanOutcome, ScannedFile, TrashState};

/// Files recorded per store transaction during a scan.
const BATCH: usize = 512;

/// `GET /api/library/scan`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScanStatus {
    pub running: bool,
    pub files_seen: u64,
    pub files_queued: u64,
    /// When the last scan since the start ended (RFC 3339); null before the first one.
    pub last_finished_at: Option<String>,
}

/// Totals of one scan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanTotals {
    pub found: u64,
    pub queued: u64,
    pub skipped: u64,
}

pub(crate) fn scanned_file(
    path: PathBuf,
    meta: &std::fs::Metadata,
    folder_id: Option<u64>,
) -> ScannedFile {
    ScannedFile {
        path,
        size: meta.len(),
        mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
        inode: meta.ino(),
        dev: meta.dev(),
        folder_id,
    }
}

#[derive(Default)]
struct Totals {
    running: AtomicBool,
    seen: AtomicU64,
    queued: AtomicU64,
    /// End of the last scan (ms since the epoch); 0 before the first.
    finished_ms: AtomicI64,
}

/// Handle to the scanner. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Scanner {
    totals: Arc<Totals>,
    requests: mpsc::Sender<()>,
}

impl Scanner {
    pub fn status(&self) -> ScanStatus {
        ScanStatus {
            running: self.totals.running.load(Ordering::SeqCst),
            files_seen: self.totals.seen.load(Ordering::SeqCst),
            files_queued: self.totals.queued.load(Ordering::SeqCst),
            last_finished_at: match self.totals.finished_ms.load(Ordering::SeqCst) {
                0 => None,
                ms => Some(crate::model::rfc3339(ms)),
            },
        }
    }

    /// Ask for a scan unless one is running or asked for. Returns whether one was started.
    pub fn start(&self) -> bool {
        if self.totals.running.swap(true, Ordering::SeqCst) {
            return false;
        }
        if self.requests.try_send(()).is_err() {
            // The worker is gone (shutdown): nothing will run.
            self.totals.running.store(false, Ordering::SeqCst);
            return false;
        }
        true
    }
}

/// The scan worker; wakes on a request from its [`Scanner`].
pub(crate) struct ScanWorker {
    ledger: Ledger,
    totals: Arc<Totals>,
    requests: mpsc::Receiver<()>,
    last: Option<(ScanTotals, f64)>,
}

/// A scanner handle and the worker it drives.
pub(crate) fn scanner(ledger: Ledger) -> (Scanner, ScanWorker) {
    let totals = Arc::new(Totals::default());
    let (tx, rx) = mpsc::channel(1);
    let handle = Scanner {
        totals: totals.clone(),
        requests: tx,
    };
    let worker = ScanWorker {
        ledger,
        totals,
        requests: rx,
        last: None,
    };
    (handle, worker)
}

impl Worker for ScanWorker {
    fn name(&self) -> &'static str {
        "scanner"
    }

    async fn work(&mut self, stop: &CancellationToken) {
        if !self.totals.running.load(Ordering::SeqCst) {
            return;
        }
        let started = Instant::now();
        match self.scan_all(stop).await {
            Ok(totals) => self.last = Some((totals, started.elapsed().as_secs_f64())),
            Err(e) => tracing::error!(error = %e, "library scan failed"),
        }
        self.totals
            .finished_ms
            .store(crate::model::now_ms(), Ordering::SeqCst);
        self.totals.running.store(false, Ordering::SeqCst);
    }

    async fn wait(&mut self) {
        if self.requests.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }

    fn status(&self) -> String {
        if self.totals.running.load(Ordering::SeqCst) {
            return format!(
                "scanning: {} seen, {} queued",
                count(self.totals.seen.load(Ordering::SeqCst), "file", "files"),
                self.totals.queued.load(Ordering::SeqCst)
            );
        }
        match self.last {
            Some((t, seconds)) => format!(
                "last scan: {} found, {} queued, in {seconds:.1} s",
                count(t.found, "file", "files"),
                t.queued
            ),
            None => "no scan yet".into(),
        }
    }
}

impl ScanWorker {
    async fn scan_all(&self, stop: &CancellationToken) -> Result<ScanTotals, EngineError> {
        let started = Instant::now();
        self.totals.seen.store(0, Ordering::SeqCst);
        self.totals.queued.store(0, Ordering::SeqCst);
        let events = self.ledger.events();
        let folders = self.ledger.store().call(|s| s.folders()).await?;
        events.publish(Event::ScanStarted {
            folder_count: folders.len(),
        });
        // Originals the owner restored from the trash, by path and inode: encoding one again
        // would undo their choice (the watcher keeps the same rule). A changed file is new.
        let restored: HashSet<(PathBuf, u64)> = self
            .ledger
            .store()
            .call(|s| s.trash_list())
            .await?
            .into_iter()
            .filter(|e| e.state == TrashState::Restored)
            .map(|e| (e.original_path, e.original_inode))
            .collect();
        // Our outputs: every profile's suffix, and anything under an output root.
        let own = self
            .ledger
            .store()
            .call(crate::profiles::own_outputs)
            .await?;
        let mut totals = ScanTotals::default();
        for folder in folders {
            if stop.is_cancelled() {
                break;
            }
            let (files, problem) = {
                let (f, own) = (folder.clone(), own.clone());
                tokio::task::spawn_blocking(move || walk(&f, &own))
                    .await
                    .map_err(|e| EngineError::Invalid(e.to_string()))?
            };
            if let Some(problem) = problem {
                self.ledger.note(LogLevel::Warning, problem);
            }
            for chunk in files.chunks(BATCH) {
                let n = chunk.len() as u64;
                let chunk: Vec<ScannedFile> = chunk
                    .iter()
                    .filter(|f| !restored.contains(&(f.path.clone(), f.inode)))
                    .cloned()
                    .collect();
                totals.skipped += n - chunk.len() as u64;
                let outcomes = self.ledger.apply(move |s| s.upsert_scanned(&chunk)).await?;
                totals.found += n;
                self.totals.seen.fetch_add(n, Ordering::SeqCst);
                for o in outcomes {
                    match o {
                        ScanOutcome::Queued(_) | ScanOutcome::Requeued(_) => {
                            totals.queued += 1;
                            self.totals.queued.fetch_add(1, Ordering::SeqCst);
                        }
                        ScanOutcome::Unchanged => totals.skipped += 1,
                    }
                }
            }
        }
        events.publish(Event::ScanCompleted {
            found: totals.found,
            queued: totals.queued,
            skipped: totals.skipped,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(totals)
    }
}

/// Walk one folder, leaving out our own files (`own`: the profiles' output suffixes and
/// roots). Returns the files and, when something went wrong, a sentence about it.
pub(super) fn walk(
    folder: &LibraryFolder,
    own: &paths::OwnOutputs,
) -> (Vec<ScannedFile>, Option<String>) {
    let mut files = Vec::new();
    let mut errors = 0usize;
    let mut first_error = None;
    if !folder.path.is_dir() {
        return (
            files,
            Some(format!(
                "library folder {} is missing or not a directory; skipped",
                paths::shown(&folder.path)
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
        if !paths::is_video_file(path) || own.is_own(path) {
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
            paths::shown(&folder.path)
        )
    });
    (files, problem)
}
