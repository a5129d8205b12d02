//! The notifier: a worker that tells every configured service after a file changed. Its
//! wake-ups are the `status` events of completed jobs (an output promoted, and with it an
//! original replaced: the job's `output_path` is where the file now is), the handle's queue
//! (an original restored from the trash), and the next retry falling due. Each service gets
//! its own call with the path translated back through the path map (ours → theirs). A call
//! that fails transiently is tried again with doubling delays, at most [`MAX_ATTEMPTS`] times;
//! every failure is logged. Nothing here runs inside a job, so a slow or broken service never
//! fails or delays one. The calls still to make are kept in the store after every step
//! (setting [`PENDING_KEY`]), so a restart, an update's reboot or a power cut in the middle of
//! the retries does not drop them: the next start makes them again, from the first try.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Integrations, Service, client, paths};
use crate::engine::worker::Worker;
use crate::events::{Envelope, Event, EventBus};
use crate::model::{JobId, JobState};
use crate::store::Store;

/// Tries per change and service: with [`FIRST_RETRY`] doubling, the last is about 15 s after
/// the first, enough for a media server restarting; beyond that the owner's own scan will do.
pub(crate) const MAX_ATTEMPTS: u32 = 5;
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest wait when nothing is due (the queue and the events wake it sooner).
const IDLE: Duration = Duration::from_secs(3600);
/// The setting that holds the calls still to make: `[{"path": ..., "service": ...}]`.
pub(crate) const PENDING_KEY: &str = "integrations_pending";

/// A call still to make, as kept in the store. The path as bytes: a file name need not be
/// UTF-8, and JSON strings must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Saved {
    path: Vec<u8>,
    service: Service,
}

impl Saved {
    fn of(p: &Pending) -> Saved {
        use std::os::unix::ffi::OsStrExt;
        Saved {
            path: p.path.as_os_str().as_bytes().to_vec(),
            service: p.service,
        }
    }

    fn path(&self) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(&self.path))
    }
}

struct Pending {
    path: PathBuf,
    service: Service,
    attempt: u32,
    due: Instant,
}

pub(crate) struct Notifier {
    integrations: Integrations,
    store: Store,
    queue: mpsc::Receiver<PathBuf>,
    events: broadcast::Receiver<Arc<Envelope>>,
    /// Jobs completed since the last step, and paths queued.
    completed: Vec<JobId>,
    changed: Vec<PathBuf>,
    pending: Vec<Pending>,
    /// What the store holds of `pending`; `None` until it was read at the first step.
    saved: Option<Vec<Saved>>,
    sent: u64,
    failed: u64,
    last_error: Option<String>,
}

impl Notifier {
    pub(super) fn new(
        integrations: Integrations,
        store: Store,
        queue: mpsc::Receiver<PathBuf>,
        events: &EventBus,
    ) -> Notifier {
        Notifier {
            integrations,
            store,
            queue,
            events: events.subscribe(None).rx,
            completed: Vec::new(),
            changed: Vec::new(),
            pending: Vec::new(),
            saved: None,
            sent: 0,
            failed: 0,
            last_error: None,
        }
    }

    fn take(&mut self, event: &Event) {
        if let Event::Status {
            job_id,
            status: JobState::Completed,
            ..
        } = event
        {
            self.completed.push(*job_id);
        }
    }

    /// The calls a previous run left to make, due now.
    async fn load(&mut self) {
        let kept = self.store.call(|s| s.setting(PENDING_KEY)).await;
        let kept: Vec<Saved> = match kept {
            Ok(Some(v)) => serde_json::from_value(v).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "notifier: unreadable pending calls dropped");
                Vec::new()
            }),
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!(error = %e, "notifier: pending calls not readable");
                Vec::new()
            }
        };
        if !kept.is_empty() {
            tracing::info!(
                calls = kept.len(),
                "notifier: making the calls left from before the restart"
            );
        }
        let now = Instant::now();
        self.pending.extend(kept.iter().map(|k| Pending {
            path: k.path(),
            service: k.service,
            attempt: 1,
            due: now,
        }));
        self.saved = Some(kept);
    }

    /// Keep the calls still to make in the store, when they changed.
    async fn save(&mut self) {
        let now: Vec<Saved> = self.pending.iter().map(Saved::of).collect();
        if self.saved.as_ref() == Some(&now) {
            return;
        }
        let value = match serde_json::to_value(&now) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "notifier: pending calls not kept");
                return;
            }
        };
        match self
            .store
            .call(move |s| s.set_setting(PENDING_KEY, &value))
            .await
        {
            Ok(()) => self.saved = Some(now),
            Err(e) => tracing::warn!(error = %e, "notifier: pending calls not kept"),
        }
    }

    /// Turn completed jobs and queued paths into one call per configured service.
    async fn plan(&mut self) {
        for id in std::mem::take(&mut self.completed) {
            match self.store.call(move |s| s.get_job(id)).await {
                Ok(job) => {
                    if let Some(out) = job.output_path {
                        self.changed.push(out);
                    }
                }
                Err(e) => tracing::warn!(job = %id.0, error = %e, "notifier: job not readable"),
            }
        }
        let settings = self.integrations.settings();
        let now = Instant::now();
        for path in std::mem::take(&mut self.changed) {
            for service in Service::ALL {
                if settings.service(service).is_some() {
                    self.pending.push(Pending {
                        path: path.clone(),
                        service,
                        attempt: 1,
                        due: now,
                    });
                }
            }
        }
    }

    /// Make the calls that are due; a transient failure is planned again with a longer delay.
    async fn call_due(&mut self, stop: &CancellationToken) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.due <= now);
        self.pending = later;
        let settings = self.integrations.settings();
        let mut due = due.into_iter();
        while let Some(mut p) = due.next() {
            if stop.is_cancelled() {
                // Kept for the next start.
                self.pending.push(p);
                self.pending.extend(due);
                return;
            }
            // Settings may have changed since the call was planned: a removed service is
            // simply not called.
            let Some(svc) = settings.service(p.service) else {
                continue;
            };
            let remote = paths::to_remote(&settings.path_map, &p.path);
            let label = p.service.label();
            match client::refresh(self.integrations.http(), p.service, svc, &remote).await {
                Ok(what) => {
                    self.sent += 1;
                    tracing::info!(service = label, path = %remote, "told {label}: {what}");
                }
                Err(e) if e.is_transient() && p.attempt < MAX_ATTEMPTS => {
                    let delay = FIRST_RETRY * 2u32.pow(p.attempt - 1);
                    tracing::warn!(service = label, path = %remote, code = e.code(), error = %e,
                        attempt = p.attempt, "telling {label} failed; retrying in {delay:?}");
                    self.last_error = Some(format!("{label}: {e}"));
                    p.attempt += 1;
                    p.due = Instant::now() + delay;
                    self.pending.push(p);
                }
                Err(e) => {
                    self.failed += 1;
                    tracing::warn!(service = label, path = %remote, code = e.code(), error = %e,
                        attempt = p.attempt, "telling {label} failed; giving up on this change");
                    self.last_error = Some(format!("{label}: {e}"));
                }
            }
        }
    }
}

impl Worker for Notifier {
    fn name(&self) -> &'static str {
        "media refresh"
    }

    async fn work(&mut self, stop: &CancellationToken) {
        if self.saved.is_none() {
            self.load().await;
        }
        while let Ok(p) = self.queue.try_recv() {
            self.changed.push(p);
        }
        self.plan().await;
        // Kept before the calls: one that hangs until a reboot is made after it.
        self.save().await;
        self.call_due(stop).await;
        self.save().await;
    }

    async fn wait(&mut self) {
        let next = self.pending.iter().map(|p| p.due).min();
        let sleep = tokio::time::sleep_until(next.unwrap_or_else(|| Instant::now() + IDLE));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return,
                p = self.queue.recv() => match p {
                    Some(p) => { self.changed.push(p); return; }
                    None => { (&mut sleep).await; return; }
                },
                e = self.events.recv() => match e {
                    Ok(e) => {
                        self.take(&e.event);
                        if !self.completed.is_empty() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "notifier: missed events; some changes not told");
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        (&mut sleep).await;
                        return;
                    }
                },
            }
        }
    }

    fn status(&self) -> String {
        let configured: Vec<&str> = {
            let s = self.integrations.settings();
            Service::ALL
                .into_iter()
                .filter(|x| s.service(*x).is_some())
                .map(Service::label)
                .collect()
        };
        if configured.is_empty() {
            return "no media server or *arr configured".into();
        }
        let mut line = format!(
            "{}: {} told, {} given up, {} waiting to retry",
            configured.join(", "),
            self.sent,
            self.failed,
            self.pending.len()
        );
        if let Some(e) = &self.last_error {
            line.push_str(&format!("; last error: {e}"));
        }
        line
    }
}
