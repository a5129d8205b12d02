//! The retrier: a worker that re-queues failed jobs whose automatic retry is due. The schedule
//! lives in the store (so it survives a restart); a retry is scheduled where a run ends, after
//! the pure policy in `policy` said yes. The retrier sleeps until the earliest scheduled retry,
//! or until a job fails (which may have scheduled an earlier one), re-queues every due job
//! through the state machine's `Retry` event with the same resets as a user's restart, and
//! sleeps again. The `queued` events it causes wake the dispatcher and the analyser.

pub mod policy;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::jobs::reset_for_restart;
use super::ledger::Ledger;
use super::worker::Worker;
use crate::events::{Envelope, Event};
use crate::model::count;
use crate::model::{JobState, LogLevel, now_ms, rfc3339};
use crate::store::StoreError;
use policy::MAX_ATTEMPTS;

/// Jobs re-queued per store transaction, so a burst of due retries never holds the writer long.
const CHUNK: usize = 256;
/// Longest sleep without looking at the schedule again: bounds the effect of a missed wake-up
/// or a wall clock that jumped.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// Wait after a store error before trying again.
const ERROR_PAUSE: Duration = Duration::from_secs(10);

pub(crate) struct Retrier {
    ledger: Ledger,
    events: broadcast::Receiver<Arc<Envelope>>,
    /// When the next retry falls due (ms); `None`: none scheduled.
    next_at: Option<i64>,
    failed: bool,
    requeued: u64,
}

impl Retrier {
    pub fn new(ledger: Ledger) -> Retrier {
        let events = ledger.events().subscribe(None).rx;
        Retrier {
            ledger,
            events,
            next_at: None,
            failed: false,
            requeued: 0,
        }
    }

    /// Re-queue every job whose retry is due; returns when the next one falls due.
    async fn requeue_due(&mut self, stop: &CancellationToken) -> Result<Option<i64>, StoreError> {
        loop {
            if stop.is_cancelled() {
                return Ok(None);
            }
            let now = now_ms();
            let due = self
                .ledger
                .apply(move |s| s.requeue_due_retries(now, CHUNK, reset_for_restart))
                .await?;
            self.requeued += due.len() as u64;
            for (job, _) in &due {
                self.ledger
                    .log(
                        job.id,
                        LogLevel::Info,
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
        self.ledger.store().call(|s| s.next_retry_at()).await
    }
}

impl Worker for Retrier {
    fn name(&self) -> &'static str {
        "retrier"
    }

    async fn work(&mut self, stop: &CancellationToken) {
        match self.requeue_due(stop).await {
            Ok(next) => {
                self.next_at = next;
                self.failed = false;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not re-queue due retries");
                self.failed = true;
            }
        }
    }

    async fn wait(&mut self) {
        let sleep = if self.failed {
            ERROR_PAUSE
        } else {
            self.next_at.map_or(MAX_SLEEP, |at| {
                Duration::from_millis(at.saturating_sub(now_ms()).max(0) as u64).min(MAX_SLEEP)
            })
        };
        let timer = tokio::time::sleep(sleep);
        tokio::pin!(timer);
        loop {
            tokio::select! {
                _ = &mut timer => return,
                event = self.events.recv() => match event {
                    // A failure may have scheduled a retry earlier than the one known.
                    Ok(e) if matches!(e.event, Event::Status { status: JobState::Failed, .. }) => return,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => {
                        (&mut timer).await;
                        return;
                    }
                },
            }
        }
    }

    fn status(&self) -> String {
        let done = format!("{} re-queued", count(self.requeued, "job", "jobs"));
        match (self.failed, self.next_at) {
            (true, _) => format!("the store failed; trying again shortly; {done}"),
            (false, Some(at)) => format!("next retry at {}; {done}", rfc3339(at)),
            (false, None) => format!("no retry scheduled; {done}"),
        }
    }
}
