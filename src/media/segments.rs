//! Pure rules of segmented encodes, which let a long encode resume after a crash, a power loss
//! or a reboot instead of starting over. The video is encoded in time ranges of a few minutes,
//! each into its own file (`NNNNN.<ext>` once complete, `NNNNN.part` while written) in a hidden
//! folder beside the output; audio, subtitles, attachments, metadata and chapters are taken
//! from the source once, in the final mux that joins the segments with the concat demuxer
//! (`args::build_join_args`), so nothing can drift or click at a join.
//!
//! Cuts are exact and keyframe-aligned without touching the source: each range is encoded by
//! its own ffmpeg run with accurate input seeking (`-ss START` before the input, `-t LENGTH`
//! after it), so a segment holds exactly the frames whose time is in `[START, START+LENGTH)`
//! and begins with a keyframe (the first frame an encoder writes always is one). The argument
//! vector of each run is the backend's own (`args::build_args` and the hardware builders) for
//! the plan without audio and subtitles ([`video_only`]), with only the seek and the length
//! added ([`segment_argv`]): the builders stay the single source of encoder arguments.
//!
//! A folder is only reused for the run that made it: its manifest carries a fingerprint of the
//! argument template, the ranges and the source's identity ([`fingerprint`]). Complete
//! segments are a contiguous prefix ([`complete_prefix`]); the run resumes at the first missing
//! one ([`resume_point`]).

use std::ffi::OsString;

use sha2::Digest;

use super::plan::Plan;

/// One time range of the source, in seconds from its start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub start: f64,
    pub length: f64,
    /// Where ffmpeg seeks to for it (`-ss`): `start`, or a little before it once [`align`]ed.
    pub seek: f64,
}

impl Range {
    pub fn end(&self) -> f64 {
        self.start + self.length
    }
}

/// A last range shorter than this share of the segment length is folded into the one before:
/// a tiny tail segment would cost an ffmpeg start for almost nothing.
const MIN_TAIL_SHARE: f64 = 0.25;

/// The ranges a source of `duration` seconds is encoded in: `None` (one piece) when
/// `segment_seconds` is 0, the duration is unknown, shorter than `min_seconds`, or fits in one
/// segment. Boundaries are whole multiples of `segment_seconds`; the last range runs to the
/// end of the source.
pub fn plan_ranges(duration: f64, segment_seconds: u32, min_seconds: u32) -> Option<Vec<Range>> {
    let length = f64::from(segment_seconds);
    if segment_seconds == 0
        || !duration.is_finite()
        || duration <= 0.0
        || duration < f64::from(min_seconds)
        || duration <= length
    {
        return None;
    }
    let mut starts: Vec<f64> = Vec::new();
    let mut at = 0.0;
    while at < duration {
        starts.push(at);
        at += length;
    }
    if let Some(&last) = starts.last()
        && starts.len() > 1
        && duration - last < length * MIN_TAIL_SHARE
    {
        starts.pop();
    }
    if starts.len() < 2 {
        return None;
    }
    let count = starts.len();
    Some(
        starts
            .iter()
            .enumerate()
            .map(|(i, &start)| Range {
                start,
                length: if i + 1 == count {
                    duration - start
                } else {
                    length
                },
                seek: start,
            })
            .collect(),
    )
}

/// Share of a frame the seek of an aligned range lies before its first frame.
const SEEK_LEAD: f64 = 0.25;

/// `ranges` cut between frames: ffmpeg rounds each frame's time to the encoder's time base
/// (one frame at a constant rate) before `-t` cuts, so a frame half a frame off the grid can
/// round past the end and be lost (or kept by two segments). Each boundary moves to the
/// nearest frame of the source's grid (`fps`, first frame `video_start` seconds after the
/// file's start) and the seek to a quarter frame before that frame: every frame then lands
/// on the encoder's grid, a quarter frame from where any rounding could move it across a cut,
/// and each range holds a whole number of frames. Without a frame rate the ranges only move by
/// `video_start`.
pub fn align(ranges: &[Range], fps: Option<f64>, video_start: f64) -> Vec<Range> {
    let v0 = video_start.max(0.0);
    let Some(fps) = fps.filter(|f| f.is_finite() && *f > 0.0) else {
        return ranges
            .iter()
            .map(|r| Range {
                start: r.start + v0,
                length: r.length,
                seek: r.start + v0,
            })
            .collect();
    };
    let frame = |t: f64| (t * fps).round();
    let count = ranges.len();
    ranges
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let first = frame(r.start);
            let start = v0 + first / fps;
            let length = if i + 1 == count {
                r.end() - first / fps
            } else {
                (frame(ranges[i + 1].start) - first) / fps
            };
            Range {
                start,
                length,
                seek: (start - SEEK_LEAD / fps).max(0.0),
            }
        })
        .collect()
}

/// The plan as a segment encodes it: the video alone (audio, subtitles and attachments come
/// from the source in the join).
pub fn video_only(plan: &Plan) -> Plan {
    let mut v = plan.clone();
    v.audio.clear();
    v.subtitles.clear();
    v.attachments = false;
    v
}

/// `argv` (a backend's whole vector, one input) with accurate input seeking to `range`:
/// `-ss SEEK` right before `-i` and `-t LENGTH` right after the input. The last range gets no
/// `-t`, so it runs to the source's true end whatever the probe's rounding of its duration.
pub fn segment_argv(argv: Vec<OsString>, range: Range, last: bool) -> Vec<OsString> {
    let Some(at) = argv.iter().position(|a| a == "-i") else {
        return argv;
    };
    let mut out = Vec::with_capacity(argv.len() + 4);
    out.extend_from_slice(&argv[..at]);
    out.push("-ss".into());
    out.push(seconds(range.seek).into());
    out.extend_from_slice(&argv[at..(at + 2).min(argv.len())]);
    if !last {
        out.push("-t".into());
        out.push(seconds(range.length).into());
    }
    out.extend_from_slice(&argv[(at + 2).min(argv.len())..]);
    out
}

/// Seconds as ffmpeg reads them, to the microsecond (its time base).
fn seconds(s: f64) -> String {
    format!("{s:.6}")
}

/// File name of complete segment `index`.
pub fn segment_name(index: usize, extension: &str) -> String {
    format!("{index:05}.{extension}")
}

/// File name of segment `index` while it is written.
pub fn part_name(index: usize) -> String {
    format!("{index:05}.part")
}

/// Name of the manifest file in a segment folder.
pub const MANIFEST: &str = "manifest.json";
/// Name of the concat list written for the join.
pub const CONCAT_LIST: &str = "join.ffconcat";

/// How many segments, from the first, are complete: the length of the prefix of
/// `0..count` whose names are all in `present`. A later segment present after a gap (which a
/// crash cannot leave, as segments complete in order) is not counted.
pub fn complete_prefix(present: &[String], count: usize, extension: &str) -> usize {
    (0..count)
        .take_while(|&i| present.iter().any(|p| *p == segment_name(i, extension)))
        .count()
}

/// Where a run starts: the first segment not complete, and the source seconds already
/// encoded before it.
pub fn resume_point(ranges: &[Range], complete: usize) -> (usize, f64) {
    let index = complete.min(ranges.len());
    let reused = ranges[..index].iter().map(|r| r.length).sum();
    (index, reused)
}

/// The concat demuxer's list of the segments, by relative name (resolved against the list's
/// own folder, so no path of the library is written into it), each with its planned length:
/// the next one starts exactly where the range ends, not where a container's rounding of the
/// file's duration puts it.
pub fn concat_list(ranges: &[Range], extension: &str) -> String {
    let mut list = String::from("ffconcat version 1.0\n");
    let count = ranges.len();
    for (i, r) in ranges.iter().enumerate() {
        list.push_str(&format!("file '{}'\n", segment_name(i, extension)));
        if i + 1 < count {
            list.push_str(&format!("duration {}\n", seconds(r.length)));
        }
    }
    list
}

/// What a segment folder was made for: the argument template (with fixed stand-ins for the
/// input and output paths), the ranges and the source's identity (device, inode, size, mtime).
/// A folder whose manifest holds another fingerprint is started over.
pub fn fingerprint(template: &[OsString], ranges: &[Range], source: [u64; 4]) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut h = sha2::Sha256::new();
    h.update(b"alchemist-segments-1\0");
    for a in template {
        h.update(a.as_bytes());
        h.update(b"\0");
    }
    for r in ranges {
        h.update(seconds(r.start).as_bytes());
        h.update(b"@");
        h.update(seconds(r.seek).as_bytes());
        h.update(b"+");
        h.update(seconds(r.length).as_bytes());
        h.update(b"\0");
    }
    for n in source {
        h.update(n.to_le_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
#[path = "segments_tests.rs"]
mod tests;
