//! The pure decision: `plan(MediaInfo, Profile, Capabilities) -> Decision`. A file is skipped
//! with a typed [`SkipReason`], remuxed (streams copied into a better container) or transcoded,
//! and every outcome renders as an [`Explanation`] with a stable code and the numbers behind
//! it. Rules run in a fixed order, first match wins: no video → encoder unavailable → below
//! minimum size → unreadable picture → Dolby Vision → already the target codec (remux when
//! only the container is wrong or the stream rules drop tracks; HDR the profile wants as SDR
//! is encoded whatever its codec) → SDR asked but no tonemapping filter → HDR without a 10-bit
//! encoder → bits per pixel below the threshold (see `reasons`) → transcode. HDR is kept
//! unless the profile says `hdr: sdr`; never tonemapped silently. No I/O happens here.

use serde::{Deserialize, Serialize};

use crate::model::{CpuEncoder, Explanation, VideoCodec};

use super::MediaInfo;
pub use super::reasons::SkipReason;
use super::reasons::{bpp_threshold, video_bitrate};
pub use super::streams::{AudioAction, AudioTrack, OutputContainer, SubtitleAction, SubtitleTrack};
use super::streams::{choose_container, select};
pub use crate::profiles::{
    Capabilities, ContainerChoice, EncodeSettings, HdrMode, InvalidSettings, Profile, Tonemapper,
    default_crf, default_preset,
};

/// Containers a remux is not needed for when the profile leaves the choice open.
const GOOD_CONTAINERS: [&str; 4] = ["matroska", "mov", "mp4", "m4v"];

/// Colour tags copied onto an encoded stream so HDR stays HDR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Colour {
    pub primaries: Option<String>,
    pub transfer: Option<String>,
    pub space: Option<String>,
}

/// How the video stream is produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoEncode {
    pub encoder: CpuEncoder,
    pub crf: u8,
    pub preset: String,
    /// Encode as `yuv420p10le`.
    pub ten_bit: bool,
    /// Apply `bwdif` (the source is interlaced).
    pub deinterlace: bool,
    /// HDR (or otherwise tagged) colour metadata to write on the output.
    pub colour: Option<Colour>,
    /// Tonemap HDR to SDR (BT.709) with this filter set; only the CPU backend does it.
    #[serde(default)]
    pub tonemap: Option<Tonemapper>,
}

/// Everything `args::build_args` needs to produce the ffmpeg command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `None`: copy the video stream (remux).
    pub video: Option<VideoEncode>,
    /// ffprobe name of the output's video codec (the source's when remuxing).
    pub output_codec: String,
    pub container: OutputContainer,
    /// 0 = let ffmpeg decide.
    pub threads: u32,
    pub audio: Vec<AudioTrack>,
    pub subtitles: Vec<SubtitleTrack>,
    /// Attachments (fonts) are copied; only Matroska can hold them.
    pub attachments: bool,
    pub explanation: Explanation,
}

impl Plan {
    /// A plain encode of video, audio copied and nothing else: tests and tools.
    pub fn simple(encoder: CpuEncoder, container: OutputContainer, crf: u8, preset: &str) -> Plan {
        Plan {
            video: Some(VideoEncode {
                encoder,
                crf,
                preset: preset.into(),
                ten_bit: false,
                deinterlace: false,
                colour: None,
                tonemap: None,
            }),
            output_codec: encoder.codec().as_str().into(),
            container,
            threads: 0,
            audio: vec![],
            subtitles: vec![],
            attachments: false,
            explanation: Explanation::new("transcode_recommended", "", ""),
        }
    }

    /// The codec of the output's video stream, when it is one the planner knows.
    pub fn target_codec(&self) -> Option<VideoCodec> {
        VideoCodec::from_ffprobe(&self.output_codec)
    }
}

/// The outcome of analysis.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Skip(SkipReason),
    Remux(Plan),
    Transcode(Plan),
}

impl Decision {
    /// "skip", "remux" or "transcode".
    pub fn action(&self) -> &'static str {
        match self {
            Decision::Skip(_) => "skip",
            Decision::Remux(_) => "remux",
            Decision::Transcode(_) => "transcode",
        }
    }

    pub fn explanation(&self) -> Explanation {
        match self {
            Decision::Skip(r) => r.explanation(),
            Decision::Remux(p) | Decision::Transcode(p) => p.explanation.clone(),
        }
    }
}

/// The configuration's settings as the default profile, with every CPU encoder available.
pub fn decide(info: &MediaInfo, settings: &EncodeSettings) -> Decision {
    plan(
        info,
        &Profile::from_settings(settings),
        &Capabilities::all_cpu(),
    )
}

/// Decide what to do with `info`. `profile` should have passed validation.
pub fn plan(info: &MediaInfo, profile: &Profile, caps: &Capabilities) -> Decision {
    let encoder = profile.encoder;
    let target = encoder.codec();
    let Some(video) = &info.video else {
        return Decision::Skip(SkipReason::NoVideoStream {
            container: info.container.clone(),
            audio: info.audio.len(),
            subtitles: info.subtitles.len(),
        });
    };
    if !caps.encoders.contains(&encoder) {
        return Decision::Skip(SkipReason::EncoderUnavailable { encoder });
    }
    if info.size < profile.min_file_size {
        return Decision::Skip(SkipReason::BelowMinFileSize {
            size: info.size,
            min: profile.min_file_size,
        });
    }
    if video.width == 0 || video.height == 0 {
        return Decision::Skip(SkipReason::UnreadableVideo {
            codec: video.codec.clone(),
        });
    }
    let source = VideoCodec::from_ffprobe(&video.codec);
    let depth = video.bit_depth.unwrap_or(8);
    let kept = select(info, &profile.streams);
    let (container, container_note) = choose_container(info, &kept, profile.container);
    let wrong_container = !container.is(&info.container)
        && (profile.container != ContainerChoice::Auto
            || !GOOD_CONTAINERS.contains(&info.container.as_str()));
    let wants_ten_bit = profile.ten_bit && depth < 10;
    // HDR the owner wants as SDR: a source already in the target codec is encoded anyway.
    let wants_sdr = profile.hdr == HdrMode::Sdr && video.hdr;
    if source == Some(target) && !wants_ten_bit && !wants_sdr {
        // Tracks the stream rules drop are a reason to remux on their own.
        if (wrong_container || kept.drops_tracks()) && !video.dolby_vision {
            let plan = build(
                info,
                video,
                profile,
                None,
                (&kept, container, container_note),
            );
            return Decision::Remux(plan);
        }
        return Decision::Skip(SkipReason::AlreadyTargetCodec {
            codec: target.as_str().into(),
            bit_depth: video.bit_depth,
            container: info.container.clone(),
        });
    }
    if video.dolby_vision {
        return Decision::Skip(SkipReason::DolbyVision {
            codec: video.codec.clone(),
        });
    }
    let tonemap = match (wants_sdr, caps.tonemap) {
        (false, _) => None,
        (true, Some(t)) => Some(t),
        (true, None) => {
            return Decision::Skip(SkipReason::TonemapUnavailable {
                transfer: video.color_transfer.clone().unwrap_or_default(),
            });
        }
    };
    let ten_bit_capable = caps.ten_bit.contains(&encoder);
    if video.hdr && tonemap.is_none() && !ten_bit_capable {
        return Decision::Skip(SkipReason::HdrNeedsTenBit {
            encoder,
            transfer: video.color_transfer.clone().unwrap_or_default(),
        });
    }
    if let Some((bitrate, estimated)) = video_bitrate(info)
        && let Some(fps) = video.fps
        && profile.bpp_factor > 0.0
    {
        let bpp = bitrate as f64 / (f64::from(video.width) * f64::from(video.height) * fps);
        let threshold = bpp_threshold(
            encoder,
            &video.codec,
            video.width,
            video.height,
            profile.bpp_factor,
        );
        if bpp < threshold {
            return Decision::Skip(SkipReason::BppBelowThreshold {
                bpp,
                threshold,
                bitrate,
                estimated,
                source_codec: video.codec.clone(),
                width: video.width,
                height: video.height,
                fps,
            });
        }
    }
    // Tonemapped output is SDR: 8-bit unless the profile asks for 10 bits.
    let ten_bit = ten_bit_capable
        && if tonemap.is_some() {
            profile.ten_bit
        } else {
            depth >= 10 || video.hdr || profile.ten_bit
        };
    let colour = if tonemap.is_some() {
        let bt709 = || Some("bt709".to_string());
        Some(Colour {
            primaries: bt709(),
            transfer: bt709(),
            space: bt709(),
        })
    } else {
        (video.hdr || video.color_primaries.is_some()).then(|| Colour {
            primaries: video.color_primaries.clone(),
            transfer: video.color_transfer.clone(),
            space: video.color_space.clone(),
        })
    };
    let encode = VideoEncode {
        encoder,
        crf: profile.crf.unwrap_or_else(|| default_crf(encoder)),
        preset: profile
            .preset
            .clone()
            .unwrap_or_else(|| default_preset(encoder).to_string()),
        ten_bit,
        deinterlace: video.interlaced(),
        colour,
        tonemap,
    };
    Decision::Transcode(build(
        info,
        video,
        profile,
        Some(encode),
        (&kept, container, container_note),
    ))
}

#[path = "plan_build.rs"]
mod build;
use build::build;

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
