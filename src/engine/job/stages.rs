//! The stages of a run, in order, and [`pipeline`], which chains them with `?`. Each stage
//! takes what the ones before it produced; only `decide` and `prepare` change the job's state
//! (through the ledger), `choose_hardware` picks the hardware encoder (and plans a V4L2 job for
//! MP4), only `encode` runs ffmpeg and checks its output, only `promote` and the originals
//! policy move files.

use std::path::PathBuf;

use super::backend::{self, HwTarget};
use super::encode::{self, Encoded};
use super::target::Promoted;
use super::{Completed, JobContext, Progress, Stop};
use crate::engine::failure::{Failure, FileId};
use crate::engine::{originals, probes};
use crate::events::Event;
use crate::media::plan::{Decision, OutputContainer, Plan};
use crate::media::{MediaInfo, paths, plan};
use crate::model::{JobEvent, LogLevel};
use crate::profiles::Profile;
use crate::store::EncodeStats;

/// The source as the run found it, open: ffmpeg reads this very file (`/proc/self/fd/N`), so a
/// swap of the path after the checks cannot change what is encoded.
#[derive(Debug)]
pub(super) struct Source {
    pub path: PathBuf,
    pub size: u64,
    pub id: FileId,
    pub file: std::fs::File,
    /// The folder the file was opened in (see `source::open_pinned`): an output beside the
    /// source is written there.
    pub dir: std::os::fd::OwnedFd,
    /// Permission bits, owner and group: the output gets the same, never wider.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// What `decide` chose.
pub(super) struct Planned {
    pub plan: Plan,
    pub profile: Profile,
    pub(super) profile_name: String,
    /// The library folder holding the source (what an `output_root` mirrors).
    pub(super) library: Option<PathBuf>,
    pub(super) event: JobEvent,
    pub(super) action: String,
    pub(super) explanation: crate::model::Explanation,
    pub(super) metadata: Option<serde_json::Value>,
}

/// The whole run, stage by stage.
pub(super) async fn pipeline(ctx: &JobContext, run: &mut Progress) -> Result<Completed, Stop> {
    let input = &ctx.job.input_path;
    ctx.log(LogLevel::Info, format!("analysing {}", paths::shown(input)))
        .await;
    let source = open_source(ctx).await?;
    let info = probes::cached(ctx.ledger.store(), &ctx.tools.ffprobe, input, source.id)
        .await
        .map_err(Failure::Probe)?;
    ctx.check_stop()?;
    let mut planned = decide(ctx, &info).await?;
    // A quality target's CRF is found for the CPU encoder on samples: such a run stays there.
    let forecast = super::quality::search(ctx, &planned, &info, &source).await?;
    let (planned, hardware) = match &forecast {
        Some(f) => {
            if let Some(v) = planned.plan.video.as_mut() {
                v.crf = f.crf;
            }
            planned.explanation = f.record(planned.explanation.clone());
            (planned, None)
        }
        None => choose_hardware(ctx, planned, &info).await,
    };
    let (output, temp) = super::prepare::prepare(ctx, &source, &planned, run).await?;
    let (encoded, verified) =
        encode::encode(ctx, &planned, &info, &source, &temp, hardware, run).await?;
    ctx.check_stop()?;
    if let Some(f) = &forecast {
        super::quality::record_measured(ctx, f, planned.explanation.clone(), &source, &temp).await;
    }
    let output_size = promote(&source, run).await?;
    ctx.log(
        LogLevel::Info,
        format!("verified and saved as {}", paths::shown(&output)),
    )
    .await;
    let encoded_file = source
        .file
        .metadata()
        .map(|m| (std::os::unix::fs::MetadataExt::dev(&m), source.id.inode))
        .map_err(Failure::SourceGone)?;
    let (output, original) = originals::apply_policy(
        &ctx.ledger,
        ctx.id(),
        ctx.job.attempt_count,
        input,
        encoded_file,
        output,
        planned.profile.original,
    )
    .await;
    let duration = verified.duration.max(info.duration);
    let mut done = completed(&source, &planned, encoded, output, output_size, duration);
    done.original = original;
    Ok(done)
}

/// Open the source without following symbolic links anywhere below its library folder, and
/// check it is a regular file and the file the scan recorded (device and inode).
async fn open_source(ctx: &JobContext) -> Result<Source, Failure> {
    let root = match ctx.job.folder_id {
        Some(id) => ctx
            .ledger
            .store()
            .call(move |s| s.folder(id))
            .await?
            .map(|f| f.path),
        None => None,
    };
    let path = ctx.job.input_path.clone();
    let recorded = (ctx.job.input_dev, ctx.job.input_inode);
    tokio::task::spawn_blocking(move || super::source::open_checked(path, root, recorded))
        .await
        .map_err(|e| Failure::Internal {
            summary: "The source could not be looked at.",
            detail: e.to_string(),
        })?
}

/// Plan with the profile of the job's folder; a skip is recorded and ends the run.
async fn decide(ctx: &JobContext, info: &MediaInfo) -> Result<Planned, Stop> {
    let id = ctx.id();
    let (profile_name, mut profile, library) = ctx
        .profiles
        .for_path_in(&ctx.job.input_path, ctx.job.folder_id)
        .await;
    if ctx.threads > 0 {
        profile.threads = ctx.threads;
    }
    ctx.log(LogLevel::Info, format!("profile: {profile_name}"))
        .await;
    let caps = crate::engine::hardware::planner_capabilities(ctx.caps.as_deref());
    let decision = plan::plan(info, &profile, &caps);
    let explanation = decision.explanation();
    ctx.ledger.events().publish(Event::Decision {
        job_id: id,
        action: decision.action(),
        explanation: explanation.clone(),
    });
    ctx.log(
        LogLevel::Info,
        format!("decision: {} ({})", decision.action(), explanation.summary),
    )
    .await;
    let action = decision.action().to_string();
    let metadata = serde_json::to_value(info).ok();
    let (plan, event) = match decision {
        Decision::Skip(reason) => {
            let why = reason.explanation();
            ctx.ledger
                .store()
                .call(move |s| {
                    s.update_job(id, |j| {
                        j.metadata = metadata;
                        j.decision = Some(why);
                        j.decision_action = Some(action);
                        j.profile = Some(profile_name);
                        Ok(())
                    })
                })
                .await?;
            return Err(Stop::Skip(explanation));
        }
        Decision::Remux(plan) => (plan, JobEvent::StartRemux),
        Decision::Transcode(plan) => (plan, JobEvent::StartEncode),
    };
    Ok(Planned {
        plan,
        profile,
        profile_name,
        library,
        event,
        action,
        explanation,
        metadata,
    })
}

/// The hardware encoder for the plan (`backend`), when there is a verified, not demoted one.
/// A V4L2 encoder writes MP4 only: a plan for Matroska is made again for MP4 when nothing is
/// lost by it, else the CPU encodes the Matroska plan. Before `prepare`, which names the
/// output after the container.
async fn choose_hardware(
    ctx: &JobContext,
    mut planned: Planned,
    info: &MediaInfo,
) -> (Planned, Option<HwTarget>) {
    if let Some(t) = planned.plan.video.as_ref().and_then(|v| v.tonemap) {
        let line = format!(
            "tonemapping HDR to SDR with {}: encoded on the CPU (the hardware encoders are not \
             given tonemapping filters)",
            t.as_str()
        );
        ctx.log(LogLevel::Info, line).await;
        return (planned, None);
    }
    let Some(caps) = ctx.caps.as_deref() else {
        return (planned, None);
    };
    let demoted = ctx.hardware.demoted();
    let Some(target) = backend::hardware_target(&planned.plan, info.video.as_ref(), caps, &demoted)
    else {
        return (planned, None);
    };
    if !target.needs_mp4() || planned.plan.container == OutputContainer::Mp4 {
        return (planned, Some(target));
    }
    let planner = crate::engine::hardware::planner_capabilities(Some(caps));
    match backend::mp4_plan(info, &planned.profile, &planned.plan, &planner) {
        Ok(mp4) => {
            ctx.log(
                LogLevel::Info,
                format!(
                    "{} on {} writes MP4: ffmpeg's V4L2 encoders write no codec extradata, \
                     which Matroska needs in its header",
                    target.encoder, target.device
                ),
            )
            .await;
            planned.plan = mp4;
            (planned, Some(target))
        }
        Err(why) => {
            ctx.log(
                LogLevel::Info,
                format!(
                    "{} on {} not used: it can only write MP4, and {why}; encoding on the CPU",
                    target.encoder, target.device
                ),
            )
            .await;
            (planned, None)
        }
    }
}

/// Put the verified temp file in place (`Target::promote`: the source's permission bits and
/// owner, fsync, rename in the folder held, fsync the folder), provided the output's recorded
/// folder is still that folder. Returns the size.
async fn promote(source: &Source, run: &mut Progress) -> Result<u64, Failure> {
    let Some(target) = run.target.take() else {
        return Err(Failure::Promote(std::io::Error::other("no temp file")));
    };
    let (mode, uid, gid) = (source.mode & 0o777, source.uid, source.gid);
    let (done, target) = tokio::task::spawn_blocking(move || {
        let done = target.promote(mode, uid, gid);
        (done, target)
    })
    .await
    .map_err(|e| Failure::Promote(std::io::Error::other(e.to_string())))?;
    let failure = match done {
        Ok(Promoted::Done(size)) => return Ok(size),
        Ok(Promoted::NameTaken) => Failure::Promote(std::io::Error::other(
            "the temp file's name was taken over by another file during the encode",
        )),
        Ok(Promoted::FolderMoved) => Failure::OutputLocation {
            why: "its folder was moved or replaced while the file was encoded, so the output \
                  was not put in place"
                .into(),
        },
        Err(e) => Failure::Promote(e),
    };
    // Left for the clean-up, which removes only our own file, where it really is.
    run.target = Some(target);
    Err(failure)
}

/// The figures of a completed run.
fn completed(
    source: &Source,
    planned: &Planned,
    encoded: Encoded,
    output: PathBuf,
    output_size: u64,
    duration: f64,
) -> Completed {
    let input_size = source.size;
    let seconds = encoded.seconds;
    Completed {
        output,
        output_size,
        original: planned.profile.original,
        codec: planned.plan.target_codec().map_or_else(
            || planned.plan.output_codec.clone(),
            |c| c.as_str().to_string(),
        ),
        stats: EncodeStats {
            input_size_bytes: input_size,
            output_size_bytes: output_size,
            compression_ratio: if input_size > 0 {
                1.0 - output_size as f64 / input_size as f64
            } else {
                0.0
            },
            encode_time_seconds: seconds,
            encode_speed: if seconds > 0.0 {
                duration / seconds
            } else {
                0.0
            },
            avg_bitrate_kbps: if duration > 0.0 {
                output_size as f64 * 8.0 / duration / 1000.0
            } else {
                0.0
            },
            encoder: encoded.encoder,
            backend: encoded.backend,
            hardware_fallback: encoded.fallback,
        },
    }
}
