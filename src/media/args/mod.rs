//! Pure construction of the ffmpeg argument vector for a [`Plan`], one file per backend (`cpu`,
//! `vaapi`, `v4l2`), all on the skeleton here (`assemble`), so stream handling is identical
//! whatever encodes the video. Arguments are data, never a shell string, and paths stay `OsStr`
//! so any filename works. The vector is the
//! whole command after the program name, except `-loglevel level+info`, which
//! `ffmpeg_sidecar::command::FfmpegCommand::new_with_path` always puts first; `-y`/`-nostdin`
//! here stop it from appending `-n`. Golden tests compare whole vectors.

mod cpu;
mod v4l2;
mod vaapi;

use std::ffi::{OsStr, OsString};
use std::path::Path;

use super::Disposition;
use super::plan::{AudioAction, OutputContainer, Plan, SubtitleAction, VideoEncode};

pub use cpu::build_args;
pub use v4l2::{V4l2ArgsError, V4l2Geometry, V4l2Options, build_v4l2_args};
pub use vaapi::{VaapiArgsError, VaapiOptions, build_vaapi_args};

/// `path` as an ffmpeg URL. The `file:` protocol prefix stops ffmpeg from reading a leading
/// `-` as an option or `name:` as another protocol (`concat:`, `http:`); nothing is escaped.
pub fn file_url(path: &Path) -> OsString {
    let mut url = OsString::from("file:");
    url.push(path.as_os_str());
    url
}

/// The command skeleton every backend shares: `global` options before the input (hardware
/// device set-up), the stream mapping, `video` for the encoder part, then audio, subtitles,
/// metadata and the muxer, so stream handling is identical whatever encodes the video.
pub(super) fn assemble(
    plan: &Plan,
    input: &Path,
    output: &Path,
    global: &[OsString],
    video: impl FnOnce(&mut Args, &VideoEncode),
) -> Vec<OsString> {
    let mut a = Args(Vec::new());
    a.push(["-hide_banner", "-nostdin", "-y"]);
    a.0.extend_from_slice(global);
    if plan.video.is_none() {
        // AVI and raw streams often lack presentation timestamps; a copy needs them.
        a.push(["-fflags", "+genpts"]);
    }
    a.push(["-i"]);
    a.0.push(file_url(input));

    // 0:V skips cover pictures stored as video streams (MP4 "attached pic").
    a.push(["-map", "0:V:0"]);
    streams_and_muxer(&mut a, plan, 0, output, |a| match &plan.video {
        None => a.push(["-c:v", "copy"]),
        Some(v) => video(a, v),
    });
    a.0
}

/// The join of a segmented encode (`media::segments`): the video segments through the concat
/// demuxer (`list`, input 0) copied as they are, and everything else (audio, subtitles,
/// attachments, metadata, chapters) from `source` (input 1) exactly as [`assemble`] handles it
/// for a one-piece encode, so both ways write the same streams. The joined video starts at 0;
/// `video_start` (seconds from the source's start to its first frame) puts it back where the
/// source's was, relative to the audio.
pub fn build_join_args(
    plan: &Plan,
    list: &Path,
    source: &Path,
    output: &Path,
    video_start: f64,
) -> Vec<OsString> {
    let mut a = Args(Vec::new());
    a.push(["-hide_banner", "-nostdin", "-y"]);
    if video_start > 0.0 {
        a.push(["-itsoffset"]);
        a.owned(format!("{video_start:.6}"));
    }
    a.push(["-f", "concat", "-i"]);
    a.0.push(file_url(list));
    a.push(["-i"]);
    a.0.push(file_url(source));
    a.push(["-map", "0:v:0"]);
    streams_and_muxer(&mut a, plan, 1, output, |a| a.push(["-c:v", "copy"]));
    a.0
}

/// The stream mapping of audio, subtitles and attachments from input `src`, the codecs (`video`
/// writes the video's), metadata and chapters from `src`, and the muxer writing `output`.
fn streams_and_muxer(
    a: &mut Args,
    plan: &Plan,
    src: usize,
    output: &Path,
    video: impl FnOnce(&mut Args),
) {
    for track in &plan.audio {
        a.push(["-map"]);
        a.owned(format!("{src}:a:{}", track.input_index));
    }
    for track in &plan.subtitles {
        a.push(["-map"]);
        a.owned(format!("{src}:s:{}", track.input_index));
    }
    if plan.attachments {
        a.owned("-map".into());
        a.owned(format!("{src}:t?"));
    }

    video(a);
    if plan.output_codec == "hevc" && plan.container == OutputContainer::Mp4 {
        // Apple players only accept HEVC in MP4 tagged hvc1 (ffmpeg defaults to hev1).
        a.push(["-tag:v", "hvc1"]);
    }
    for (out, track) in plan.audio.iter().enumerate() {
        a.owned(format!("-c:a:{out}"));
        let (codec, rate) = match track.action {
            AudioAction::Copy => ("copy", None),
            AudioAction::Opus(rate) => ("libopus", Some(rate)),
            AudioAction::Aac(rate) => ("aac", Some(rate)),
            AudioAction::Eac3(rate) => ("eac3", Some(rate)),
        };
        a.push([codec]);
        if let Some(rate) = rate {
            a.owned(format!("-b:a:{out}"));
            a.owned(rate.to_string());
        }
        if track.stereo {
            // The compatibility track: two channels and its own title (ffmpeg copied the
            // source track's); its disposition (none) follows below.
            a.owned(format!("-ac:a:{out}"));
            a.push(["2"]);
            a.owned(format!("-metadata:s:a:{out}"));
            a.push(["title=Stereo"]);
        }
        disposition_args(a, "a", out, track.disposition);
    }
    for (out, track) in plan.subtitles.iter().enumerate() {
        a.owned(format!("-c:s:{out}"));
        a.push([match track.action {
            SubtitleAction::Copy => "copy",
            SubtitleAction::ToSrt => "srt",
            SubtitleAction::ToMovText => "mov_text",
        }]);
        disposition_args(a, "s", out, track.disposition);
    }
    if plan.attachments {
        a.push(["-c:t", "copy"]);
    }

    a.push(["-map_metadata"]);
    a.owned(src.to_string());
    a.push(["-map_chapters"]);
    a.owned(src.to_string());
    if plan.threads > 0 {
        a.push(["-threads"]);
        a.owned(plan.threads.to_string());
    }
    if plan.container == OutputContainer::Mp4 {
        a.push(["-movflags", "+faststart"]);
    }
    a.push(["-f", plan.container.muxer()]);
    a.0.push(file_url(output));
}

/// `-disposition:{kind}:{out} default+original` (or `0` for none), when the plan sets them.
fn disposition_args(a: &mut Args, kind: &str, out: usize, d: Option<Disposition>) {
    let Some(d) = d else { return };
    let flags: Vec<&str> = [
        (d.default, "default"),
        (d.forced, "forced"),
        (d.comment, "comment"),
        (d.visual_impaired, "visual_impaired"),
        (d.hearing_impaired, "hearing_impaired"),
        (d.original, "original"),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect();
    a.owned(format!("-disposition:{kind}:{out}"));
    a.owned(if flags.is_empty() {
        "0".into()
    } else {
        flags.join("+")
    });
}

/// The source's colour tags, written on the output so HDR stays HDR (every backend).
pub(super) fn colour_args(a: &mut Args, v: &VideoEncode) {
    if let Some(c) = &v.colour {
        for (flag, value) in [
            ("-color_primaries", &c.primaries),
            ("-color_trc", &c.transfer),
            ("-colorspace", &c.space),
        ] {
            if let Some(value) = value {
                a.push([flag]);
                a.owned(value.clone());
            }
        }
    }
}

/// An argument vector under construction.
pub(super) struct Args(pub(super) Vec<OsString>);

impl Args {
    pub(super) fn push<const N: usize>(&mut self, items: [&str; N]) {
        self.0
            .extend(items.iter().map(|s| OsStr::new(s).to_owned()));
    }
    pub(super) fn owned(&mut self, s: String) {
        self.0.push(s.into());
    }
}
