//! The watcher worker: takes in the folders (mode per folder, inotify watches), then each step
//! handles the events since the last one, walks the folders that are due, and queues the
//! files that have settled. Its one wake-up: an event, a reload request, or the next deadline
//! (a file due to settle, a walk, a rename's grace).

mod watches;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::INotifyWatcher;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::events::{self, Mailbox};
use super::mode::{self, WatchMode};
use super::settle::Settler;
use super::{Board, FolderWatch, lock};
use crate::config::WatchSettings;
use crate::engine::ledger::Ledger;
use crate::engine::worker::Worker;
use crate::media::paths;
use crate::model::LogLevel;
use crate::store::LibraryFolder;

/// How long an unpaired rename `From` waits for its `Both` before it counts as a removal.
pub(super) const RENAME_GRACE: Duration = Duration::from_secs(2);
/// Events of one burst (a copy writes many blocks) are handled together.
const COALESCE: Duration = Duration::from_millis(100);

/// A library folder as the watcher holds it.
pub(super) struct Folder {
    pub stored: LibraryFolder,
    pub mode: WatchMode,
    pub reason: String,
    pub next_walk: Option<Instant>,
    /// Its inotify watch could not be set up (it is polled): tried again at the next check.
    pub watch_failed: bool,
}

/// The watch worker.
pub(crate) struct Watcher {
    pub(super) ledger: Ledger,
    pub(super) settings: WatchSettings,
    board: Board,
    reload: Arc<tokio::sync::Notify>,
    reload_due: bool,
    /// New settings from the handle (`Watch::apply`), taken at the next configure.
    next: super::Next,
    pub(super) mail: Arc<Mailbox>,
    pub(super) inotify: Option<INotifyWatcher>,
    /// Folders with an inotify watch, and whether it is recursive.
    watching: BTreeMap<PathBuf, bool>,
    /// Device and inode of each watched folder when its watch was set up (`roots`).
    pub(super) root_ids: BTreeMap<PathBuf, (u64, u64)>,
    pub(super) next_root_check: Instant,
    pub(super) root_check_due: bool,
    pub(super) folders: Vec<Folder>,
    pub(super) settler: Settler,
    /// Files found open for writing at their last check.
    pub(super) busy: HashSet<PathBuf>,
    /// Rename `From`s waiting for their `Both`.
    pub(super) moved_out: Vec<(PathBuf, Instant)>,
    /// Per folder, the queued jobs' files its last walk found missing: retired when the next
    /// walk finds them missing too.
    pub(super) missing: std::collections::HashMap<u64, HashSet<PathBuf>>,
    pub(super) queued: u64,
    pub(super) retired: u64,
    pub(super) moved: u64,
}

impl Watcher {
    pub(super) fn new(
        ledger: Ledger,
        settings: WatchSettings,
        board: Board,
        reload: Arc<tokio::sync::Notify>,
        next: super::Next,
    ) -> Watcher {
        Watcher {
            ledger,
            settings,
            board,
            reload,
            reload_due: true,
            next,
            mail: Arc::default(),
            inotify: None,
            watching: BTreeMap::new(),
            root_ids: BTreeMap::new(),
            next_root_check: Instant::now() + super::roots::ROOT_CHECK,
            root_check_due: false,
            folders: Vec::new(),
            settler: Settler::default(),
            busy: HashSet::new(),
            moved_out: Vec::new(),
            missing: std::collections::HashMap::new(),
            queued: 0,
            retired: 0,
            moved: 0,
        }
    }

    /// The folder a path belongs to: the most specific one that holds it.
    pub(super) fn folder_of(&self, path: &Path) -> Option<&Folder> {
        self.folders
            .iter()
            .filter(|f| {
                let root = &f.stored.path;
                path.starts_with(root)
                    && path != root
                    && (f.stored.recursive || path.parent() == Some(root.as_path()))
            })
            .max_by_key(|f| f.stored.path.as_os_str().len())
    }

    /// A video file of ours to consider: not one we wrote, in a folder.
    pub(super) fn candidate(&self, path: &Path) -> Option<u64> {
        if !paths::is_video_file(path) || paths::is_own_file(path) {
            return None;
        }
        self.folder_of(path).map(|f| f.stored.id)
    }

    fn next_deadline(&self) -> Option<Instant> {
        let settle = self
            .settler
            .next_due(self.settings.settle)
            .map(Instant::from_std);
        let walks = self.folders.iter().filter_map(|f| f.next_walk);
        let grace = self.moved_out.iter().map(|(_, at)| *at);
        let roots = self.next_root_check();
        settle
            .into_iter()
            .chain(walks)
            .chain(grace)
            .chain(roots)
            .min()
    }

    fn publish(&self) {
        let mut board = lock(&self.board);
        board.clear();
        for f in &self.folders {
            board.insert(
                f.stored.id,
                FolderWatch {
                    mode: f.mode,
                    reason: f.reason.clone(),
                    pending: self.settler.count_in(f.stored.id),
                },
            );
        }
    }

    /// Read the folders again and decide each one's mode; watch and unwatch to match. New
    /// `[watch]` settings apply here: a shorter walk interval brings the next walk closer.
    pub(super) async fn configure(&mut self) {
        let stored = match self.ledger.store().call(|s| s.folders()).await {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "watcher cannot read the library folders");
                return;
            }
        };
        // Taken once the folders are read: a failed read leaves them for the next try.
        let edited = super::lock(&self.next).take();
        let changed = edited.is_some_and(|s| {
            let changed = s != self.settings;
            self.settings = s;
            changed
        });
        let settings = self.settings.clone();
        let decided = tokio::task::spawn_blocking(move || {
            stored
                .into_iter()
                .map(|f| {
                    let (mode, reason) = mode::decide(f.watch, &settings, mode::fs_type(&f.path));
                    (f, mode, reason)
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        let old = std::mem::take(&mut self.folders);
        let now = Instant::now();
        for (stored, mode, reason) in decided {
            let before = old.iter().find(|o| o.stored.id == stored.id);
            let interval = self.walk_interval(mode, &stored);
            let next_walk = match before {
                Some(b) if b.mode == mode && b.stored == stored && changed => {
                    match (b.next_walk, interval.map(|i| now + i)) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }
                }
                Some(b) if b.mode == mode && b.stored == stored => b.next_walk,
                // A newly polled folder is walked at once; others after their interval.
                _ if mode == WatchMode::Poll => Some(now),
                _ => interval.map(|i| now + i),
            };
            self.folders.push(Folder {
                stored,
                mode,
                reason,
                next_walk,
                watch_failed: false,
            });
        }
        self.sync_watches().await;
    }

    /// How often a folder is walked: the poll interval, else its rescan interval.
    pub(super) fn walk_interval(&self, mode: WatchMode, f: &LibraryFolder) -> Option<Duration> {
        match mode {
            WatchMode::Poll => Some(self.settings.poll),
            _ if !self.settings.enabled || f.rescan_interval_minutes == 0 => None,
            _ => Some(Duration::from_secs(
                u64::from(f.rescan_interval_minutes) * 60,
            )),
        }
    }
}

impl Worker for Watcher {
    fn name(&self) -> &'static str {
        "watcher"
    }

    async fn work(&mut self, stop: &CancellationToken) {
        if std::mem::take(&mut self.reload_due) {
            self.configure().await;
        }
        let inbox = self.mail.take();
        for e in &inbox.errors {
            self.ledger
                .note(LogLevel::Warning, format!("folder watch: {e}"));
        }
        if inbox.limit_hit {
            self.limit_hit().await;
        }
        if inbox.overflow {
            let now = Instant::now();
            for f in self
                .folders
                .iter_mut()
                .filter(|f| f.mode == WatchMode::Events)
            {
                f.next_walk = Some(now);
            }
        }
        let sorted = events::sort(inbox.events);
        self.note_root_events(&sorted);
        self.handle(sorted).await;
        self.check_roots().await;
        self.walk_due(stop).await;
        self.settle_due().await;
        self.publish();
    }

    async fn wait(&mut self) {
        let deadline = self.next_deadline();
        let timer = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.mail.wake.notified() => tokio::time::sleep(COALESCE).await,
            _ = self.reload.notified() => self.reload_due = true,
            _ = timer => {}
        }
    }

    fn status(&self) -> String {
        let count = |m| self.folders.iter().filter(|f| f.mode == m).count();
        let mut s = format!(
            "{} by events, {} polled, {} off; {} settling",
            crate::model::count(count(WatchMode::Events), "folder", "folders"),
            count(WatchMode::Poll),
            count(WatchMode::Off),
            crate::model::count(self.settler.len(), "file", "files")
        );
        if !self.busy.is_empty() {
            s += &format!(" ({} open for writing)", self.busy.len());
        }
        s += &format!(
            "; {} queued, {} moved, {} retired since start",
            self.queued, self.moved, self.retired
        );
        s
    }
}
