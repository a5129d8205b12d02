//! A long encode in segments (`media::segments`), so a crash, a power loss or a reboot costs
//! at most the segment under way: each time range of the video is encoded by its own ffmpeg
//! run (the try's own backend arguments, with input seeking added) into the job's hidden
//! segment folder beside the output; a finished segment is fsynced and renamed from
//! `NNNNN.part` to `NNNNN.<ext>`, so what a crash leaves complete is complete. A run that finds
//! complete segments made for the same arguments, ranges and source (the manifest's
//! fingerprint) starts at the first missing one and says so in the job log. The last step
//! joins the segments with the concat demuxer into the job's temp file, taking audio,
//! subtitles and the rest from the source, and the joined file then goes through the same
//! checks as a one-piece encode plus the A/V sync check ([`check_sync`]).
//!
//! The source is only read. The folder is registered in the store before it is made, kept
//! when the run is interrupted (the job goes back to the queue and resumes), and removed when
//! the job ends any other way ([`discard`]) or, at boot, when no queued job owns it
//! ([`sweep`]).

use std::io::{self, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::encode::{Try, log_argv};
use super::ffmpeg::{self, Ran, SavingsWatch};
use super::stages::{Planned, Source};
use super::target::{Made, fd_path};
use super::{JobContext, Progress};
use crate::engine::failure::Failure;
use crate::media::run::RunError;
use crate::media::segments::{self as seg, Range};
use crate::media::verify::sync;
use crate::media::{MediaInfo, args, paths, savings};
use crate::model::{JobId, LogLevel, now_ms};
use crate::store::{SegmentsEntry, Store};

/// The ranges this job's try is encoded in; `None`: one piece (a remux, a short source, or
/// segmenting turned off).
pub(super) fn ranges(ctx: &JobContext, planned: &Planned, info: &MediaInfo) -> Option<Vec<Range>> {
    planned.plan.video.as_ref()?;
    seg::plan_ranges(info.duration, ctx.segment_seconds, ctx.segment_min_seconds)
}

/// Record, make and open the run's segment folder in the output's folder as held (never
/// through its path again), before any encoder tries: a folder refused is the output
/// folder's failure, not an encoder's (which would count against the hardware).
pub(super) async fn hold_folder(ctx: &JobContext, run: &mut Progress) -> Result<(), Failure> {
    let Some(dir) = run.segments.clone() else {
        return Ok(());
    };
    let target = run.target.as_ref().ok_or_else(|| Failure::Internal {
        summary: "The segment folder could not be made.",
        detail: "no output folder yet".into(),
    })?;
    let outer = target.dir().try_clone().map_err(Failure::Promote)?;
    let made = target.made().map_err(Failure::Promote)?;
    register(ctx, &dir).await.map_err(|e| Failure::Internal {
        summary: "The segment folder could not be recorded.",
        detail: e.to_string(),
    })?;
    // The clean-up at the end of the run goes through the output's folder as held too.
    run.segments_outer = Some(outer.try_clone().map_err(Failure::Promote)?);
    let name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let held = tokio::task::spawn_blocking(move || pin_folder(&outer, &name, made))
        .await
        .map_err(|e| Failure::Promote(io::Error::other(e.to_string())))?
        .map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => Failure::OutputLocation {
                why: format!("its segment folder {}: {e}", paths::shown(&dir)),
            },
            _ => Failure::Promote(e),
        })?;
    run.segments_held = Some(held);
    Ok(())
}

/// A new file `path` of ours (0600), whatever had its name removed first; `O_EXCL`, so a link
/// put in its place meanwhile is refused, not followed.
fn new_file(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

fn io_error(what: &str, e: io::Error) -> RunError {
    RunError::Spawn(io::Error::new(
        e.kind(),
        format!("segment folder: {what}: {e}"),
    ))
}

/// Encode the missing segments and join them all into `temp`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn encode(
    ctx: &JobContext,
    planned: &Planned,
    info: &MediaInfo,
    source: &Source,
    temp: &Path,
    ranges: &[Range],
    t: &Try<'_>,
    run: &mut Progress,
) -> Result<Ran, RunError> {
    let plan = &planned.plan;
    let ext = plan.container.extension();
    let fd = source.file.as_raw_fd();
    let read_from = crate::process::fd_path(fd);
    let video = seg::video_only(plan);
    let template = t
        .build
        .argv(&video, Path::new("/in"), Path::new("/out"))
        .map_err(|e| RunError::Spawn(io::Error::other(e)))?;
    // Cut between the source's frames (`media::segments::align`): where its video starts
    // and its frame rate.
    let audio = planned.plan.audio.first().map_or(0, |a| a.input_index);
    let edges = sync::edges(&ctx.tools.ffprobe, &source.path, info.duration, audio)
        .await
        .map_err(|e| RunError::Spawn(io::Error::other(e.explanation().detail)))?;
    let video_start = edges.video.0 - edges.start;
    let fps = info.video.as_ref().and_then(|v| v.fps);
    let ranges = &seg::align(ranges, fps, video_start);
    let meta = source.file.metadata().map_err(|e| io_error("source", e))?;
    let fingerprint = seg::fingerprint(
        &template,
        ranges,
        [
            std::os::unix::fs::MetadataExt::dev(&meta),
            source.id.inode,
            source.id.size,
            source.id.mtime_ns as u64,
        ],
    );
    let count = ranges.len();
    // Reached through its descriptor (`hold_folder`); `dir` stays the name the store knows.
    let Some(held) = &run.segments_held else {
        return Err(io_error("not held", io::Error::other("no segment folder")));
    };
    let dir = fd_path(held);
    let d = dir.clone();
    let complete = tokio::task::spawn_blocking(move || open_folder(&d, &fingerprint, count, ext))
        .await
        .map_err(|e| RunError::Spawn(io::Error::other(e.to_string())))?
        .map_err(|e| io_error("prepare", e))?;
    let total = info.duration;
    let (first, reused) = seg::resume_point(ranges, complete);
    if first > 0 {
        ctx.log(
            LogLevel::Info,
            format!(
                "resumed from segment {} of {count} ({reused:.3} s reused): {first} segment(s) \
                 encoded before the restart are kept",
                first + 1
            ),
        )
        .await;
        ctx.slot
            .progress((reused / total * 100.0).clamp(0.0, 100.0));
    } else {
        ctx.log(
            LogLevel::Info,
            format!(
                "encoding in {count} segments of up to {} s",
                ctx.segment_seconds
            ),
        )
        .await;
    }
    for (i, range) in ranges.iter().enumerate().skip(first) {
        if ctx.slot.cancel_token().is_cancelled() {
            return Err(RunError::Cancelled);
        }
        // Made by us, and handed to ffmpeg open: a link in its name is never followed.
        let named = dir.join(seg::part_name(i));
        let part_file = new_file(&named).map_err(|e| io_error("a segment", e))?;
        let part = fd_path(&part_file);
        let last = i + 1 == count;
        let argv = t
            .build
            .argv(&video, &read_from, &part)
            .map_err(|e| RunError::Spawn(io::Error::other(e)))?;
        let argv = seg::segment_argv(argv, *range, last);
        ctx.log(
            LogLevel::Info,
            format!(
                "segment {} of {count} started ({:.3} s to {:.3} s)",
                i + 1,
                range.start,
                range.start + range.length
            ),
        )
        .await;
        if i == first {
            log_argv(ctx, &argv).await;
        }
        let watch = SavingsWatch {
            temp: part.clone(),
            source_size: source.size,
            min_saving_percent: 0,
            duration: if last {
                total - range.start
            } else {
                range.length
            },
            span: Some((range.start, total)),
        };
        match ffmpeg::run(ctx, argv, watch, fd, t.stall).await? {
            Ran::Done => {}
            other => return Ok(other),
        }
        drop(part_file);
        let (from, to) = (named, dir.join(seg::segment_name(i, ext)));
        let written = tokio::task::spawn_blocking(move || finish_segment(&from, &to))
            .await
            .map_err(|e| RunError::Spawn(io::Error::other(e.to_string())))?
            .map_err(|e| io_error("finish a segment", e))?;
        // The early savings check, over the segments so far.
        let fraction = ((range.start + range.length) / total).min(1.0);
        let min = planned.profile.min_saving_percent;
        if let savings::Verdict::Abort {
            projected_bytes,
            limit_bytes,
        } = savings::project(fraction, written, source.size, min)
            && !last
        {
            return Ok(Ran::Abandoned(savings::explain(
                fraction,
                written,
                source.size,
                projected_bytes,
                limit_bytes,
                min,
            )));
        }
    }
    let list = dir.join(seg::CONCAT_LIST);
    new_file(&list)
        .and_then(|mut f| f.write_all(seg::concat_list(ranges, ext).as_bytes()))
        .map_err(|e| io_error("list", e))?;
    let argv = args::build_join_args(plan, &list, &read_from, temp, video_start.max(0.0));
    ctx.log(LogLevel::Info, format!("joining {count} segments"))
        .await;
    log_argv(ctx, &argv).await;
    let watch = SavingsWatch {
        temp: temp.to_path_buf(),
        source_size: source.size,
        min_saving_percent: 0,
        duration: total,
        // The whole source is encoded: the job's progress stays at 100 % while the join
        // copies it into one file, instead of running from 0 again.
        span: Some((total, total)),
    };
    ffmpeg::run(ctx, argv, watch, fd, t.stall).await
}

/// Record the folder in the store before it exists, so a crash cannot leave one unknown.
async fn register(ctx: &JobContext, dir: &Path) -> Result<(), RunError> {
    let entry = SegmentsEntry {
        job_id: ctx.id().0,
        dir: dir.to_path_buf(),
        created_at: now_ms(),
    };
    ctx.ledger
        .store()
        .call(move |s| s.segments_put(&entry))
        .await
        .map_err(|e| RunError::Spawn(io::Error::other(e.to_string())))
}

/// Make the segment folder `name` in the output's folder `outer`, and open it, refusing a link
/// in its place. Only this process may write in it: a folder of that name owned by someone
/// else than what we make there (put in place to plant links to files ffmpeg would then
/// write as root) is refused, as is one others may write in that cannot be closed to them;
/// one of ours from an earlier run is kept (to resume) and closed to others. On a filesystem
/// without real owners and modes (`made` tells), what it shows is what it shows for ours too.
fn pin_folder(outer: &OwnedFd, name: &std::ffi::OsStr, made: Made) -> io::Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    match rustix::fs::mkdirat(outer, name, Mode::from_bits_truncate(0o700)) {
        Ok(()) => rustix::fs::fsync(outer)?,
        Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(e.into()),
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let dir = rustix::fs::openat(outer, name, flags, Mode::empty())?;
    let refused = |why: &str| io::Error::new(io::ErrorKind::PermissionDenied, why.to_string());
    let st = rustix::fs::fstat(&dir)?;
    if st.st_uid != made.uid {
        return Err(refused(
            "a folder of its name that another user made is in the way",
        ));
    }
    if st.st_mode & 0o777 != 0o700 {
        // Refused by a filesystem without modes: what it then shows is checked below.
        let _ = rustix::fs::fchmod(&dir, Mode::from_bits_truncate(0o700));
    }
    let st = rustix::fs::fstat(&dir)?;
    if st.st_mode & 0o022 != 0 && made.modes_kept {
        return Err(refused(
            "a folder of its name that others may write in is in the way",
        ));
    }
    Ok(dir)
}

/// Fill the segment folder (reached as `dir`), or reuse it when its manifest is this run's;
/// anything but the complete prefix of segments (a part file, a segment after a gap, another
/// run's files) is removed.
/// Returns how many segments are complete.
fn open_folder(dir: &Path, fingerprint: &str, count: usize, ext: &str) -> io::Result<usize> {
    let manifest = dir.join(seg::MANIFEST);
    let same = std::fs::read_to_string(&manifest).is_ok_and(|m| m.trim() == fingerprint);
    if !same {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                std::fs::remove_dir_all(e.path())?;
            } else {
                std::fs::remove_file(e.path())?;
            }
        }
        let tmp = dir.join(".manifest.part");
        new_file(&tmp)?.write_all(fingerprint.as_bytes())?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &manifest)?;
        std::fs::File::open(dir)?.sync_all()?;
        return Ok(0);
    }
    let names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let complete = seg::complete_prefix(&names, count, ext);
    let keep: Vec<String> = (0..complete).map(|i| seg::segment_name(i, ext)).collect();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if name != seg::MANIFEST && !keep.iter().any(|k| name == k.as_str()) {
            std::fs::remove_file(e.path())?;
        }
    }
    Ok(complete)
}

/// fsync a finished segment, rename it to its complete name, fsync the folder; its size plus
/// the earlier segments' is returned.
fn finish_segment(part: &Path, done: &Path) -> io::Result<u64> {
    std::fs::File::open(part)?.sync_all()?;
    std::fs::rename(part, done)?;
    let dir = done.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()?;
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if name != seg::MANIFEST
            && name != seg::CONCAT_LIST
            && !name.to_string_lossy().ends_with(".part")
        {
            total += e.metadata()?.len();
        }
    }
    Ok(total)
}

fn sync_parent(dir: &Path) -> io::Result<()> {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => std::fs::File::open(p)?.sync_all(),
        _ => Ok(()),
    }
}

/// Remove a segment folder and what is in it (only ever one of ours, by its name).
fn clear(dir: &Path) -> io::Result<()> {
    if !paths::is_segments_dir(dir) {
        return Err(io::Error::other(
            "refusing to remove a folder that is not ours",
        ));
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => sync_parent(dir),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The job ended (completed, failed, cancelled, skipped): its segments are not needed again.
pub(super) async fn discard(store: &Store, id: JobId, dir: &Path) {
    let path = dir.to_path_buf();
    let had = tokio::task::spawn_blocking(move || {
        let had = path.exists();
        if let Err(e) = clear(&path) {
            tracing::warn!(path = ?path, error = %e, "could not remove the segments");
        }
        had
    })
    .await
    .unwrap_or(true);
    // Most jobs are never segmented: no store write for them.
    if !had {
        return;
    }
    if let Err(e) = store.call(move |s| s.segments_remove(id.0)).await {
        tracing::warn!(error = %e, "could not forget the segments");
    }
}

/// A queued job waiting to resume was cancelled: its segments go.
pub(crate) async fn discard_of(store: &Store, id: JobId) {
    match store.call(move |s| s.segments_get(id.0)).await {
        Ok(Some(entry)) => discard(store, id, &entry.dir).await,
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not look up the segments"),
    }
}

/// Boot recovery, after interrupted jobs went back to the queue: the segment folders of queued
/// jobs are kept (they resume); every other one (its job ended, was removed, or the folder
/// was left by a crash during clean-up) is removed. Returns the folders removed.
pub(crate) async fn sweep(store: &Store) -> Result<Vec<PathBuf>, crate::store::StoreError> {
    let entries = store.call(|s| s.segments_list()).await?;
    let mut removed = Vec::new();
    for entry in entries {
        let id = JobId(entry.job_id);
        let keep = store
            .call(move |s| Ok(s.get_job(id).ok()))
            .await?
            .is_some_and(|j| j.status == crate::model::JobState::Queued && !j.archived);
        if keep && entry.dir.exists() {
            continue;
        }
        let dir = entry.dir.clone();
        let result = tokio::task::spawn_blocking(move || clear(&dir))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e.to_string())));
        if let Err(e) = result {
            tracing::warn!(path = ?entry.dir, error = %e, "could not remove orphaned segments");
            continue;
        }
        store.call(move |s| s.segments_remove(id.0)).await?;
        if !keep {
            removed.push(entry.dir);
        }
    }
    Ok(removed)
}

/// The A/V sync check of the joined output against the source (`media::verify::sync`).
pub(super) async fn check_sync(
    ctx: &JobContext,
    planned: &Planned,
    info: &MediaInfo,
    source: &Source,
    temp: &Path,
    output_duration: f64,
) -> Result<(), Failure> {
    let Some(track) = planned.plan.audio.first() else {
        return Ok(());
    };
    let ffprobe = &ctx.tools.ffprobe;
    let src = sync::edges(ffprobe, &source.path, info.duration, track.input_index)
        .await
        .map_err(Failure::Verify)?;
    let out = sync::edges(ffprobe, temp, output_duration, 0)
        .await
        .map_err(Failure::Verify)?;
    let frame = info
        .video
        .as_ref()
        .and_then(|v| v.fps)
        .filter(|f| *f > 0.0)
        .map_or(0.04, |f| 1.0 / f);
    sync::check_sync(&src, &out, frame).map_err(Failure::Verify)?;
    ctx.log(
        LogLevel::Info,
        format!(
            "joined output in sync: video minus audio at start {:+.3} s, at end {:+.3} s \
             (source {:+.3} s, {:+.3} s)",
            out.video.0 - out.audio.map_or(out.video.0, |a| a.0),
            out.video.1 - out.audio.map_or(out.video.1, |a| a.1),
            src.video.0 - src.audio.map_or(src.video.0, |a| a.0),
            src.video.1 - src.audio.map_or(src.video.1, |a| a.1),
        ),
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn open_dir(path: &Path) -> OwnedFd {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::open(path, flags, Mode::empty()).unwrap()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_segment_folder_is_ours_alone_or_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let outer = open_dir(tmp.path());
        let name = std::ffi::OsStr::new(".film.mkv.alchemist-seg-3");
        let dir = tmp.path().join(name);
        let me = Made {
            uid: rustix::process::geteuid().as_raw(),
            modes_kept: true,
        };

        // Made closed to others.
        pin_folder(&outer, name, me).unwrap();
        assert_eq!(mode(&dir), 0o700);

        // One of ours from an older release (0755), or opened to others, is kept and closed.
        std::fs::write(dir.join("00000.mkv"), b"segment").unwrap();
        for open in [0o755, 0o777] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(open)).unwrap();
            pin_folder(&outer, name, me).unwrap();
            assert_eq!(mode(&dir), 0o700);
        }
        assert!(dir.join("00000.mkv").exists());

        // One another user made (planted to hold links) is refused.
        let someone = Made {
            uid: me.uid.wrapping_add(1),
            ..me
        };
        let err = pin_folder(&outer, name, someone).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");

        // A link in its place is refused.
        std::fs::remove_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(tmp.path(), &dir).unwrap();
        assert!(pin_folder(&outer, name, me).is_err());
    }
}
