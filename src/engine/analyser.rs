//! The analyser: a worker that probes queued files ahead of dispatch, so a job finds its probe in the cache
//! when a slot frees up and a library's skips are not held back behind one long encode. It
//! walks the queued-status index in chunks from the lowest job id queued since its last pass
//! (every `queued` event lowers that mark, whoever queued the job), skips files already cached, our own files
//! and files that vanished, and probes the rest, at most one per core at a time. It only warms
//! the probe cache: job states stay the dispatcher's. Paused engines are analysed too; that is
//! when it helps most.
//!
//! Probes run at normal priority, not nice 19 + idle I/O: they are short and bounded by the
//! core count, and a child lowered before its exec waits longer for the CPU and disk while it
//! still holds copies of the server's descriptors, the store's lock among them (see
//! `store::LOCK_WAIT` for what that does after a crash).

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::failure::FileId;
use super::ledger::Ledger;
use super::probes;
use super::worker::Worker;
use crate::events::{Envelope, Event};
use crate::media::{paths, probe};
use crate::model::count;
use crate::model::{JobId, JobState, LogLevel};
use crate::profiles::Profiles;

/// Queued jobs read from the store per step: bounded memory with 100k jobs queued.
const CHUNK: usize = 256;
/// Probe failures remembered (path and file version), so a broken file is not probed again on
/// every pass; the dispatcher reports it when its turn comes. Forgotten wholesale beyond this.
const MAX_REMEMBERED_FAILURES: usize = 10_000;

/// What one pass did, for the log.
#[derive(Debug, Default, Clone, Copy)]
struct PassTotals {
    looked_at: u64,
    probed: u64,
    failed: u64,
}

pub(crate) struct Analyser {
    ledger: Ledger,
    ffprobe: PathBuf,
    /// Probes at once.
    limit: usize,
    events: broadcast::Receiver<Arc<Envelope>>,
    /// Lowest job id queued since the last pass; everything at start.
    from: Option<JobId>,
    failed: HashSet<(PathBuf, FileId)>,
    last: Option<PassTotals>,
    /// Each file's profile, for the predictions handed to the queue order (`queue`).
    profiles: Profiles,
}

impl Analyser {
    pub fn new(ledger: Ledger, ffprobe: PathBuf, cores: u32, profiles: Profiles) -> Analyser {
        let events = ledger.events().subscribe(None).rx;
        Analyser {
            ledger,
            ffprobe,
            limit: cores.max(1) as usize,
            events,
            // Everything queued at start (left by the last run, or recovered) is looked at.
            from: Some(JobId(0)),
            failed: HashSet::new(),
            last: None,
            profiles,
        }
    }

    /// Lower the mark to `id`.
    fn queued(&mut self, id: JobId) {
        self.from = Some(self.from.map_or(id, |f| f.min(id)));
    }
}

impl Worker for Analyser {
    fn name(&self) -> &'static str {
        "analyser"
    }

    async fn work(&mut self, stop: &CancellationToken) {
        if let Some(from) = self.from.take() {
            self.last = Some(self.pass(from, stop).await);
        }
    }

    async fn wait(&mut self) {
        loop {
            match self.events.recv().await {
                Ok(e) => {
                    if let Event::Status {
                        job_id,
                        status: JobState::Queued,
                        ..
                    } = e.event
                    {
                        self.queued(job_id);
                        // Take every event already waiting, so a scan's burst is one pass.
                        while let Ok(e) = self.events.try_recv() {
                            if let Event::Status {
                                job_id,
                                status: JobState::Queued,
                                ..
                            } = e.event
                            {
                                self.queued(job_id);
                            }
                        }
                        return;
                    }
                }
                // Missed events may have queued anything: look at everything.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.queued(JobId(0));
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    }

    fn status(&self) -> String {
        match self.last {
            Some(t) => format!(
                "last pass: {} looked at, {} probed, {} could not be probed",
                count(t.looked_at, "queued file", "queued files"),
                t.probed,
                t.failed
            ),
            None => "waiting for queued files".into(),
        }
    }
}

impl Analyser {
    async fn pass(&mut self, from: JobId, stop: &CancellationToken) -> PassTotals {
        let started = Instant::now();
        let mut totals = PassTotals::default();
        let mut cursor = from;
        let store = self.ledger.store().clone();
        while !stop.is_cancelled() {
            let chunk = match store.call(move |s| s.queued_from(cursor, CHUNK)).await {
                Ok(chunk) => chunk,
                Err(e) => {
                    tracing::warn!(error = %e, "analyser could not list queued jobs");
                    break;
                }
            };
            let Some(&(last, _)) = chunk.last() else {
                break;
            };
            cursor = JobId(last.0.saturating_add(1));
            totals.looked_at += chunk.len() as u64;
            let ids = chunk.clone();
            let todo = self.needs_probe(chunk).await;
            let (ffprobe, store) = (&self.ffprobe, &store);
            let results = for_each_bounded(todo, self.limit, |(path, id)| async move {
                // Dropping the probe at shutdown kills ffprobe (kill_on_drop).
                let probed = tokio::select! {
                    r = probe::probe(ffprobe, &path) => r,
                    _ = stop.cancelled() => return None,
                };
                match probed {
                    Ok(info) => {
                        probes::remember(store, &path, id, &info).await;
                        Some(Ok(()))
                    }
                    Err(e) => {
                        tracing::debug!(path = ?path, error = %e, "analyser: probe failed");
                        Some(Err((path, id)))
                    }
                }
            })
            .await;
            for result in results.into_iter().flatten() {
                match result {
                    Ok(()) => totals.probed += 1,
                    Err(key) => {
                        if self.failed.len() >= MAX_REMEMBERED_FAILURES {
                            self.failed.clear();
                        }
                        self.failed.insert(key);
                        totals.failed += 1;
                    }
                }
            }
            // Cached and fresh probes alike: the predictions are in memory only.
            super::queue::refresh_facts(store, &self.profiles, &ids).await;
            if last == JobId(u64::MAX) {
                break;
            }
        }
        if totals.probed + totals.failed > 0 {
            let message = format!(
                "analysed {} queued file(s) ahead of dispatch: {} probed, {} could not be probed, in {:.1} s",
                totals.looked_at,
                totals.probed,
                totals.failed,
                started.elapsed().as_secs_f64()
            );
            tracing::info!(?totals, "{message}");
            self.ledger.note(LogLevel::Info, message);
        }
        totals
    }

    /// The files of `chunk` worth probing: regular files, not ours, still there, with no
    /// valid cache entry and no remembered failure for this version.
    async fn needs_probe(&self, chunk: Vec<(JobId, PathBuf)>) -> Vec<(PathBuf, FileId)> {
        let stat = tokio::task::spawn_blocking(move || {
            chunk
                .into_iter()
                .filter(|(_, path)| !paths::is_own_file(path))
                // A vanished file is the dispatcher's to report.
                .filter_map(|(_, path)| match std::fs::metadata(&path) {
                    Ok(m) if m.is_file() => Some((path, FileId::of(&m))),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        let candidates: Vec<_> = stat
            .into_iter()
            .filter(|(path, id)| !self.failed.contains(&(path.clone(), *id)))
            .collect();
        let checked = self
            .ledger
            .store()
            .call(move |s| {
                let mut out = Vec::with_capacity(candidates.len());
                for (path, id) in candidates {
                    let cached = s
                        .probe_cache_get(&path)?
                        .is_some_and(|e| probes::entry_matches(&e, id));
                    if !cached {
                        out.push((path, id));
                    }
                }
                Ok(out)
            })
            .await;
        checked.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "analyser could not read the probe cache");
            Vec::new()
        })
    }
}

/// Run `work` on every item, at most `limit` at a time; results in completion order.
async fn for_each_bounded<T, F, Fut>(items: Vec<T>, limit: usize, work: F) -> Vec<Fut::Output>
where
    F: FnMut(T) -> Fut,
    Fut: Future,
{
    futures_util::stream::iter(items)
        .map(work)
        .buffer_unordered(limit.max(1))
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::for_each_bounded;

    #[tokio::test]
    async fn at_most_limit_run_at_once_and_all_run() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let out = for_each_bounded((0..20).collect(), 3, |i: u32| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i
            }
        })
        .await;
        assert_eq!(
            peak.load(Ordering::SeqCst),
            3,
            "bounded, and the bound is used"
        );
        let mut out = out;
        out.sort_unstable();
        assert_eq!(out, (0..20).collect::<Vec<_>>());
        // A zero limit still makes progress, one at a time.
        peak.store(0, Ordering::SeqCst);
        let n = for_each_bounded(vec![1, 2, 3], 0, |i: u32| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                running.fetch_sub(1, Ordering::SeqCst);
                i
            }
        })
        .await
        .len();
        assert_eq!((n, peak.load(Ordering::SeqCst)), (3, 1));
    }
}
