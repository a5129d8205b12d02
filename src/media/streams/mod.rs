//! Pure per-stream planning for the non-video streams: which container the output uses, and
//! for each audio and subtitle stream whether it is copied, converted or left out, with the
//! notes that go into the decision's explanation. `rules` first picks the tracks the profile
//! keeps; the container and the per-track actions then follow from those tracks only.

pub mod rules;

use serde::{Deserialize, Serialize};

use super::{AudioStream, Disposition, MediaInfo};
use crate::profiles::{AudioCodecPolicy, ContainerChoice};
pub use rules::{IMAGE_SUBTITLES, Selection, select};

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
    /// Re-encode with ffmpeg's E-AC-3 encoder at this many bits per second.
    Eac3(u32),
}

/// An audio stream to keep: `input_index` counts audio streams only (`0:a:N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioTrack {
    pub input_index: usize,
    pub action: AudioAction,
    /// An added compatibility track: the input downmixed to stereo (`-ac 2`), titled "Stereo",
    /// never the default. Plans stored before it existed have none.
    #[serde(default)]
    pub stereo: bool,
    /// Dispositions written explicitly (`-disposition:a:N`) when the profile's stream rules
    /// are in use; `None` leaves them to ffmpeg, as before the rules existed.
    #[serde(default)]
    pub disposition: Option<Disposition>,
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
    /// As for [`AudioTrack::disposition`].
    #[serde(default)]
    pub disposition: Option<Disposition>,
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
/// E-AC-3 as ffmpeg encodes it: at most 5.1, and 96 kb/s per channel.
const EAC3_MAX_CHANNELS: u32 = 6;
const EAC3_BPS_PER_CHANNEL: u32 = 96_000;

/// Choose the container; the note says why when it differs from what was asked.
/// Only the tracks `kept` counts.
pub fn choose_container(
    info: &MediaInfo,
    kept: &Selection,
    choice: ContainerChoice,
) -> (OutputContainer, Option<String>) {
    let subs = || kept.subtitles.iter().map(|&i| &info.subtitles[i]);
    let image_subs = subs().any(|s| IMAGE_SUBTITLES.contains(&s.codec.as_str()));
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
            let audio_ok = kept
                .audio
                .iter()
                .all(|&i| MP4_AUDIO.contains(&info.audio[i].codec.as_str()));
            let subs_ok = subs().all(|s| s.codec == "mov_text");
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

/// The codec a re-encoded track gets under `policy` in `container`, at `channels`.
fn reencode(policy: AudioCodecPolicy, container: OutputContainer, channels: u32) -> AudioAction {
    let native = match container {
        OutputContainer::Mkv => AudioAction::Opus(OPUS_BPS_PER_CHANNEL * channels),
        OutputContainer::Mp4 => AudioAction::Aac(AAC_BPS_PER_CHANNEL * channels),
    };
    match policy {
        AudioCodecPolicy::Auto | AudioCodecPolicy::Copy => native,
        AudioCodecPolicy::Opus => AudioAction::Opus(OPUS_BPS_PER_CHANNEL * channels),
        AudioCodecPolicy::Aac => AudioAction::Aac(AAC_BPS_PER_CHANNEL * channels),
        // ffmpeg's E-AC-3 encoder stops at 5.1; 7.1 takes the container's usual codec.
        AudioCodecPolicy::Eac3 if channels <= EAC3_MAX_CHANNELS => {
            AudioAction::Eac3(EAC3_BPS_PER_CHANNEL * channels)
        }
        AudioCodecPolicy::Eac3 => native,
    }
}

fn action_name(action: AudioAction) -> (&'static str, u32) {
    match action {
        AudioAction::Copy => ("a copy", 0),
        AudioAction::Opus(r) => ("Opus", r),
        AudioAction::Aac(r) => ("AAC", r),
        AudioAction::Eac3(r) => ("E-AC-3", r),
    }
}

/// The `kept` audio tracks in output order (a stereo downmix last when `add_stereo` asks for
/// one), and notes about the ones that are re-encoded or added.
pub fn plan_audio(
    info: &MediaInfo,
    kept: &[usize],
    container: OutputContainer,
    policy: AudioCodecPolicy,
    add_stereo: bool,
    explicit: bool,
) -> (Vec<AudioTrack>, Vec<String>) {
    let mut notes = Vec::new();
    let mut tracks: Vec<AudioTrack> = kept
        .iter()
        .map(|&input_index| {
            let a = &info.audio[input_index];
            let channels = a.channels.unwrap_or(2).clamp(1, 8);
            let fits = container == OutputContainer::Mkv || MP4_AUDIO.contains(&a.codec.as_str());
            let wasteful = policy != AudioCodecPolicy::Copy && needs_reencode(a);
            let action = if fits && !wasteful {
                AudioAction::Copy
            } else {
                let why = if fits {
                    "is lossless or very large"
                } else {
                    "cannot be stored in MP4"
                };
                let action = reencode(policy, container, channels);
                let (name, rate) = action_name(action);
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
                stereo: false,
                disposition: explicit.then_some(a.disposition),
            }
        })
        .collect();
    // The source's default track was dropped: the first kept one becomes the default, so
    // players do not start silent or on a random track.
    if explicit
        && !tracks
            .iter()
            .any(|t| t.disposition.is_some_and(|d| d.default))
        && let Some(Some(d)) = tracks.first_mut().map(|t| t.disposition.as_mut())
    {
        d.default = true;
    }
    // A stereo track in the first kept track's language makes a downmix pointless.
    let first = kept.first().map(|&i| (i, &info.audio[i]));
    let has_stereo = first.is_some_and(|(_, f)| {
        kept.iter().any(|&i| {
            let a = &info.audio[i];
            a.language == f.language && a.channels.is_some_and(|c| c <= 2)
        })
    });
    if add_stereo
        && !has_stereo
        && let Some((input_index, a)) = first
        && a.channels.is_some_and(|c| c > 2)
    {
        let action = reencode(policy, container, 2);
        let (name, rate) = action_name(action);
        notes.push(format!(
            "A stereo {name} track ({} kb/s) downmixed from audio {input_index} ({}, {} \
             channels) is added for players without surround.",
            rate / 1000,
            a.language.as_deref().unwrap_or("und"),
            a.channels.unwrap_or(0)
        ));
        tracks.push(AudioTrack {
            input_index,
            action,
            stereo: true,
            disposition: Some(Disposition::default()),
        });
    }
    (tracks, notes)
}

/// Subtitle tracks kept, in output order, and the codecs of those that cannot be kept.
pub fn plan_subtitles(
    info: &MediaInfo,
    selected: &[usize],
    container: OutputContainer,
    explicit: bool,
) -> (Vec<SubtitleTrack>, Vec<String>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for &input_index in selected {
        let sub = &info.subtitles[input_index];
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
                disposition: explicit.then_some(sub.disposition),
            }),
            None => dropped.push(sub.codec.clone()),
        }
    }
    (kept, dropped)
}
