//! The encode stage: on the hardware the capabilities choose (`backend`), then once more on the
//! CPU if that fails for the encoder's own reasons (not a full disk or a changed source, which
//! the CPU would meet too); or on the CPU straight away. Each try runs ffmpeg on a blocking
//! thread, reporting its pid (suspended at once when the engine is paused), progress and
//! warnings, and watches the temp file's size against progress so that an encode that clearly
//! misses the minimum saving is stopped early (`media::savings`) instead of running to the end.

use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::stages::{Planned, Source};
use super::{JobContext, Progress, Stop, backend};
use crate::engine::failure::{self, Failure, FileId};
use crate::events::Event;
use crate::media::run::{RunError, RunEvent, RunOptions};
use crate::media::savings::{self, Verdict};
use crate::media::{MediaInfo, args};
use crate::model::{Backend, Explanation, LogLevel};

/// How an encode went.
pub(super) struct Encoded {
    pub backend: Backend,
    pub encoder: String,
    /// Wall seconds of the try that succeeded.
    pub seconds: f64,
}

/// One ffmpeg run to try.
struct Try {
    backend: Backend,
    encoder: String,
    device: Option<String>,
    argv: Vec<OsString>,
}

pub(super) async fn encode(
    ctx: &JobContext,
    planned: &Planned,
    info: &MediaInfo,
    source: &Source,
    temp: &Path,
    run: &mut Progress,
) -> Result<Encoded, Stop> {
    let (plan, input) = (&planned.plan, &source.path);
    // ffmpeg reads the file the run opened and checked, not whatever the path names now.
    let fd = source.file.as_raw_fd();
    let read_from = crate::process::fd_path(fd);
    let mut tries = Vec::new();
    if let Some(h) = ctx.caps.as_deref().and_then(|caps| {
        backend::hardware_choice(plan, info.video.as_ref(), &read_from, temp, caps)
    }) {
        tries.push(Try {
            backend: h.backend,
            encoder: h.encoder,
            device: Some(h.device),
            argv: h.argv,
        });
    }
    tries.push(Try {
        backend: Backend::Cpu,
        encoder: plan
            .video
            .as_ref()
            .map_or("copy", |v| v.encoder.as_str())
            .to_string(),
        device: None,
        argv: args::build_args(plan, &read_from, temp),
    });
    let min_saving = if plan.video.is_some() {
        planned.profile.min_saving_percent
    } else {
        0
    };
    let last = tries.len() - 1;
    for (i, t) in tries.into_iter().enumerate() {
        run.encoder = Some(t.encoder.clone());
        // Paths in the arguments may hold any byte: shown escaped, they cannot forge a line.
        let line = t
            .argv
            .iter()
            .map(|a| crate::model::escape_controls(&a.to_string_lossy()).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        ctx.log(LogLevel::Info, format!("ffmpeg {line}")).await;
        let started = Instant::now();
        let watch = SavingsWatch {
            temp: temp.to_path_buf(),
            source_size: source.size,
            min_saving_percent: min_saving,
            duration: info.duration,
        };
        let failed = match run_ffmpeg(ctx, t.argv, watch, fd).await {
            Ok(Ran::Done) => {
                return Ok(Encoded {
                    backend: t.backend,
                    encoder: t.encoder,
                    seconds: started.elapsed().as_secs_f64(),
                });
            }
            Ok(Ran::Abandoned(why)) => return Err(Stop::Skip(why)),
            Err(RunError::Cancelled) => {
                ctx.check_stop()?;
                return Err(Stop::Cancelled);
            }
            Err(other) => Failure::Encoder(other),
        };
        let now = std::fs::metadata(input).ok().map(|m| FileId::of(&m));
        let free = temp
            .parent()
            .and_then(|d| crate::process::free_bytes(d).ok());
        let classified = failure::classify(failed, source.id, now, free);
        // A full disk or a changed source would fail on the CPU too.
        if i == last || !matches!(classified, Failure::Encoder(_)) {
            return Err(classified.into());
        }
        super::remove_temp(temp);
        let why = classified.explain();
        ctx.log(
            LogLevel::Warning,
            format!(
                "{} encode with {} on {} failed ({}: {}); encoding again on the CPU",
                t.backend,
                t.encoder,
                t.device.as_deref().unwrap_or("?"),
                why.code,
                why.summary
            ),
        )
        .await;
    }
    // The tries always end with the CPU, which returns above.
    Err(Failure::Internal {
        summary: "No encoder was tried.",
        detail: "The list of encoders for this job was empty.".into(),
    }
    .into())
}

/// How a run of ffmpeg that did not fail ended.
enum Ran {
    Done,
    /// Stopped early: the output would not have saved enough.
    Abandoned(Explanation),
}

/// What the early savings check needs.
struct SavingsWatch {
    temp: PathBuf,
    source_size: u64,
    /// 0 turns the early abort off (remuxes).
    min_saving_percent: u8,
    /// Input seconds (0 when unknown: no progress, no early abort).
    duration: f64,
}

impl SavingsWatch {
    /// Stat the temp file and project; `Some` when the encode should stop.
    fn check(&self, fraction: f64) -> Option<Explanation> {
        if self.min_saving_percent == 0 || self.duration <= 0.0 {
            return None;
        }
        let written = std::fs::metadata(&self.temp).map(|m| m.len()).ok()?;
        match savings::project(fraction, written, self.source_size, self.min_saving_percent) {
            Verdict::Continue => None,
            Verdict::Abort {
                projected_bytes,
                limit_bytes,
            } => Some(savings::explain(
                fraction,
                written,
                self.source_size,
                projected_bytes,
                limit_bytes,
                self.min_saving_percent,
            )),
        }
    }
}

/// Run ffmpeg on a blocking thread, reporting pid, progress and warnings.
async fn run_ffmpeg(
    ctx: &JobContext,
    argv: Vec<OsString>,
    watch: SavingsWatch,
    source_fd: std::os::fd::RawFd,
) -> Result<Ran, RunError> {
    let id = ctx.id();
    let opts = RunOptions {
        ffmpeg: ctx.tools.ffmpeg.clone(),
        priority: ctx.priority,
        duration: watch.duration,
        pass_fd: Some(source_fd),
    };
    let cancel: &CancellationToken = ctx.slot.cancel_token();
    // A child token: stopping for savings must not look like the user's cancel.
    let stop = cancel.child_token();
    let parent = cancel.clone();
    let (slot, events, store) = (
        ctx.slot.clone(),
        ctx.ledger.events().clone(),
        ctx.ledger.store().clone(),
    );
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        let mut warnings: Vec<(LogLevel, String)> = Vec::new();
        let mut abandoned: Option<Explanation> = None;
        let mut on_event = |event: RunEvent| match event {
            RunEvent::Started { pid } => slot.started(pid),
            RunEvent::Progress(p) => {
                slot.progress(p.percent);
                if abandoned.is_none()
                    && let Some(x) = watch.check(p.percent / 100.0)
                {
                    abandoned = Some(x);
                    stop.cancel();
                }
                events.publish(Event::Progress {
                    job_id: id,
                    percent: p.percent,
                    fps: p.fps,
                    speed: p.speed,
                    out_time_seconds: p.out_time_seconds,
                    eta_seconds: p.eta_seconds,
                });
            }
            RunEvent::Log(line) => {
                events.publish(Event::Log {
                    job_id: Some(id),
                    level: LogLevel::Warning,
                    message: line.clone(),
                });
                warnings.push((LogLevel::Warning, line));
            }
        };
        let result = crate::media::run::run_ffmpeg(&opts, argv, &stop, &mut on_event);
        if let Err(e) = store.append_logs(id, &warnings) {
            tracing::warn!(error = %e, "could not store ffmpeg warnings");
        }
        match (result, abandoned) {
            (Err(RunError::Cancelled), Some(x)) if !parent.is_cancelled() => Ok(Ran::Abandoned(x)),
            (Err(e), _) => Err(e),
            (Ok(_), _) => Ok(Ran::Done),
        }
    })
    .await
    .map_err(|e| RunError::Spawn(std::io::Error::other(e.to_string())))?
}
