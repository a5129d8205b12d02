//! The watcher's inotify watches: one per evented folder not inside a recursive one, set up
//! off the runtime, a folder that cannot be watched polled with the reason, and the watch
//! limit raised (or every evented folder polled) when it is hit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use notify::{INotifyWatcher, Watcher as _};
use tokio::time::Instant;

use super::super::limits;
use super::super::mode::WatchMode;
use super::Watcher;
use crate::media::paths;
use crate::model::LogLevel;

impl Watcher {
    /// The evented folders that need a watch of their own (not inside a recursive one).
    fn roots(&self) -> BTreeMap<PathBuf, bool> {
        let events = || self.folders.iter().filter(|f| f.mode == WatchMode::Events);
        events()
            .filter(|f| {
                !events().any(|p| {
                    p.stored.recursive
                        && p.stored.id != f.stored.id
                        && f.stored.path.starts_with(&p.stored.path)
                })
            })
            .map(|f| (f.stored.path.clone(), f.stored.recursive))
            .collect()
    }

    /// Add and remove inotify watches to match [`Watcher::roots`]; a folder that cannot be
    /// watched is polled, with the reason.
    pub(super) async fn sync_watches(&mut self) {
        let wanted = self.roots();
        let stale: Vec<PathBuf> = (self.watching.iter())
            .filter(|(p, r)| wanted.get(*p) != Some(r))
            .map(|(p, _)| p.clone())
            .collect();
        let new: Vec<(PathBuf, bool)> = (wanted.iter())
            .filter(|(p, r)| self.watching.get(*p) != Some(r))
            .map(|(p, r)| (p.clone(), *r))
            .collect();
        for p in &stale {
            self.watching.remove(p);
            self.root_ids.remove(p);
        }
        if stale.is_empty() && new.is_empty() {
            return;
        }
        let mut inotify = self.inotify.take();
        let mail = self.mail.clone();
        let (back, results) = tokio::task::spawn_blocking(move || {
            if inotify.is_none() {
                let handler = move |e| mail.deliver(e);
                let config = notify::Config::default().with_follow_symlinks(false);
                match INotifyWatcher::new(handler, config) {
                    Ok(w) => inotify = Some(w),
                    Err(e) => {
                        let why = format!("inotify is not available ({e})");
                        let results = new.into_iter().map(|(p, r)| (p, r, Err(why.clone())));
                        return (None, results.collect());
                    }
                }
            }
            let Some(w) = inotify.as_mut() else {
                return (None, Vec::new());
            };
            for path in &stale {
                let _ = w.unwatch(path);
            }
            let results: Vec<_> = (new.into_iter())
                .map(|(p, r)| {
                    let result = limits::watch_one(w, &p, r);
                    (p, r, result)
                })
                .collect();
            (inotify, results)
        })
        .await
        .unwrap_or_else(|e| (None, vec![(PathBuf::new(), false, Err(e.to_string()))]));
        self.inotify = back;
        let (now, poll) = (Instant::now(), self.settings.poll.as_secs());
        for (path, recursive, result) in results {
            match result {
                Ok(()) => {
                    if let Some(id) = super::super::roots::identity(&path) {
                        self.root_ids.insert(path.clone(), id);
                    }
                    self.watching.insert(path, recursive);
                }
                Err(why) => {
                    tracing::warn!(folder = %paths::shown(&path), "{why}");
                    let f = self.folders.iter_mut().find(|f| f.stored.path == path);
                    if let Some(f) = f {
                        f.mode = WatchMode::Poll;
                        f.reason = format!("polled every {poll} s: {why}");
                        f.next_walk = Some(now);
                        f.watch_failed = true;
                    }
                }
            }
        }
    }

    /// Drop the watch of `path` (it is set up again by the next sync).
    pub(in crate::engine::watch) fn forget_watch(&mut self, path: &Path) {
        if let Some(w) = self.inotify.as_mut() {
            let _ = w.unwatch(path);
        }
        self.watching.remove(path);
        self.root_ids.remove(path);
    }

    /// A watch for a new directory hit the limit after the folders were set up: raise it and
    /// watch everything again, or poll the evented folders and say why.
    pub(super) async fn limit_hit(&mut self) {
        if tokio::task::spawn_blocking(limits::raise)
            .await
            .ok()
            .flatten()
            .is_some()
        {
            let all: Vec<PathBuf> = self.watching.keys().cloned().collect();
            for p in all {
                self.forget_watch(&p);
            }
            self.sync_watches().await;
            return;
        }
        let limit = limits::current().map_or("?".into(), |n| n.to_string());
        let poll = self.settings.poll.as_secs();
        let now = Instant::now();
        self.ledger.note(
            LogLevel::Warning,
            format!("folder watch: the inotify watch limit ({limit}) is reached; polling instead"),
        );
        for f in self
            .folders
            .iter_mut()
            .filter(|f| f.mode == WatchMode::Events)
        {
            f.mode = WatchMode::Poll;
            f.reason = format!(
                "polled every {poll} s: the inotify watch limit ({limit}) is reached; \
                 raise fs.inotify.max_user_watches"
            );
            f.next_walk = Some(now);
        }
    }
}
