//! The retrier: one background task that sleeps until the earliest scheduled retry (from the
//! store, so schedules survive a restart), re-queues every failed job that is due through the
//! state machine's `Retry` event with the same resets and `status` events as a user restart,
//! and goes back to sleep. Scheduling itself happens where a run ends (`finish`), after the
//! pure policy in `retry` said yes.

use std::time::Duration;

use super::Engine;
use super::jobs::reset_for_restart;
use super::retry::MAX_ATTEMPTS;
use crate::model::{JobId, now_ms};
use crate::store::StoreError;

/// Jobs re-queued per store transaction, so a burst of due retries never holds the writer long.
const CHUNK: usize = 256;
/// Longest sleep without looking at the schedule again: bounds the effect of a missed wake-up
/// or a wall clock that jumped.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// Wait after a store error before trying again.
const ERROR_PAUSE: Duration = Duration::from_secs(10);

impl Engine {
    /// Start the retrier. Tracked, so shutdown waits for it; it ends at shutdown.
    pub(super) fn spawn_retrier(&self) {
        let engine = self.clone();
        self.inner
            .tasks
            .spawn(async move { engine.retry_loop().await });
    }

    async fn retry_loop(self) {
        loop {
            let sleep = match self.requeue_due().await {
                Ok(Some(at)) => {
                    Duration::from_millis(at.saturating_sub(now_ms()).max(0) as u64).min(MAX_SLEEP)
                }
                Ok(None) => MAX_SLEEP,
                Err(e) => {
                    tracing::warn!(error = %e, "could not re-queue due retries");
                    ERROR_PAUSE
                }
            };
            tokio::select! {
                _ = self.inner.retry_wake.notified() => {}
                _ = tokio::time::sleep(sleep) => {}
                _ = self.inner.shutdown.cancelled() => return,
            }
        }
    }

    /// Re-queue every job whose retry is due; returns when the next one falls due.
    async fn requeue_due(&self) -> Result<Option<i64>, StoreError> {
        loop {
            if self.inner.shutdown.is_cancelled() {
                return Ok(None);
            }
            let now = now_ms();
            let order = self.job_order().await;
            let due = self
                .inner
                .store
                .call(move |s| s.requeue_due_retries(now, CHUNK, reset_for_restart))
                .await?;
            for (job, previous) in &due {
                self.publish_status(job.id, job.status, Some(*previous));
            }
            drop(order);
            if let Some(first) = due.iter().map(|(j, _)| j.id).min() {
                self.inner.wake.notify_one();
                self.analyse_from(first);
            }
            for (job, _) in &due {
                tracing::info!(job = %job.id, retry = job.auto_retries, "retrying a failed job");
                self.job_log(
                    job.id,
                    "info",
                    format!(
                        "retrying automatically (attempt {} of {MAX_ATTEMPTS})",
                        job.auto_retries + 1
                    ),
                )
                .await;
            }
            if due.len() < CHUNK {
                break;
            }
        }
        self.inner.store.call(|s| s.next_retry_at()).await
    }

    /// Drop a failed job's scheduled retry (a user cancelled it). `true` when one was set.
    pub(super) async fn clear_retry(&self, id: JobId) -> Result<bool, StoreError> {
        let cleared = self
            .inner
            .store
            .call(move |s| {
                let mut had = false;
                s.update_job(id, |j| {
                    had = j.retry_at.take().is_some();
                    Ok(())
                })?;
                Ok(had)
            })
            .await?;
        if cleared {
            self.job_log(id, "info", "automatic retry cancelled".to_string())
                .await;
        }
        Ok(cleared)
    }
}
