//! Running ffmpeg for one job: on a blocking thread, forwarding the pid, progress and
//! warnings, suspending at once when the engine is paused, and watching the temp file's size
//! against progress so that an encode that clearly misses the minimum saving is stopped early
//! (`media::savings`) instead of running to the end.

use std::ffi::OsString;
use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::Engine;
use crate::events::Event;
use crate::media::run::{RunError, RunEvent, RunOptions};
use crate::media::savings::{self, Verdict};
use crate::model::{EngineMode, EngineRunState, Explanation, JobId};
use crate::process::Priority;

/// One encode to run.
pub(super) struct EncodeJob {
    pub id: JobId,
    pub argv: Vec<OsString>,
    /// Input duration in seconds (0 when unknown: no progress, no early abort).
    pub duration: f64,
    pub temp: PathBuf,
    pub source_size: u64,
    /// 0 turns the early abort off (remuxes).
    pub min_saving_percent: u8,
}

/// How an encode that did not fail ended.
pub(super) enum Encoded {
    Done,
    /// Stopped early: the output would not have saved enough.
    Abandoned(Explanation),
}

impl Engine {
    /// Run ffmpeg on a blocking thread, forwarding pid, progress and warnings.
    pub(super) async fn encode(
        &self,
        job: EncodeJob,
        cancel: &CancellationToken,
    ) -> Result<Encoded, RunError> {
        let id = job.id;
        let background = self.core().state.mode == EngineMode::Background;
        let opts = RunOptions {
            ffmpeg: self.inner.ffmpeg.clone(),
            priority: if background {
                Priority::Background
            } else {
                Priority::Normal
            },
            duration: job.duration,
        };
        let engine = self.clone();
        // A child token: stopping for savings must not look like the user's cancel.
        let stop = cancel.child_token();
        let parent = cancel.clone();
        tokio::task::spawn_blocking(move || {
            let mut warnings: Vec<(String, String)> = Vec::new();
            let mut abandoned: Option<Explanation> = None;
            let mut on_event = |event: RunEvent| match event {
                RunEvent::Started { pid } => engine.note_pid(id, pid),
                RunEvent::Progress(p) => {
                    if let Some(a) = engine.core().active.get_mut(id) {
                        a.progress = p.percent;
                    }
                    if abandoned.is_none()
                        && let Some(x) = check_savings(&job, p.percent / 100.0)
                    {
                        abandoned = Some(x);
                        stop.cancel();
                    }
                    engine.inner.events.publish(Event::Progress {
                        job_id: id,
                        percent: p.percent,
                        fps: p.fps,
                        speed: p.speed,
                        out_time_seconds: p.out_time_seconds,
                        eta_seconds: p.eta_seconds,
                    });
                }
                RunEvent::Log(line) => {
                    engine.inner.events.publish(Event::Log {
                        job_id: Some(id),
                        level: "warning",
                        message: line.clone(),
                    });
                    warnings.push(("warning".into(), line));
                }
            };
            let result =
                crate::media::run::run_ffmpeg(&opts, job.argv.clone(), &stop, &mut on_event);
            if let Err(e) = engine.inner.store.append_logs(id, &warnings) {
                tracing::warn!(job = %id, error = %e, "could not store ffmpeg warnings");
            }
            match (result, abandoned) {
                (Err(RunError::Cancelled), Some(x)) if !parent.is_cancelled() => {
                    Ok(Encoded::Abandoned(x))
                }
                (Err(e), _) => Err(e),
                (Ok(_), _) => Ok(Encoded::Done),
            }
        })
        .await
        .map_err(|e| RunError::Spawn(std::io::Error::other(e.to_string())))?
    }

    /// Remember the ffmpeg pid; if the engine was paused meanwhile, suspend it at once.
    pub(super) fn note_pid(&self, id: JobId, pid: u32) {
        let paused = {
            let mut core = self.core();
            if let Some(a) = core.active.get_mut(id) {
                a.pid = Some(pid);
            }
            core.state.run_state == EngineRunState::Paused
        };
        if paused && let Err(e) = crate::process::suspend(pid) {
            tracing::warn!(pid, error = %e, "could not suspend ffmpeg");
        }
    }
}

/// Stat the temp file and project; `Some` when the encode should stop.
fn check_savings(job: &EncodeJob, fraction: f64) -> Option<Explanation> {
    if job.min_saving_percent == 0 || job.duration <= 0.0 {
        return None;
    }
    let written = std::fs::metadata(&job.temp).map(|m| m.len()).ok()?;
    match savings::project(fraction, written, job.source_size, job.min_saving_percent) {
        Verdict::Continue => None,
        Verdict::Abort {
            projected_bytes,
            limit_bytes,
        } => Some(savings::explain(
            fraction,
            written,
            job.source_size,
            projected_bytes,
            limit_bytes,
            job.min_saving_percent,
        )),
    }
}
