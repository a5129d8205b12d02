//! The encode stage: on the hardware the capabilities chose (`backend`), then once more on the
//! CPU when the hardware try fails for reasons of its own, or straight on the CPU. Each try
//! runs ffmpeg (`ffmpeg`; a long source in resumable segments, `segmented`, with the same
//! backend's arguments), then checks the temp file (`check`: the final size against the
//! minimum saving, the source unchanged, verification); a job ends with a verified output or
//! the reason it has none. What sends a hardware try to the CPU: its ffmpeg failed, stalled
//! (killed after the stall timeout), or wrote an output that does not verify, which are the
//! hardware's faults and count towards its demotion (`engine::hardware`); or its output
//! would not save enough, which a CPU encoder often does better and is no fault. What does not:
//! a full disk, a changed source or a cancel, which the CPU would meet too. The reason is kept
//! in the job log and in the result's `hardware_fallback`.

use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use super::backend::HwTarget;
use super::ffmpeg::{self, Ran, SavingsWatch};
use super::stages::{Planned, Source};
use super::{JobContext, Progress, Stop, check, segmented};
use crate::engine::failure::{self, Failure, FileId};
use crate::engine::hardware::{self, DEMOTE_AFTER};
use crate::media::run::RunError;
use crate::media::{MediaInfo, args};
use crate::model::{Backend, Explanation, LogLevel};

/// How an encode went.
pub(super) struct Encoded {
    pub backend: Backend,
    pub encoder: String,
    /// Wall seconds of the try that succeeded.
    pub seconds: f64,
    /// Why a hardware try was given up for the CPU, when it was.
    pub fallback: Option<Explanation>,
}

/// One encode to try.
pub(super) struct Try<'a> {
    pub backend: Backend,
    pub encoder: &'a str,
    /// Whose argument builder makes its ffmpeg runs.
    pub build: Build<'a>,
    /// The stall watch's limit (hardware tries only).
    pub stall: Option<Duration>,
}

/// The argument builder of a try's backend (`media::args`, through `backend` for hardware):
/// the single source of encoder arguments, for a one-piece encode and for each segment alike.
pub(super) enum Build<'a> {
    Cpu,
    Hardware(&'a HwTarget),
}

impl Build<'_> {
    pub fn argv(
        &self,
        plan: &crate::media::plan::Plan,
        input: &Path,
        output: &Path,
    ) -> Result<Vec<std::ffi::OsString>, String> {
        match self {
            Build::Cpu => Ok(args::build_args(plan, input, output)),
            Build::Hardware(target) => target.argv(plan, input, output),
        }
    }
}

/// How a try ended, when it did not end the job.
enum TryEnd {
    /// A verified output is in the temp file.
    Verified(Box<(Encoded, MediaInfo)>),
    /// The encoder could not make a usable output. `fault`: its own doing (failed, stalled,
    /// unverifiable), not a too-large output. `stop` is how the job ends if no try is left.
    Failed {
        why: Explanation,
        fault: bool,
        stop: Stop,
    },
}

/// Encode into `temp`, on `hardware` first when given; returns the encode and the verified
/// output's facts.
pub(super) async fn encode(
    ctx: &JobContext,
    planned: &Planned,
    info: &MediaInfo,
    source: &Source,
    temp: &Path,
    hardware: Option<HwTarget>,
    run: &mut Progress,
) -> Result<(Encoded, MediaInfo), Stop> {
    let plan = &planned.plan;
    // ffmpeg reads the file the run opened and checked, not whatever the path names now.
    let read_from = crate::process::fd_path(source.file.as_raw_fd());
    if segmented::ranges(ctx, planned, info).is_some() {
        segmented::hold_folder(ctx, run).await?;
    }
    let mut fallback = None;
    if let Some(target) = hardware {
        match target.argv(plan, &read_from, temp) {
            Ok(_) => {
                let t = Try {
                    backend: target.backend,
                    encoder: &target.encoder,
                    build: Build::Hardware(&target),
                    stall: Some(ctx.stall_timeout),
                };
                match one_try(ctx, planned, info, source, temp, t, run).await? {
                    TryEnd::Verified(done) => {
                        ctx.hardware.record_success(&target.key());
                        return Ok(*done);
                    }
                    TryEnd::Failed { why, fault, .. } => {
                        if let Some(Err(e)) = run.target.as_ref().map(|t| t.truncate()) {
                            tracing::warn!(error = %e, "could not empty the temp file");
                        }
                        give_up_hardware(ctx, &target, &why, fault).await;
                        fallback = Some(why);
                    }
                }
            }
            // `backend` checked the plan; a plan that changed since is encoded on the CPU.
            Err(e) => tracing::warn!(error = %e, "hardware arguments refused; using the CPU"),
        }
    }
    let encoder = plan.video.as_ref().map_or("copy", |v| v.encoder.as_str());
    let t = Try {
        backend: Backend::Cpu,
        encoder,
        build: Build::Cpu,
        stall: None,
    };
    match one_try(ctx, planned, info, source, temp, t, run).await? {
        TryEnd::Verified(done) => {
            let (mut encoded, verified) = *done;
            encoded.fallback = fallback;
            Ok((encoded, verified))
        }
        TryEnd::Failed { stop, .. } => Err(stop),
    }
}

/// The ffmpeg command line in the job log. Paths in the arguments may hold any byte: shown
/// escaped, they cannot forge a line.
pub(super) async fn log_argv(ctx: &JobContext, argv: &[std::ffi::OsString]) {
    let line = argv
        .iter()
        .map(|a| crate::model::escape_controls(&a.to_string_lossy()).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    ctx.log(LogLevel::Info, format!("ffmpeg {line}")).await;
}

/// Log why the hardware try is given up, count a fault towards demotion, and store the
/// demotions when this one demoted the encoder.
async fn give_up_hardware(ctx: &JobContext, target: &HwTarget, why: &Explanation, fault: bool) {
    ctx.log(
        LogLevel::Warning,
        format!(
            "{} encode with {} on {} failed ({}: {}); encoding again on the CPU",
            target.backend, target.encoder, target.device, why.code, why.summary
        ),
    )
    .await;
    if !fault {
        return;
    }
    let Some(demoted) = ctx.hardware.record_failure(&target.key(), why) else {
        return;
    };
    ctx.log(
        LogLevel::Warning,
        format!(
            "{} on {} failed {DEMOTE_AFTER} jobs in a row and is demoted: jobs use the next \
             backend until the hardware is probed again",
            target.encoder, target.device
        ),
    )
    .await;
    if let Some(caps) = &ctx.caps {
        hardware::store_demotions(ctx.ledger.store(), caps.probed_at.clone(), demoted).await;
    }
}

/// Run one try to a verified output, or to the reason it has none. `Err` ends the job at
/// once: a cancel, or a fault the next encoder would meet too (full disk, changed source).
async fn one_try(
    ctx: &JobContext,
    planned: &Planned,
    info: &MediaInfo,
    source: &Source,
    temp: &Path,
    t: Try<'_>,
    run: &mut Progress,
) -> Result<TryEnd, Stop> {
    run.encoder = Some(t.encoder.to_string());
    let started = Instant::now();
    let fd = source.file.as_raw_fd();
    let failed = |f: Failure| {
        Ok(TryEnd::Failed {
            why: f.explain(),
            fault: true,
            stop: f.into(),
        })
    };
    let skipped = |why: Explanation| {
        Ok(TryEnd::Failed {
            why: why.clone(),
            fault: false,
            stop: Stop::Skip(why),
        })
    };
    let ranges = segmented::ranges(ctx, planned, info);
    let ran = match &ranges {
        Some(ranges) => segmented::encode(ctx, planned, info, source, temp, ranges, &t, run).await,
        None => match t
            .build
            .argv(&planned.plan, &crate::process::fd_path(fd), temp)
        {
            Ok(argv) => {
                log_argv(ctx, &argv).await;
                let watch = SavingsWatch {
                    temp: temp.to_path_buf(),
                    source_size: source.size,
                    min_saving_percent: if planned.plan.video.is_some() {
                        planned.profile.min_saving_percent
                    } else {
                        0
                    },
                    duration: info.duration,
                    span: None,
                };
                ffmpeg::run(ctx, argv, watch, fd, t.stall).await
            }
            Err(e) => Err(RunError::Spawn(std::io::Error::other(e))),
        },
    };
    match ran {
        Ok(Ran::Done) => {}
        Ok(Ran::Abandoned(why)) => return skipped(why),
        Ok(Ran::Stalled { seconds, percent }) => {
            return failed(Failure::Stalled { seconds, percent });
        }
        Err(RunError::Cancelled) => {
            ctx.check_stop()?;
            return Err(Stop::Cancelled);
        }
        Err(other) => {
            let now = std::fs::metadata(&source.path).ok().map(|m| FileId::of(&m));
            let free = run
                .target
                .as_ref()
                .and_then(|t| crate::process::free_bytes(&t.dir_path()).ok());
            // A full disk or a changed source would fail on the CPU too.
            return match failure::classify(Failure::Encoder(other), source.id, now, free) {
                f @ Failure::Encoder(_) => failed(f),
                f => Err(f.into()),
            };
        }
    }
    ctx.check_stop()?;
    match check::output(planned, source, temp) {
        Ok(()) => {}
        Err(Stop::Skip(why)) => return skipped(why),
        Err(stop) => return Err(stop),
    }
    let mut verified = check::verify(ctx, &planned.plan, info, temp).await;
    if ranges.is_some()
        && let Ok(v) = &verified
    {
        // A joined output must also keep picture and sound together across the joins.
        verified = segmented::check_sync(ctx, planned, info, source, temp, v.duration)
            .await
            .map(|()| v.clone());
    }
    let verified = match verified {
        Ok(v) => v,
        Err(f @ Failure::Verify(_)) => return failed(f),
        Err(f) => return Err(f.into()),
    };
    Ok(TryEnd::Verified(Box::new((
        Encoded {
            backend: t.backend,
            encoder: t.encoder.to_string(),
            seconds: started.elapsed().as_secs_f64(),
            fallback: None,
        },
        verified,
    ))))
}
