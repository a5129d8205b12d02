//! The stages of a run, in order, and [`pipeline`], which chains them with `?`. Each stage
//! takes what the ones before it produced; only `decide` and `prepare` change the job's state
//! (through the ledger), `choose_hardware` picks the hardware encoder (and plans a V4L2 job for
//! MP4), only `encode` runs ffmpeg and checks its output, only `promote` and the originals
//! policy move files.

use std::path::{Path, PathBuf};

use super::backend::{self, HwTarget};
use super::encode::{self, Encoded};
use super::target::{Promoted, Target};
use super::{Completed, JobContext, Progress, Stop};
use crate::engine::failure::{self, Failure, FileId};
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
    profile_name: String,
    /// The library folder holding the source (what an `output_root` mirrors).
    library: Option<PathBuf>,
    event: JobEvent,
    action: String,
    explanation: crate::model::Explanation,
    metadata: Option<serde_json::Value>,
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
    let (output, temp) = prepare(ctx, &source, &planned, run).await?;
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

/// Name the output (beside the source, or under the profile's output root) and its temp file
/// beside it, create (and hold open) the output's folder, check there is room on its
/// filesystem, create the temp file (held in `run` from then on, so the clean-up removes it
/// however the run ends), and move the job to encoding (or remuxing). Returns the output's
/// path and the temp file's path as ffmpeg writes it.
async fn prepare(
    ctx: &JobContext,
    source: &Source,
    planned: &Planned,
    run: &mut Progress,
) -> Result<(PathBuf, PathBuf), Stop> {
    let min_saving = planned.profile.min_saving_percent;
    let location = &planned.profile.output;
    let output = paths::output_path_for(
        &source.path,
        planned.plan.container,
        &location.output_suffix,
        location.output_root.as_deref(),
        planned.library.as_deref(),
    );
    if output == source.path {
        // Never reached with a validated profile (a suffix is required beside the source);
        // renaming over the source would destroy it, so this is refused whatever happened.
        return Err(Failure::OutputLocation {
            why: format!(
                "the output would replace the source {}",
                paths::shown(&source.path)
            ),
        }
        .into());
    }
    let dir = if location.output_root.is_some() {
        output_folder(ctx, location, &output).await?
    } else {
        source.dir.try_clone().map_err(Failure::Promote)?
    };
    if let Ok(free) = crate::process::free_bytes(&super::target::fd_path(&dir))
        && let Some(why) = failure::space_guard(free, source.size, min_saving)
    {
        return Err(why.into());
    }
    let temp = paths::temp_path(&output, ctx.id());
    let longest = output.as_os_str().len().max(temp.as_os_str().len());
    if longest >= libc::PATH_MAX as usize {
        return Err(Failure::NameTooLong { bytes: longest }.into());
    }
    run.segments = Some(paths::segments_dir(&output, ctx.id()));
    let (out, tmp) = (output.clone(), temp.clone());
    let target = tokio::task::spawn_blocking(move || Target::create(dir, out, tmp))
        .await
        .map_err(|e| Failure::Internal {
            summary: "The temp file could not be created.",
            detail: e.to_string(),
        })?
        .map_err(|e| match e.raw_os_error() {
            // What another attempt would meet again: the folder refuses the file.
            Some(
                libc::EACCES
                | libc::EPERM
                | libc::EROFS
                | libc::EISDIR
                | libc::ENOTDIR
                | libc::ELOOP
                | libc::EEXIST
                | libc::ENAMETOOLONG,
            ) => Failure::OutputLocation {
                why: format!("the temp file could not be created in its folder: {e}"),
            },
            // Space, a share's hiccup, too many open files: retried.
            _ => Failure::Promote(e),
        })?;
    let temp_path = target.temp_path();
    let temp_id = target.temp_id().ok();
    run.target = Some(target);
    let id = ctx.id();
    let (event, out, tmp) = (planned.event, output.clone(), temp.clone());
    let (metadata, why, action, profile) = (
        planned.metadata.clone(),
        planned.explanation.clone(),
        planned.action.clone(),
        planned.profile_name.clone(),
    );
    ctx.ledger
        .apply(move |s| {
            s.transition_job(id, event, |j| {
                j.metadata = metadata;
                j.decision = Some(why);
                j.decision_action = Some(action);
                j.profile = Some(profile);
                j.output_path = Some(out);
                j.temp_path = Some(tmp);
                j.temp_file = temp_id;
            })
        })
        .await?;
    Ok((output, temp_path))
}

/// An output root must still be outside every library folder (one may have been added since
/// the profile was saved: its outputs would be scanned and encoded again) and still allowed
/// by the library policy as it resolves now (a link put in place since the save must not
/// lead the output, written as root, elsewhere); the output's folder is created (mirroring
/// the library's layout), checked as made, and returned open as checked.
async fn output_folder(
    ctx: &JobContext,
    location: &crate::profiles::OutputLocation,
    output: &Path,
) -> Result<std::os::fd::OwnedFd, Failure> {
    let folders = ctx.ledger.store().call(|s| s.folders()).await?;
    // It resolves links: file system calls, off the runtime (a share may hang).
    let (loc, profiles) = (location.clone(), ctx.profiles.clone());
    let dir = output.parent().map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || {
        if let Some(root) = loc.output_root.as_deref() {
            // The root's form again (no `..`): a stored profile, a restored one among them,
            // is not checked on reading.
            loc.validate(crate::model::OriginalPolicy::Keep)
                .map_err(|e| e.to_string())?;
            if let Some(why) = profiles.output_refused(root) {
                return Err(why);
            }
        }
        loc.check_folders(folders.iter().map(|f| f.path.as_path()))
            .map_err(|e| e.to_string())?;
        let (Some(dir), Some(root)) = (dir, loc.output_root.as_deref()) else {
            return Err("it names no folder".to_string());
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("its folder could not be created: {e}"))?;
        // The folder as made: a link below the root (a share's `Movies` turned into a link
        // to `/etc`) must not take the output elsewhere.
        let real = std::fs::canonicalize(&dir)
            .map_err(|e| format!("its folder could not be read back: {e}"))?;
        let real_root = crate::profiles::resolved(root);
        if !real.starts_with(&real_root) {
            return Err(format!(
                "its folder {} leads out of the output root to {}",
                dir.display(),
                real.display()
            ));
        }
        if let Some(why) = profiles.output_refused(&real) {
            return Err(why);
        }
        // Opened as checked: with links refused anywhere on the way, a link put in place
        // since the check fails here instead of leading the writes elsewhere.
        open_resolved_dir(&real)
            .map_err(|e| format!("its folder {} could not be opened: {e}", real.display()))
    })
    .await
    .map_err(|e| Failure::Promote(std::io::Error::other(e.to_string())))?
    .map_err(|why| Failure::OutputLocation { why })
}

/// Open the folder at `path`, a path with every link resolved, refusing any link on the way
/// (a kernel without `openat2` opens it as a plain folder).
fn open_resolved_dir(path: &Path) -> std::io::Result<std::os::fd::OwnedFd> {
    use rustix::fs::{CWD, Mode, OFlags, ResolveFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    match rustix::fs::openat2(CWD, path, flags, Mode::empty(), resolve) {
        Err(rustix::io::Errno::NOSYS) => Ok(rustix::fs::open(path, flags, Mode::empty())?),
        other => Ok(other?),
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
