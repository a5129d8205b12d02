//! The watcher's steps: events (renames move jobs, removals retire queued ones, anything else
//! is a file to watch settle), walks (files new or changed since their job saw them start to
//! settle), and queuing what has settled.

use std::collections::HashSet;
use std::path::PathBuf;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::events::Sorted;
use super::roots::identity;
use super::worker::{RENAME_GRACE, Watcher};
use super::writers;
use crate::engine::scanner::{scanned_file, walk};
use crate::media::paths;
use crate::model::LogLevel;
use crate::store::{ScanOutcome, ScannedFile, TrashState};

impl Watcher {
    /// Handle one batch of events.
    pub(super) async fn handle(&mut self, s: Sorted) {
        let now = Instant::now();
        self.moved_out
            .retain(|(p, _)| !s.renamed.iter().any(|(from, _)| from == p));
        self.moved_out
            .extend(s.moved_out.into_iter().map(|p| (p, now + RENAME_GRACE)));
        let mut removed = s.removed;
        let (expired, waiting) = std::mem::take(&mut self.moved_out)
            .into_iter()
            .partition(|(_, at)| *at <= now);
        self.moved_out = waiting;
        removed.extend(expired.into_iter().map(|(p, _): (PathBuf, _)| p));
        let mut touched = s.touched;
        for (from, to) in s.renamed {
            self.settler.rename(&from, &to);
            // Renamed out of the library, to one of our names, or to a name that is not a
            // video (`a.mkv` → `a.mkv.bak`): for the jobs, the file is gone.
            let kept = self.folder_of(&to).is_some()
                && !paths::is_own_file(&to)
                && (paths::is_video_file(&to) || to.is_dir());
            if !kept {
                removed.push(from);
                continue;
            }
            let (f, t) = (from.clone(), to.clone());
            match self
                .ledger
                .store()
                .call(move |s| s.move_job_paths(&f, &t))
                .await
            {
                Ok(jobs) => {
                    for job in jobs {
                        self.moved += 1;
                        let text = format!(
                            "{} was renamed to {}: the job follows it",
                            paths::shown(&from),
                            paths::shown(&job.input_path)
                        );
                        self.ledger.log(job.id, LogLevel::Info, text).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not move jobs after a rename"),
            }
            touched.push(to);
        }
        for path in removed {
            self.forget(&path);
            if paths::is_own_file(&path) || self.folder_of(&path).is_none() {
                continue;
            }
            let p = path.clone();
            match self.ledger.apply(move |s| s.retire_missing(&p)).await {
                Ok(jobs) => {
                    for (job, _) in jobs {
                        self.retired += 1;
                        let text = format!(
                            "{} was deleted or moved out of the library: the queued job is retired",
                            paths::shown(&job.input_path)
                        );
                        self.ledger.log(job.id, LogLevel::Info, text).await;
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not retire jobs of a removed file"),
            }
        }
        // Our outputs under every profile's suffix and output root are not sources.
        let own = self.own_outputs().await;
        touched.retain(|p| self.folder_of(p).is_some() && !own.is_own(p));
        if touched.is_empty() {
            return;
        }
        let found = tokio::task::spawn_blocking(move || stat_or_walk(touched))
            .await
            .unwrap_or_default();
        self.observe(found).await;
    }

    async fn own_outputs(&self) -> paths::OwnOutputs {
        self.ledger
            .store()
            .call(crate::profiles::own_outputs)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "profiles unreadable; default output suffix only");
                paths::OwnOutputs::default()
            })
    }

    fn forget(&mut self, path: &std::path::Path) {
        self.settler.forget(path);
        self.busy.retain(|b| !b.starts_with(path));
    }

    /// Files seen by an event or a walk: those no job holds as they are start (or go on)
    /// settling.
    async fn observe(&mut self, found: Vec<ScannedFile>) {
        let files: Vec<ScannedFile> = found
            .into_iter()
            .filter_map(|mut f| {
                f.folder_id = Some(self.candidate(&f.path)?);
                Some(f)
            })
            .collect();
        if files.is_empty() {
            return;
        }
        let (files, known) = {
            let (files, store) = (files, self.ledger.store().clone());
            tokio::task::spawn_blocking(move || {
                let known = store.known_unchanged(&files);
                (files, known)
            })
            .await
            .unwrap_or_else(|_| (Vec::new(), Ok(Vec::new())))
        };
        let known = known.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "watcher cannot read the jobs");
            vec![false; files.len()]
        });
        let now = Instant::now().into_std();
        for (f, known) in files.iter().zip(known) {
            if known {
                self.forget(&f.path);
            } else if let Some(folder) = f.folder_id {
                self.settler
                    .observe(&f.path, folder, f.size, f.mtime_ns, now);
            }
        }
    }

    /// Walk the folders whose walk is due.
    pub(super) async fn walk_due(&mut self, stop: &CancellationToken) {
        let now = Instant::now();
        let mut due = Vec::new();
        for i in 0..self.folders.len() {
            let f = &self.folders[i];
            if f.next_walk.is_some_and(|at| at <= now) {
                let interval = self.walk_interval(f.mode, &f.stored);
                due.push(f.stored.clone());
                self.folders[i].next_walk = interval.map(|d| now + d);
            }
        }
        let own = self.own_outputs().await;
        for folder in due {
            if stop.is_cancelled() {
                return;
            }
            let own = own.clone();
            let (root, folder_id) = (folder.path.clone(), folder.id);
            let (files, problem, root_id) = tokio::task::spawn_blocking(move || {
                // The folder's device before the walk: one that changed during it (a share
                // mounted or unmounted) retires nothing.
                let before = identity(&folder.path);
                let (files, problem) = walk(&folder, &own);
                let same = before.filter(|id| identity(&folder.path) == Some(*id));
                (files, problem, same)
            })
            .await
            .unwrap_or_default();
            let previous = self.missing.remove(&folder_id).unwrap_or_default();
            match (problem, root_id) {
                (Some(problem), _) => self.ledger.note(LogLevel::Warning, problem),
                // A walk that found nothing retires nothing: a share whose server shows an
                // empty directory (its disk not mounted yet) looks just like that.
                (None, Some(_)) if files.is_empty() => {}
                (None, Some((dev, _))) => {
                    let seen: HashSet<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
                    self.retire_unseen(folder_id, root, dev, seen, previous)
                        .await;
                }
                (None, None) => {}
            }
            self.observe(files).await;
        }
    }

    /// After a complete walk: the queued jobs of files it did not find and that are gone, if
    /// the walk before found them missing too (one walk may catch a share coming back). Deletions
    /// on a polled folder raise no event; this is how their jobs are retired.
    async fn retire_unseen(
        &mut self,
        folder: u64,
        root: PathBuf,
        dev: u64,
        seen: HashSet<PathBuf>,
        previous: HashSet<PathBuf>,
    ) {
        let store = self.ledger.store().clone();
        let unseen = match store
            .call(move |s| s.unseen_queued(&root, dev, &seen))
            .await
        {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for files a walk missed");
                return;
            }
        };
        let (confirmed, first): (Vec<PathBuf>, Vec<PathBuf>) =
            unseen.into_iter().partition(|p| previous.contains(p));
        if !first.is_empty() {
            self.missing.insert(folder, first.into_iter().collect());
        }
        if confirmed.is_empty() {
            return;
        }
        match self.ledger.apply(move |s| s.retire_gone(&confirmed)).await {
            Ok(jobs) => {
                for (job, _) in jobs {
                    self.retired += 1;
                    let text = format!(
                        "{} is no longer in the library (missing at two walks): the \
                         queued job is retired",
                        paths::shown(&job.input_path)
                    );
                    self.ledger.log(job.id, LogLevel::Info, text).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not retire jobs of files a walk missed"),
        }
    }

    /// Queue the files that have settled and that no one is writing.
    pub(super) async fn settle_due(&mut self) {
        let now = Instant::now().into_std();
        let due = self.settler.due(self.settings.settle, now);
        if due.is_empty() {
            return;
        }
        // Files the trash records as ours: a promoted output that took a new name (`<stem>.mkv`
        // of an `.mp4`), and an original the owner restored after its job ran (queuing it would
        // encode again what they chose to keep). Known by path and inode.
        let ours: HashSet<(PathBuf, u64)> = match self.ledger.store().call(|s| s.trash_list()).await
        {
            Ok(entries) => entries
                .into_iter()
                .flat_map(|e| {
                    let restored = (e.state == TrashState::Restored)
                        .then_some((e.original_path, e.original_inode));
                    std::iter::once((e.final_path, e.output_inode)).chain(restored)
                })
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "watcher cannot read the trash; trying again later");
                for path in &due {
                    self.settler.restart(path, now);
                }
                return;
            }
        };
        let (stats, writing) = tokio::task::spawn_blocking(move || {
            let open = writers::open_for_writing(&due);
            let stats: Vec<_> = due
                .into_iter()
                .map(|p| {
                    let meta = std::fs::symlink_metadata(&p).ok();
                    (p, meta)
                })
                .collect();
            (stats, open)
        })
        .await
        .unwrap_or_default();
        let mut ready = Vec::new();
        for (path, meta) in stats {
            let (Some(meta), Some(folder)) = (meta.filter(|m| m.is_file()), self.candidate(&path))
            else {
                self.forget(&path);
                continue;
            };
            let f = scanned_file(path.clone(), &meta, Some(folder));
            if !self.settler.observe(&path, folder, f.size, f.mtime_ns, now) {
                continue;
            }
            if writing.contains(&path) {
                self.settler.restart(&path, now);
                self.busy.insert(path);
                continue;
            }
            self.forget(&path);
            ready.push(f);
        }
        if ready.is_empty() {
            return;
        }
        ready.retain(|f| !ours.contains(&(f.path.clone(), f.inode)));
        let paths: Vec<PathBuf> = ready.iter().map(|f| f.path.clone()).collect();
        match self.ledger.apply(move |s| s.upsert_scanned(&ready)).await {
            Ok(outcomes) => {
                for (path, o) in paths.iter().zip(outcomes) {
                    let id = match o {
                        ScanOutcome::Queued(id) | ScanOutcome::Requeued(id) => id,
                        ScanOutcome::Unchanged => continue,
                    };
                    self.queued += 1;
                    let text =
                        format!("{} settled: queued by the folder watch", paths::shown(path));
                    self.ledger.log(id, LogLevel::Info, text).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "watcher could not queue settled files"),
        }
    }
}

/// Metadata of each touched path that is a file, and of the files under each that is a
/// directory (moved or created in the library). Symlinks are not followed.
fn stat_or_walk(touched: Vec<PathBuf>) -> Vec<ScannedFile> {
    let mut out = Vec::new();
    for path in touched {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_file() {
            out.push(scanned_file(path, &meta, None));
        } else if meta.is_dir() {
            for entry in walkdir::WalkDir::new(&path)
                .follow_links(false)
                .into_iter()
                .flatten()
            {
                if entry.file_type().is_file()
                    && let Ok(m) = entry.metadata()
                {
                    out.push(scanned_file(entry.into_path(), &m, None));
                }
            }
        }
    }
    out
}
