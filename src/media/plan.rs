//! The pure decision: given what ffprobe found and the configured encoder settings, skip the
//! file or transcode it, and say why in plain sentences with the numbers behind the choice.
//! Each reason has a stable `code` ("no_video_stream", "already_target_codec",
//! "transcode_recommended") used by the API, UI and stats. No I/O happens here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{CpuEncoder, Explanation, VideoCodec};

use super::MediaInfo;

/// Encoder settings from the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EncodeSettings {
    pub encoder: CpuEncoder,
    /// Constant rate factor; `None` uses [`default_crf`] for the encoder.
    pub crf: Option<u8>,
    /// Encoder preset; `None` uses [`default_preset`] for the encoder.
    pub preset: Option<String>,
    /// Encoder threads; 0 lets ffmpeg decide.
    pub threads: u32,
}

/// Settings that ffmpeg would reject; found by [`EncodeSettings::validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidSettings {
    #[error("CRF {crf} is out of range for {encoder} (0 to {max})")]
    Crf {
        encoder: &'static str,
        crf: u8,
        max: u8,
    },
    #[error("preset `{preset}` is not valid for {encoder} ({allowed})")]
    Preset {
        encoder: &'static str,
        preset: String,
        allowed: &'static str,
    },
}

/// x264/x265 preset names, fastest first.
const X26X_PRESETS: [&str; 10] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];
/// SVT-AV1 presets are numbers; 13 is the fastest ffmpeg 5.1 accepts.
const SVTAV1_MAX_PRESET: u8 = 13;

/// The CRF each encoder uses when none is configured (the encoders' own defaults).
pub fn default_crf(encoder: CpuEncoder) -> u8 {
    match encoder {
        CpuEncoder::Libx265 => 28,
        CpuEncoder::Libsvtav1 => 35,
        CpuEncoder::Libx264 => 23,
    }
}

/// The preset used when none is configured. SVT-AV1 8 is a balanced speed for small NAS CPUs.
pub fn default_preset(encoder: CpuEncoder) -> &'static str {
    match encoder {
        CpuEncoder::Libx265 | CpuEncoder::Libx264 => "medium",
        CpuEncoder::Libsvtav1 => "8",
    }
}

fn max_crf(encoder: CpuEncoder) -> u8 {
    match encoder {
        CpuEncoder::Libx265 | CpuEncoder::Libx264 => 51,
        CpuEncoder::Libsvtav1 => 63,
    }
}

impl EncodeSettings {
    /// Check CRF and preset against what the encoder accepts. Call this when loading config;
    /// [`decide`] trusts its input.
    pub fn validate(&self) -> Result<(), InvalidSettings> {
        let encoder = self.encoder;
        if let Some(crf) = self.crf.filter(|c| *c > max_crf(encoder)) {
            return Err(InvalidSettings::Crf {
                encoder: encoder.as_str(),
                crf,
                max: max_crf(encoder),
            });
        }
        if let Some(preset) = &self.preset {
            let ok = match encoder {
                CpuEncoder::Libx265 | CpuEncoder::Libx264 => {
                    X26X_PRESETS.contains(&preset.as_str())
                }
                CpuEncoder::Libsvtav1 => preset.parse::<u8>().is_ok_and(|p| p <= SVTAV1_MAX_PRESET),
            };
            if !ok {
                return Err(InvalidSettings::Preset {
                    encoder: encoder.as_str(),
                    preset: preset.clone(),
                    allowed: match encoder {
                        CpuEncoder::Libsvtav1 => "a number from 0 to 13",
                        _ => "ultrafast … placebo",
                    },
                });
            }
        }
        Ok(())
    }
}

/// The container the output is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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

    fn label(&self) -> &'static str {
        match self {
            OutputContainer::Mkv => "Matroska (.mkv)",
            OutputContainer::Mp4 => "MP4",
        }
    }
}

/// What to do with one subtitle stream of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubtitleAction {
    Copy,
    /// MP4 timed text cannot go into Matroska; convert it to SubRip.
    ToSrt,
}

/// A subtitle stream to keep: `input_index` counts subtitle streams only (`0:s:N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubtitleTrack {
    pub input_index: usize,
    pub action: SubtitleAction,
}

/// Everything `args::build_args` needs to produce the ffmpeg command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    pub encoder: CpuEncoder,
    pub container: OutputContainer,
    pub crf: u8,
    pub preset: String,
    /// 0 = let ffmpeg decide.
    pub threads: u32,
    /// Subtitle streams kept, in output order (empty: none).
    pub subtitles: Vec<SubtitleTrack>,
}

/// The outcome of analysis.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Skip(Explanation),
    Transcode {
        plan: Plan,
        explanation: Explanation,
    },
}

impl Decision {
    /// "skip" or "transcode".
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Skip(_) => "skip",
            Decision::Transcode { .. } => "transcode",
        }
    }

    pub fn explanation(&self) -> &Explanation {
        match self {
            Decision::Skip(e) | Decision::Transcode { explanation: e, .. } => e,
        }
    }
}

/// Containers ffprobe reports for MP4/MOV/M4V files (first entry of `format_name`).
const MP4_FAMILY: [&str; 3] = ["mov", "mp4", "m4v"];
/// Audio codecs ffmpeg 5.1's MP4 muxer accepts without `-strict`; others force Matroska.
const MP4_AUDIO: [&str; 5] = ["aac", "mp3", "ac3", "eac3", "alac"];
/// Subtitle codecs ffmpeg's Matroska muxer can store as they are.
const MKV_SUBTITLES: [&str; 7] = [
    "subrip",
    "ass",
    "ssa",
    "webvtt",
    "hdmv_pgs_subtitle",
    "dvd_subtitle",
    "dvb_subtitle",
];

/// Decide what to do with `info`. `settings` should have passed [`EncodeSettings::validate`].
pub fn decide(info: &MediaInfo, settings: &EncodeSettings) -> Decision {
    let encoder = settings.encoder;
    let target = encoder.codec();
    let Some(video) = &info.video else {
        return Decision::Skip(
            Explanation::new(
                "no_video_stream",
                "There is no video stream to encode.",
                format!(
                    "ffprobe found {} audio and {} subtitle stream(s) in this {} file but no video \
                     (cover pictures do not count), so there is nothing to transcode.",
                    info.audio.len(),
                    info.subtitles.len(),
                    info.container
                ),
            )
            .with("container", info.container.as_str())
            .with("audio_streams", info.audio.len())
            .with("subtitle_streams", info.subtitles.len()),
        );
    };
    let source = VideoCodec::from_ffprobe(&video.codec);
    let source_name = source.map_or(video.codec.as_str(), |c| c.as_str());
    let describe = format!(
        "{} {}×{}{}{}",
        source_name,
        video.width,
        video.height,
        video
            .fps
            .map_or(String::new(), |f| format!(" at {f:.3} fps")),
        video
            .bitrate
            .map_or(String::new(), |b| format!(", {} kb/s", b / 1000)),
    );
    let with_video_numbers = |e: Explanation| {
        let mut e = e
            .with("source_codec", source_name)
            .with("target_codec", target.as_str())
            .with("width", video.width)
            .with("height", video.height);
        if let Some(b) = video.bitrate {
            e = e.with("video_bitrate", b);
        }
        if let Some(b) = info.bit_rate {
            e = e.with("bit_rate", b);
        }
        if let Some(f) = video.fps {
            e = e.with("fps", f);
        }
        e
    };

    if source == Some(target) {
        return Decision::Skip(with_video_numbers(Explanation::new(
            "already_target_codec",
            format!("The video is already {}.", label(target)),
            format!(
                "The video stream is {describe}, which is what {} produces; re-encoding it \
                 would cost quality and time for little or no saving.",
                encoder.as_str()
            ),
        )));
    }

    let container = output_container(info);
    let (subtitles, dropped) = plan_subtitles(info, container);
    let crf = settings.crf.unwrap_or_else(|| default_crf(encoder));
    let preset = settings
        .preset
        .clone()
        .unwrap_or_else(|| default_preset(encoder).to_string());
    let mut detail = format!(
        "The video stream is {describe}. It will be encoded with {} at CRF {crf} (preset \
         {preset}), which usually gives a noticeably smaller file at similar quality. Audio \
         is copied unchanged and the output is written as {}.",
        encoder.as_str(),
        container.label()
    );
    if !subtitles.is_empty() {
        detail.push_str(&format!(
            " {} subtitle stream(s) are kept.",
            subtitles.len()
        ));
    }
    if !dropped.is_empty() {
        detail.push_str(&format!(
            " {} subtitle stream(s) ({}) cannot be stored in {} and are left out.",
            dropped.len(),
            dropped.join(", "),
            container.label()
        ));
    }
    let mut explanation = with_video_numbers(Explanation::new(
        "transcode_recommended",
        format!(
            "The video will be re-encoded from {} to {}.",
            source.map_or(video.codec.as_str(), |c| label(c)),
            label(target)
        ),
        detail,
    ))
    .with("encoder", encoder.as_str())
    .with("crf", crf)
    .with("preset", preset.as_str())
    .with("output_container", container.extension())
    .with("duration", info.duration);
    if !dropped.is_empty() {
        explanation = explanation.with("dropped_subtitles", dropped);
    }
    Decision::Transcode {
        plan: Plan {
            encoder,
            container,
            crf,
            preset,
            threads: settings.threads,
            subtitles,
        },
        explanation,
    }
}

/// MP4 when the source already is MP4/MOV and everything in it can be copied into MP4;
/// otherwise Matroska, which holds any codec we copy.
pub fn output_container(info: &MediaInfo) -> OutputContainer {
    let mp4_source = MP4_FAMILY.contains(&info.container.as_str());
    let audio_ok = info
        .audio
        .iter()
        .all(|a| MP4_AUDIO.contains(&a.codec.as_str()));
    let subs_ok = info.subtitles.iter().all(|s| s.codec == "mov_text");
    if mp4_source && audio_ok && subs_ok {
        OutputContainer::Mp4
    } else {
        OutputContainer::Mkv
    }
}

/// Which subtitle streams survive into `container`, and the codecs of those that cannot.
fn plan_subtitles(
    info: &MediaInfo,
    container: OutputContainer,
) -> (Vec<SubtitleTrack>, Vec<String>) {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (input_index, sub) in info.subtitles.iter().enumerate() {
        let action = match (container, sub.codec.as_str()) {
            (OutputContainer::Mp4, "mov_text") => Some(SubtitleAction::Copy),
            (OutputContainer::Mkv, "mov_text") => Some(SubtitleAction::ToSrt),
            (OutputContainer::Mkv, c) if MKV_SUBTITLES.contains(&c) => Some(SubtitleAction::Copy),
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

fn label(codec: VideoCodec) -> &'static str {
    match codec {
        VideoCodec::H264 => "H.264",
        VideoCodec::Hevc => "HEVC",
        VideoCodec::Av1 => "AV1",
        VideoCodec::Vp9 => "VP9",
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
