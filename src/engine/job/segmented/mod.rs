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

mod folder;

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use super::encode::{Try, log_argv};
use super::ffmpeg::{self, Ran, SavingsWatch};
use super::stages::{Planned, Source};
use super::target::fd_path;
use super::{JobContext, Progress};
use crate::engine::failure::Failure;
use crate::media::run::RunError;
use crate::media::segments::{self as seg, Range};
use crate::media::verify::sync;
use crate::media::{MediaInfo, args, savings};
use crate::model::LogLevel;
pub(super) use folder::{discard, hold_folder};
pub(crate) use folder::{discard_of, sweep};
use folder::{finish_segment, new_file, open_folder};

/// The ranges this job's try is encoded in; `None`: one piece (a remux, a short source, or
/// segmenting turned off).
pub(super) fn ranges(ctx: &JobContext, planned: &Planned, info: &MediaInfo) -> Option<Vec<Range>> {
    planned.plan.video.as_ref()?;
    seg::plan_ranges(info.duration, ctx.segment_seconds, ctx.segment_min_seconds)
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
