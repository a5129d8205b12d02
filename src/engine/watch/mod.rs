//! Watch folders: one worker that keeps the queue in step with the library without a full scan.
//! Folders on local filesystems are watched with inotify (the `notify` crate, which keeps a
//! recursive watch up to date as directories come and go and pairs the two halves of a
//! rename); folders on network and FUSE filesystems, whose remote changes raise no events here,
//! are walked every `[watch] poll_seconds` (`mode`). Every folder is also walked every
//! `rescan_interval_minutes` as a safety net, and an inotify queue overflow walks the evented
//! folders at once, so a missed event costs time, never a file.
//!
//! A new or changed file waits until it has settled (`settle`: size and mtime unchanged for
//! `[watch] settle_seconds`, and no visible process has it open for writing, `writers`), then
//! is recorded like a scanned file. Our own temps, outputs and trash never enter; a promoted
//! output at a new name is known by its inode in the trash record. Renames move the jobs with
//! their files; a deleted file's queued job is retired (`store::watched`), by its event or, on
//! a polled folder, when two walks in a row find it gone (walks that find the folder empty
//! retire nothing: an unmounted share's folder looks like that). When the inotify watch limit is
//! reached it is raised (as root) or the folder is polled, and the folder's `watch_reason` says
//! so (`limits`). A folder replaced or remounted under its watch is
//! noticed and watched again (`roots`).
//!
//! [`Watch`] is the handle: the folders service asks it to reload after a change and reads
//! each folder's mode, reason and settling files for the folder views; the config file's
//! watcher hands it new `[watch]` settings, which apply from the next step.

mod events;
mod limits;
mod mode;
mod roots;
mod settle;
mod steps;
mod worker;
mod writers;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub use mode::WatchMode;
pub(crate) use worker::Watcher;

/// How one folder is watched now.
#[derive(Debug, Clone)]
pub struct FolderWatch {
    pub mode: WatchMode,
    pub reason: String,
    /// Files waiting to settle.
    pub pending: usize,
}

type Board = Arc<Mutex<BTreeMap<u64, FolderWatch>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Handle to the watcher. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Watch {
    board: Board,
    reload: Arc<tokio::sync::Notify>,
    /// `[watch]` settings edited in the config file, for the worker to take.
    next: Next,
}

type Next = Arc<Mutex<Option<crate::config::WatchSettings>>>;

impl Watch {
    /// The state of folder `id`; `None` until the watcher has taken it in.
    pub fn folder(&self, id: u64) -> Option<FolderWatch> {
        lock(&self.board).get(&id).cloned()
    }

    /// The folders changed (added, removed, setting changed): read them again.
    pub fn reload(&self) {
        self.reload.notify_one();
    }

    /// Watch with `settings` from now on (the config file was edited).
    pub fn apply(&self, settings: crate::config::WatchSettings) {
        *lock(&self.next) = Some(settings);
        self.reload();
    }
}

/// A watcher handle and the worker it drives.
pub(crate) fn watcher(
    ledger: super::ledger::Ledger,
    settings: crate::config::WatchSettings,
) -> (Watch, Watcher) {
    let watch = Watch {
        board: Board::default(),
        reload: Arc::default(),
        next: Next::default(),
    };
    let worker = Watcher::new(
        ledger,
        settings,
        watch.board.clone(),
        watch.reload.clone(),
        watch.next.clone(),
    );
    (watch, worker)
}
