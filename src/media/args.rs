//! Pure construction of the ffmpeg argument vector for a [`Plan`] (CPU encoders). Arguments are
//! data, never a shell string, and paths stay `OsStr` so any filename works. The vector is the
//! whole command after the program name, except `-loglevel level+info`, which
//! `ffmpeg_sidecar::command::FfmpegCommand::new_with_path` always puts first; `-y`/`-nostdin`
//! here stop it from appending `-n`. Golden tests compare whole vectors.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use crate::model::CpuEncoder;

use super::plan::{OutputContainer, Plan, SubtitleAction};

/// `path` as an ffmpeg URL. The `file:` protocol prefix stops ffmpeg from reading a leading
/// `-` as an option or `name:` as another protocol (`concat:`, `http:`); nothing is escaped.
pub fn file_url(path: &Path) -> OsString {
    let mut url = OsString::from("file:");
    url.push(path.as_os_str());
    url
}

/// The full ffmpeg argument list to encode `input` into `output` according to `plan`.
/// `-y` is safe because `output` is always our own temp file.
pub fn build_args(plan: &Plan, input: &Path, output: &Path) -> Vec<OsString> {
    let mut a = Args(Vec::new());
    a.push(["-hide_banner", "-nostdin", "-y"]);
    a.push(["-i"]);
    a.0.push(file_url(input));

    // 0:V skips cover pictures stored as video streams (MP4 "attached pic").
    a.push(["-map", "0:V:0", "-map", "0:a?"]);
    for track in &plan.subtitles {
        a.push(["-map"]);
        a.owned(format!("0:s:{}", track.input_index));
    }
    if plan.container == OutputContainer::Mkv {
        // Fonts attached for ASS subtitles.
        a.push(["-map", "0:t?"]);
    }

    a.push(["-c:v", plan.encoder.as_str(), "-preset", &plan.preset]);
    a.push(["-crf"]);
    a.owned(plan.crf.to_string());
    if plan.encoder == CpuEncoder::Libx265 && plan.container == OutputContainer::Mp4 {
        // Apple players only accept HEVC in MP4 tagged hvc1 (ffmpeg defaults to hev1).
        a.push(["-tag:v", "hvc1"]);
    }
    a.push(["-c:a", "copy"]);
    for (out_index, track) in plan.subtitles.iter().enumerate() {
        a.owned(format!("-c:s:{out_index}"));
        a.push([match track.action {
            SubtitleAction::Copy => "copy",
            SubtitleAction::ToSrt => "srt",
        }]);
    }
    if plan.container == OutputContainer::Mkv {
        a.push(["-c:t", "copy"]);
    }

    a.push(["-map_metadata", "0", "-map_chapters", "0"]);
    if plan.threads > 0 {
        a.push(["-threads"]);
        a.owned(plan.threads.to_string());
    }
    if plan.container == OutputContainer::Mp4 {
        a.push(["-movflags", "+faststart"]);
    }
    a.push(["-f", plan.container.muxer()]);
    a.0.push(file_url(output));
    a.0
}

struct Args(Vec<OsString>);

impl Args {
    fn push<const N: usize>(&mut self, items: [&str; N]) {
        self.0
            .extend(items.iter().map(|s| OsStr::new(s).to_owned()));
    }
    fn owned(&mut self, s: String) {
        self.0.push(s.into());
    }
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
