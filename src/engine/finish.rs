//! The end of a run: the end state, the attempt record, statistics for completed encodes,
//! the job log and the status event, all recorded whatever way the run ended. A failure also
//! gets its automatic retry scheduled here when the `retry` policy allows one.

use std::path::PathBuf;

use super::Engine;
use super::pipeline::{Outcome, Run};
use super::retry::{self, Next};
use crate::events::Event;
use crate::model::{JobEvent, JobId, now_ms, rfc3339};
use crate::store::{Attempt, EncodeResult, Job, StoreError};

impl Engine {
    /// Store the end state, the attempt and the statistics, and tell subscribers.
    pub(super) async fn finish(
        &self,
        job: &Job,
        outcome: Outcome,
        run: &Run,
    ) -> Result<(), StoreError> {
        let id = job.id;
        let wall = run.started.elapsed().as_secs_f64();
        let (outcome_name, failure_code, output_size) = match &outcome {
            Outcome::Completed { output_size, .. } => ("completed", None, Some(*output_size)),
            Outcome::Skipped(_) => ("skipped", None, None),
            Outcome::Failed(e) => ("failed", Some(e.code.clone()), None),
            Outcome::Cancelled => ("cancelled", None, None),
            Outcome::Interrupted => ("interrupted", None, None),
        };
        let attempt = Attempt {
            number: job.attempt_count,
            started_at: rfc3339(run.started_ms),
            finished_at: rfc3339(now_ms()),
            outcome: outcome_name.to_string(),
            failure_code,
            encoder: run.encoder.clone(),
            input_size_bytes: job.input_size,
            output_size_bytes: output_size,
            wall_seconds: wall,
        };
        self.inner
            .store
            .call(move |s| s.add_attempt(id, &attempt))
            .await?;
        let store = &self.inner.store;
        let _order = self.job_order().await;
        let (updated, previous) = match outcome {
            Outcome::Completed {
                output,
                output_size,
                stats,
                codec,
            } => {
                let result = EncodeResult {
                    job_id: id,
                    input_path: job.input_path.clone(),
                    folder: self.folder_path(job.folder_id).await,
                    codec,
                    input_size: stats.input_size_bytes,
                    output_size,
                    encode_seconds: stats.encode_time_seconds,
                    completed_at: now_ms(),
                };
                store
                    .call(move |s| {
                        s.complete_job(id, result, |j| {
                            // The output replaced the original under its name: remember the
                            // new file, so a rescan sees it unchanged and does not queue it.
                            if output == j.input_path
                                && let Ok(m) = std::fs::metadata(&output)
                            {
                                use std::os::unix::fs::MetadataExt;
                                j.input_size = m.len();
                                j.input_mtime_ns = m.mtime() * 1_000_000_000 + m.mtime_nsec();
                                j.input_inode = m.ino();
                            }
                            j.output_path = Some(output);
                            j.output_size = Some(output_size);
                            j.temp_path = None;
                            j.encode_stats = Some(stats);
                        })
                    })
                    .await?
            }
            Outcome::Skipped(why) => {
                self.job_log(id, "info", format!("skipped: {}", why.summary))
                    .await;
                store
                    .call(move |s| {
                        s.transition_job(id, JobEvent::Skip, |j| {
                            j.temp_path = None;
                            j.decision = Some(why);
                            j.decision_action = Some("skip".into());
                        })
                    })
                    .await?
            }
            Outcome::Failed(mut why) => {
                let (retry_at, plan) =
                    match retry::next(&why, job.auto_retries, self.inner.retry_base) {
                        Next::Retry { delay, attempt, of } => {
                            let at = now_ms().saturating_add(delay.as_millis() as i64);
                            let seconds = delay.as_millis() as f64 / 1000.0;
                            why = why.with("retry_in_seconds", seconds);
                            let plan = format!(
                                "will retry at {} (attempt {attempt} of {of})",
                                rfc3339(at)
                            );
                            (Some(at), plan)
                        }
                        Next::Stop(stop) => (None, stop.sentence()),
                    };
                self.job_log(
                    id,
                    "error",
                    format!("failed: {} {}", why.summary, why.detail),
                )
                .await;
                self.job_log(id, "info", plan).await;
                let _ = store.call(|s| s.record_failure()).await;
                let changed = store
                    .call(move |s| {
                        s.transition_job(id, JobEvent::Fail, |j| {
                            j.temp_path = None;
                            j.failure = Some(why);
                            j.retry_at = retry_at;
                        })
                    })
                    .await?;
                if retry_at.is_some() {
                    self.inner.retry_wake.notify_one();
                }
                changed
            }
            Outcome::Cancelled => {
                self.job_log(id, "info", "cancelled; partial output removed".to_string())
                    .await;
                store
                    .call(move |s| {
                        s.transition_job(id, JobEvent::Cancel, |j| {
                            j.temp_path = None;
                        })
                    })
                    .await?
            }
            Outcome::Interrupted => {
                store
                    .call(move |s| {
                        s.transition_job(id, JobEvent::Interrupted, |j| {
                            j.temp_path = None;
                            j.progress = 0.0;
                        })
                    })
                    .await?
            }
        };
        self.publish_status(id, updated.status, Some(previous));
        Ok(())
    }

    async fn folder_path(&self, folder: Option<u64>) -> Option<PathBuf> {
        let folder = folder?;
        let folders = self.inner.store.call(|s| s.folders()).await.ok()?;
        folders.into_iter().find(|f| f.id == folder).map(|f| f.path)
    }

    /// Store a line in the job's log and publish it.
    pub(super) async fn job_log(&self, id: JobId, level: &'static str, message: String) {
        self.inner.events.publish(Event::Log {
            job_id: Some(id),
            level,
            message: message.clone(),
        });
        if let Err(e) = self
            .inner
            .store
            .call(move |s| s.append_log(id, level, &message))
            .await
        {
            tracing::warn!(job = %id, error = %e, "could not store a log line");
        }
    }
}
