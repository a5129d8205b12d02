//! Pure per-stream planning for the non-video streams: which container the output uses, and
//! for each audio and subtitle stream whether it is copied, converted or left out, with the
//! notes that go into the decision's explanation.

use serde::{Deserialize, Serialize};

use super::{AudioStream, MediaInfo};
use crate::profiles::ContainerChoice;

/// The container the output is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputContainer {
    Mkv,
    Mp4,
}

impl OutputContainer {
    /// File extension without the dot.
    pub fn extension(&self) -> &'static str {
        match self {
            OutputContainer::Mkv => "mkv",
            OutputContainer::Mp4 => "mp4",
        }
    }

    /// ffmpeg muxer name for `-f`.
    pub fn muxer(&self) -> &'static str {
        match self {
            OutputContainer::Mkv => "matroska",
            OutputContainer::Mp4 => "mp4",
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            OutputContainer::Mkv => "Matroska (.mkv)",
            OutputContainer::Mp4 => "MP4",
        }
    }

    /// Whether ffprobe's container name (first of `format_name`) is this container.
    pub fn is(&self, ffprobe_container: &str) -> bool {
        match self {
            OutputContainer::Mkv => ffprobe_container == "matroska",
            OutputContainer::Mp4 => MP4_FAMILY.contains(&ffprobe_container),
        }
    }
}

/// What to do with one audio stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioAction {
    Copy,
    /// Re-encode with libopus at this many bits per second (Matroska).
    Opus(u32),
    /// Re-encode with ffmpeg's AAC at this many bits per second (MP4).
    Aac(u32),
}

/// An audio stream to keep: `input_index` counts audio streams only (`0:a:N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioTrack {
    pub input_index: usize,
    pub action: AudioAction,
}

/// What to do with one subtitle stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubtitleAction {
    Copy,
    /// Text subtitles into Matroska: SubRip.
    ToSrt,
    /// Text subtitles into MP4: timed text.
    ToMovText,
}

/// A subtitle stream to keep: `input_index` counts subtitle streams only (`0:s:N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtitleTrack {
    pub input_index: usize,
    pub action: SubtitleAction,
}

/// Containers ffprobe reports for MP4/MOV/M4V files (first entry of `format_name`).
const MP4_FAMILY: [&str; 3] = ["mov", "mp4", "m4v"];
/// Audio codecs ffmpeg 5.1's MP4 muxer accepts without `-strict`.
const MP4_AUDIO: [&str; 6] = ["aac", "mp3", "ac3", "eac3", "alac", "opus"];
/// Lossless audio: always worth re-encoding on a library meant to shrink.
const LOSSLESS_AUDIO: [&str; 4] = ["flac", "alac", "truehd", "mlp"];
/// Above this many bits per second per channel a lossy track is "huge" (DTS core is 1.5 Mb/s
/// for 5.1, i.e. 255 kb/s per channel; good AAC needs under 96).
const HUGE_AUDIO_BPS_PER_CHANNEL: u64 = 250_000;
/// Opus per channel: transparent for film soundtracks.
const OPUS_BPS_PER_CHANNEL: u32 = 64_000;
/// AAC per channel (ffmpeg's native encoder needs a little more than Opus).
const AAC_BPS_PER_CHANNEL: u32 = 96_000;
/// Subtitle codecs Matroska stores as they are.
const MKV_SUBTITLES: [&str; 7] = [
    "subrip",
    "ass",
    "ssa",
    "webvtt",
    "hdmv_pgs_subtitle",
    "dvd_subtitle",
    "dvb_subtitle",
];
/// Text subtitles that convert to SubRip or MP4 timed text.
const TEXT_SUBTITLES: [&str; 6] = ["subrip", "ass", "ssa", "webvtt", "mov_text", "text"];
/// Picture-based subtitles: only Matroska keeps them.
const IMAGE_SUBTITLES: [&str; 3] = ["hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle"];

/// Choose the container; the note says why when it differs from what was asked.
pub fn choose_container(
    info: &MediaInfo,
    choice: ContainerChoice,
) -> (OutputContainer, Option<String>) {
    let image_subs = info
        .subtitles
        .iter()
        .any(|s| IMAGE_SUBTITLES.contains(&s.codec.as_str()));
    match choice {
        ContainerChoice::Mkv => (OutputContainer::Mkv, None),
        ContainerChoice::Mp4 if image_subs => (
            OutputContainer::Mkv,
            Some(
                "Picture subtitles (PGS/VobSub/DVB) cannot be stored in MP4, so Matroska is \
                 used to keep them."
                    .into(),
            ),
        ),
        ContainerChoice::Mp4 => (OutputContainer::Mp4, None),
        ContainerChoice::Auto => {
            let mp4_source = MP4_FAMILY.contains(&info.container.as_str());
            let audio_ok = info
                .audio
                .iter()
                .all(|a| MP4_AUDIO.contains(&a.codec.as_str()));
            let subs_ok = info.subtitles.iter().all(|s| s.codec == "mov_text");
            if mp4_source && audio_ok && subs_ok {
                (OutputContainer::Mp4, None)
            } else {
                (OutputContainer::Mkv, None)
            }
        }
    }
}

/// Lossless, or lossy at a bit rate that wastes space.
fn needs_reencode(a: &AudioStream) -> bool {
    let lossless = LOSSLESS_AUDIO.contains(&a.codec.as_str())
        || a.codec.starts_with("pcm_")
        || a.profile.as_deref().is_some_and(|p| p.contains("MA"));
    let huge = a.bitrate.is_some_and(|b| {
        b > HUGE_AUDIO_BPS_PER_CHANNEL * u64::from(a.channels.unwrap_or(2).max(1))
    });
    lossless || huge
}

/// Audio tracks in output order, and notes about the ones that are re-encoded.
pub fn plan_audio(info: &MediaInfo, container: OutputContainer) -> (Vec<AudioTrack>, Vec<String>) {
    let mut notes = Vec::new();
    let tracks = info
        .audio
        .iter()
        .enumerate()
        .map(|(input_index, a)| {
            let channels = a.channels.unwrap_or(2).clamp(1, 8);
            let fits = container == OutputContainer::Mkv || MP4_AUDIO.contains(&a.codec.as_str());
            let action = if fits && !needs_reencode(a) {
                AudioAction::Copy
            } else {
                let why = if fits {
                    "is lossless or very large"
                } else {
                    "cannot be stored in MP4"
                };
                let (action, name, rate) = match container {
                    OutputContainer::Mkv => {
                        let rate = OPUS_BPS_PER_CHANNEL * channels;
                        (AudioAction::Opus(rate), "Opus", rate)
                    }
                    OutputContainer::Mp4 => {
                        let rate = AAC_BPS_PER_CHANNEL * channels;
                        (AudioAction::Aac(rate), "AAC", rate)
                    }
                };
                notes.push(format!(
                    "Audio {input_index} ({}) {why}; it becomes {name} at {} kb/s.",
                    a.codec,
                    rate / 1000
                ));
                action
            };
            AudioTrack {
                input_index,
                action,
            }
        })
        .collect();
    (tracks, notes)
}

/// Subtitle tracks kept, in output order, and the codecs of those that cannot be kept.
pub fn plan_subtitles(
    info: &MediaInfo,
    container: OutputContainer,
) -> (Vec<SubtitleTrack>, Vec<String>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (input_index, sub) in info.subtitles.iter().enumerate() {
        let codec = sub.codec.as_str();
        let action = match container {
            OutputContainer::Mp4 if codec == "mov_text" => Some(SubtitleAction::Copy),
            OutputContainer::Mp4 if TEXT_SUBTITLES.contains(&codec) => {
                Some(SubtitleAction::ToMovText)
            }
            OutputContainer::Mkv if MKV_SUBTITLES.contains(&codec) => Some(SubtitleAction::Copy),
            OutputContainer::Mkv if TEXT_SUBTITLES.contains(&codec) => Some(SubtitleAction::ToSrt),
            _ => None,
        };
        match action {
            Some(action) => kept.push(SubtitleTrack {
                input_index,
                action,
            }),
            None => dropped.push(sub.codec.clone()),
        }
    }
    (kept, dropped)
}
