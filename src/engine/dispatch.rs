//! Dispatch and recovery. One loop claims queued jobs in priority order while the engine runs
//! and has free slots; each claimed job gets a task of its own. At start, jobs a previous
//! process left active go back to the queue and their temp files are removed.

use std::time::Duration;

use super::state::{EngineCommand, concurrent_limit};
use super::{Engine, EngineError, StopReason};
use crate::events::Event;
use crate::model::{EngineRunState, JobEvent, JobState};

/// The dispatcher also wakes on this period, so nothing waits forever on a missed wake-up.
const IDLE_TICK: Duration = Duration::from_secs(2);

impl Engine {
    /// Jobs found active at start go back to `queued`; their partial outputs are removed.
    pub(super) async fn recover(&self) -> Result<(), EngineError> {
        let recovered = self
            .inner
            .store
            .call(|s| {
                s.transition_where(
                    &[JobState::Analyzing, JobState::Encoding, JobState::Remuxing],
                    JobEvent::Interrupted,
                    |job| {
                        job.progress = 0.0;
                    },
                )
            })
            .await?;
        for (job, previous) in recovered {
            if let Some(temp) = &job.temp_path {
                remove_temp(temp);
            }
            tracing::info!(job = %job.id, "re-queued a job interrupted by the last shutdown");
            self.publish_status(job.id, JobState::Queued, Some(previous));
            let _ = self
                .inner
                .store
                .call(move |s| {
                    s.append_log(job.id, "warning", "interrupted by a restart; queued again")
                })
                .await;
        }
        Ok(())
    }

    pub(super) async fn dispatch_loop(self) {
        loop {
            self.dispatch_ready().await;
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(IDLE_TICK) => {}
                _ = self.inner.shutdown.cancelled() => return,
            }
        }
    }

    /// Claim and start jobs while there is room.
    async fn dispatch_ready(&self) {
        loop {
            if self.inner.shutdown.is_cancelled() {
                return;
            }
            let hw_sessions = self.hw_sessions();
            let (run_state, limit, active) = {
                let core = self.core();
                let s = &core.state;
                let limit = concurrent_limit(
                    s.mode,
                    self.inner.cores,
                    hw_sessions,
                    s.concurrent_jobs_override,
                );
                (s.run_state, limit, core.active.len() as u32)
            };
            if run_state == EngineRunState::Draining && active == 0 {
                if let Err(e) = self.command(EngineCommand::DrainFinished).await {
                    tracing::error!(error = %e, "could not finish drain");
                }
                return;
            }
            if run_state != EngineRunState::Running || active >= limit {
                return;
            }
            let order = self.job_order().await;
            let claimed = match self.inner.store.call(|s| s.claim_next()).await {
                Ok(Some(job)) => job,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(error = %e, "could not claim a job");
                    return;
                }
            };
            let (id, attempt) = (claimed.id, claimed.attempt_count);
            // A shutdown that began after the check above, or a cancel that came while the
            // claim was being written, stops the job before it does any work.
            let token = self
                .core()
                .active
                .admit(id, attempt, self.inner.shutdown.is_cancelled());
            self.publish_status(id, JobState::Analyzing, Some(JobState::Queued));
            drop(order);
            let engine = self.clone();
            self.inner.tasks.spawn(async move {
                engine.run_job(claimed, token).await;
                engine.core().active.release(id, attempt);
                engine.inner.wake.notify_one();
            });
        }
    }

    pub(super) fn publish_status(
        &self,
        job_id: crate::model::JobId,
        status: JobState,
        previous: Option<JobState>,
    ) {
        self.inner.events.publish(Event::Status {
            job_id,
            status,
            previous,
        });
    }

    /// Why the job's token was cancelled, if it was.
    pub(super) fn stop_reason(&self, id: crate::model::JobId) -> Option<StopReason> {
        self.core().active.get(id).and_then(|a| a.stop_reason)
    }
}

/// Remove one of our temp files; a missing file is fine.
pub(super) fn remove_temp(path: &std::path::Path) {
    if !crate::media::paths::is_own_file(path) {
        tracing::error!(path = %path.display(), "refusing to remove a file that is not ours");
        return;
    }
    match std::fs::remove_file(path) {
        Ok(()) => tracing::info!(path = %path.display(), "removed partial output"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not remove partial output")
        }
    }
}
