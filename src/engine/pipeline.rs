//! One job through the media pipeline: stat → probe (cached) → decide (with the profile of the
//! job's folder) → encode into a temp file beside the source → verify → fsync + rename to
//! `<stem>.alchemist.<ext>` → keep, replace or delete the original. The source is only read
//! until its output is verified. Every exit path leaves no partial file behind and records why it ended.

use std::path::PathBuf;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::backend::{EncodeEnd, EncodeSpec};
use super::dispatch::remove_temp;
use super::faults::{self, FileId};
use super::{Engine, StopReason};
use crate::events::Event;
use crate::media::plan::{Decision, Plan};
use crate::media::savings::{self, Verdict};
use crate::media::{paths, plan, verify};
use crate::model::{Explanation, JobEvent, JobId, now_ms};
use crate::store::{EncodeStats, Job, StoreError};

/// How a run ended.
pub(super) enum Outcome {
    Completed {
        output: PathBuf,
        output_size: u64,
        stats: EncodeStats,
        codec: String,
    },
    Skipped(Explanation),
    Failed(Explanation),
    Cancelled,
    Interrupted,
}

pub(super) struct Run {
    pub(super) started_ms: i64,
    pub(super) started: Instant,
    pub(super) encoder: Option<String>,
    pub(super) temp: Option<PathBuf>,
}

impl Engine {
    /// Run a claimed job to its end state. Never panics on bad input; errors become outcomes.
    pub(super) async fn run_job(&self, job: Job, cancel: CancellationToken) {
        let id = job.id;
        let mut run = Run {
            started_ms: now_ms(),
            started: Instant::now(),
            encoder: None,
            temp: None,
        };
        let outcome = match self.pipeline(&job, &cancel, &mut run).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Failed(Explanation::new(
                "internal_error",
                "The job could not be recorded.",
                format!("The store reported: {e}"),
            )),
        };
        if let Some(temp) = &run.temp
            && !matches!(outcome, Outcome::Completed { .. })
        {
            remove_temp(temp);
        }
        if let Err(e) = self.finish(&job, outcome, &run).await {
            tracing::error!(job = %id, error = %e, "could not record the end of a job");
        }
    }

    async fn pipeline(
        &self,
        job: &Job,
        cancel: &CancellationToken,
        run: &mut Run,
    ) -> Result<Outcome, StoreError> {
        let id = job.id;
        let input = job.input_path.clone();
        self.job_log(id, "info", format!("analysing {}", input.display()))
            .await;

        // 1. The source must still be there and be a regular file.
        let meta = match std::fs::metadata(&input) {
            Ok(m) if m.is_file() => m,
            Ok(_) => {
                return Ok(Outcome::Failed(Explanation::new(
                    "not_a_file",
                    "The source is not a regular file.",
                    "The path now names a directory or special file; nothing was done.",
                )));
            }
            Err(e) => {
                return Ok(Outcome::Failed(Explanation::new(
                    "source_missing",
                    "The source file could not be found.",
                    format!(
                        "Reading the file's metadata failed: {e}. It may have been moved or deleted."
                    ),
                )));
            }
        };

        if let Err(e) = std::fs::File::open(&input) {
            return Ok(Outcome::Failed(faults::open_failure(&e)));
        }

        // 2. Probe, from the cache when size, mtime and inode are unchanged.
        let info = match self.probe_cached(&input, &meta).await {
            Ok(info) => info,
            Err(explanation) => return Ok(Outcome::Failed(explanation)),
        };
        if let Some(reason) = self.stopped(id, cancel) {
            return Ok(reason);
        }
        let metadata = serde_json::to_value(&info).ok();

        // 3. Decide, with the profile of the job's folder.
        let settings = self.transcode_settings();
        let (profile_name, mut profile) = self.job_profile(job.folder_id).await;
        let threads = self.core().state.threads_override;
        if threads > 0 {
            profile.threads = threads;
        }
        self.job_log(id, "info", format!("profile: {profile_name}"))
            .await;
        let decision = plan::plan(&info, &profile, &self.planner_capabilities());
        let min_saving = profile.min_saving_percent;
        let explanation = decision.explanation();
        self.inner.events.publish(Event::Decision {
            job_id: id,
            action: decision.action(),
            explanation: explanation.clone(),
        });
        self.job_log(
            id,
            "info",
            format!("decision: {} ({})", decision.action(), explanation.summary),
        )
        .await;
        let action = decision.action().to_string();
        let (plan, start): (Plan, JobEvent) = match decision {
            Decision::Skip(reason) => {
                let why = reason.explanation();
                self.inner
                    .store
                    .call(move |s| {
                        s.update_job(id, |j| {
                            j.metadata = metadata;
                            j.decision = Some(why.clone());
                            j.decision_action = Some(action);
                            Ok(())
                        })
                    })
                    .await?;
                return Ok(Outcome::Skipped(explanation));
            }
            Decision::Remux(plan) => (plan, JobEvent::StartRemux),
            Decision::Transcode(plan) => (plan, JobEvent::StartEncode),
        };

        // 4. Encode into a hidden temp file beside the source, if it can fit.
        let source_id = FileId::of(&meta);
        if let Some(free) = input
            .parent()
            .and_then(|d| crate::process::free_bytes(d).ok())
            && let Some(why) = faults::space_guard(free, meta.len(), min_saving)
        {
            return Ok(Outcome::Failed(why));
        }
        let output = paths::output_path(&input, plan.container);
        let temp = paths::temp_path(&output, id);
        run.temp = Some(temp.clone());
        remove_temp(&temp);
        let (out2, temp2, why) = (output.clone(), temp.clone(), explanation.clone());
        let order = self.job_order().await;
        let (updated, previous) = self
            .inner
            .store
            .call(move |s| {
                s.transition_job(id, start, |j| {
                    j.metadata = metadata;
                    j.decision = Some(why);
                    j.decision_action = Some(action);
                    j.output_path = Some(out2);
                    j.temp_path = Some(temp2);
                })
            })
            .await?;
        self.publish_status(id, updated.status, Some(previous));
        drop(order);
        let encode_started = Instant::now();
        let spec = EncodeSpec {
            id,
            plan: &plan,
            source: info.video.as_ref(),
            input: &input,
            temp: &temp,
            duration: info.duration,
            source_size: meta.len(),
            source_id,
            min_saving_percent: min_saving,
        };
        let (backend, encoder_name) = match self.encode_job(spec, cancel, &mut run.encoder).await {
            EncodeEnd::Done { backend, encoder } => (backend, encoder),
            EncodeEnd::Stop(outcome) => return Ok(outcome),
        };
        let encode_seconds = encode_started.elapsed().as_secs_f64();
        if let Some(reason) = self.stopped(id, cancel) {
            return Ok(reason);
        }
        // A fast encode can finish between two progress checks: judge the final size too.
        if plan.video.is_some()
            && let Ok(written) = std::fs::metadata(&temp).map(|m| m.len())
            && let Verdict::Abort {
                projected_bytes,
                limit_bytes,
            } = savings::project(1.0, written, meta.len(), min_saving)
        {
            return Ok(Outcome::Skipped(savings::explain(
                1.0,
                written,
                meta.len(),
                projected_bytes,
                limit_bytes,
                min_saving,
            )));
        }
        // The output only stands for the source it was made from.
        let now = std::fs::metadata(&input).ok().map(|m| FileId::of(&m));
        if let Some(why) = faults::source_check(source_id, now) {
            return Ok(Outcome::Failed(why));
        }

        // 5. Verify the temp file, then make it durable and promote it.
        let Some(target) = plan.target_codec() else {
            return Ok(Outcome::Failed(Explanation::new(
                "internal_error",
                "The plan names no known output codec.",
                format!("Output codec `{}`.", plan.output_codec),
            )));
        };
        let expect = verify::Expect {
            duration: info.duration,
            codec: target,
            audio_streams: plan.audio.len(),
            subtitle_streams: plan.subtitles.len(),
            decode: crate::media::decode::DecodeCheck::from_mode(settings.verify),
        };
        let verified =
            match verify::verify_planned(&self.inner.ffprobe, &self.inner.ffmpeg, &temp, &expect)
                .await
            {
                Ok(v) => v,
                Err(explanation) => return Ok(Outcome::Failed(explanation)),
            };
        if let Some(reason) = self.stopped(id, cancel) {
            return Ok(reason);
        }
        let (temp2, out2) = (temp.clone(), output.clone());
        let promoted =
            tokio::task::spawn_blocking(move || super::probe_cache::promote(&temp2, &out2))
                .await
                .map_err(|e| StoreError::Task(e.to_string()))?;
        let output_size = match promoted {
            Ok(size) => size,
            Err(e) => {
                return Ok(Outcome::Failed(Explanation::new(
                    if e.raw_os_error() == Some(libc::ENOSPC) {
                        "disk_full"
                    } else {
                        "promote_failed"
                    },
                    "The verified output could not be put in place.",
                    format!(
                        "Syncing or renaming the temp file failed: {e}. The source is untouched."
                    ),
                )));
            }
        };
        run.temp = None;
        self.job_log(
            id,
            "info",
            format!("verified and saved as {}", output.display()),
        )
        .await;
        let output = self
            .apply_policy(id, job.attempt_count, &input, output, profile.original)
            .await;
        let input_size = meta.len();
        let duration = verified.duration.max(info.duration);
        Ok(Outcome::Completed {
            output,
            output_size,
            codec: target.as_str().to_string(),
            stats: EncodeStats {
                input_size_bytes: input_size,
                output_size_bytes: output_size,
                compression_ratio: if input_size > 0 {
                    1.0 - output_size as f64 / input_size as f64
                } else {
                    0.0
                },
                encode_time_seconds: encode_seconds,
                encode_speed: if encode_seconds > 0.0 {
                    duration / encode_seconds
                } else {
                    0.0
                },
                avg_bitrate_kbps: if duration > 0.0 {
                    output_size as f64 * 8.0 / duration / 1000.0
                } else {
                    0.0
                },
                encoder: encoder_name,
                backend: backend.as_str().to_string(),
            },
        })
    }

    /// `Some(outcome)` when the job's token was cancelled (by the user or a shutdown).
    pub(super) fn stopped(&self, id: JobId, cancel: &CancellationToken) -> Option<Outcome> {
        if !cancel.is_cancelled() {
            return None;
        }
        Some(match self.stop_reason(id) {
            Some(StopReason::Shutdown) => Outcome::Interrupted,
            _ => Outcome::Cancelled,
        })
    }
}
