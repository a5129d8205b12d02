//! The media vocabulary every layer shares: codecs, encoders, backends, VAAPI rate control, and
//! what the owner chose for originals and verification.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Video codecs the planner knows about, as ffprobe names them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VideoCodec {
    H264,
    Hevc,
    Av1,
    Vp9,
}

impl VideoCodec {
    pub fn as_str(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::Hevc => "hevc",
            VideoCodec::Av1 => "av1",
            VideoCodec::Vp9 => "vp9",
        }
    }

    /// Map an ffprobe `codec_name`; `None` for codecs we never target (mpeg2video, vc1...).
    pub fn from_ffprobe(name: &str) -> Option<VideoCodec> {
        match name {
            "h264" => Some(VideoCodec::H264),
            "hevc" | "h265" => Some(VideoCodec::Hevc),
            "av1" => Some(VideoCodec::Av1),
            "vp9" => Some(VideoCodec::Vp9),
            _ => None,
        }
    }
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VideoCodec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VideoCodec::from_ffprobe(s).ok_or_else(|| format!("unknown video codec `{s}`"))
    }
}

/// CPU encoders selectable in this release (hardware backends arrive with `hw`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CpuEncoder {
    Libx265,
    Libsvtav1,
    Libx264,
}

impl CpuEncoder {
    pub fn as_str(self) -> &'static str {
        match self {
            CpuEncoder::Libx265 => "libx265",
            CpuEncoder::Libsvtav1 => "libsvtav1",
            CpuEncoder::Libx264 => "libx264",
        }
    }

    /// The codec this encoder produces.
    pub fn codec(self) -> VideoCodec {
        match self {
            CpuEncoder::Libx265 => VideoCodec::Hevc,
            CpuEncoder::Libsvtav1 => VideoCodec::Av1,
            CpuEncoder::Libx264 => VideoCodec::H264,
        }
    }

    pub const ALL: [CpuEncoder; 3] = [
        CpuEncoder::Libx265,
        CpuEncoder::Libsvtav1,
        CpuEncoder::Libx264,
    ];
}

impl FromStr for CpuEncoder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CpuEncoder::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("unknown encoder `{s}` (libx265, libsvtav1 or libx264)"))
    }
}

/// What happens to the original once a verified output is in place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OriginalPolicy {
    /// Leave it; the output sits beside it as `<stem>.alchemist.<ext>`.
    #[default]
    Keep,
    /// Move it to `.alchemist-trash/` beside it (same filesystem), restorable until purged.
    Replace,
    /// Remove it, but only after the verified output is in place.
    Delete,
}

impl FromStr for OriginalPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "keep" => Ok(OriginalPolicy::Keep),
            "replace" => Ok(OriginalPolicy::Replace),
            "delete" => Ok(OriginalPolicy::Delete),
            _ => Err(format!("unknown policy `{s}` (keep, replace or delete)")),
        }
    }
}

/// How much of an encoded file verification decodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMode {
    /// Evenly spaced segments (the whole file when it is short).
    #[default]
    Sample,
    /// Every frame.
    Full,
    /// No decode (probe, duration and stream checks still run).
    Off,
}

impl FromStr for VerifyMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sample" => Ok(VerifyMode::Sample),
            "full" => Ok(VerifyMode::Full),
            "off" => Ok(VerifyMode::Off),
            _ => Err(format!("unknown verify mode `{s}` (sample, full or off)")),
        }
    }
}

/// Where a video encode runs. Ordered from least to most preferred when more than one is
/// verified for a codec (see `hw::select_backend`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Cpu,
    V4l2m2m,
    Vaapi,
}

impl Backend {
    /// The name the API and probe log use: "cpu", "v4l2m2m" or "vaapi".
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::V4l2m2m => "v4l2m2m",
            Backend::Vaapi => "vaapi",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A VAAPI rate-control mode, as ffmpeg's `-rc_mode` names it. Only the quality-driven modes
/// are used; CBR/VBR/AVBR are streaming modes a library re-encode does not want.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateControl {
    /// Constant QP (`-rc_mode CQP -qp N`); every driver has it.
    Cqp,
    /// Intelligent constant quality (`-rc_mode ICQ -global_quality N`), Intel iHD.
    Icq,
    /// Quality-defined VBR: ICQ with a bit rate ceiling (`-rc_mode QVBR`), Intel iHD.
    Qvbr,
}

impl RateControl {
    /// ffmpeg's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RateControl::Cqp => "CQP",
            RateControl::Icq => "ICQ",
            RateControl::Qvbr => "QVBR",
        }
    }

    /// Parse ffmpeg's spelling; `None` for modes we never use (CBR, VBR, AVBR).
    pub fn from_ffmpeg(name: &str) -> Option<RateControl> {
        match name.trim() {
            "CQP" => Some(RateControl::Cqp),
            "ICQ" => Some(RateControl::Icq),
            "QVBR" => Some(RateControl::Qvbr),
            _ => None,
        }
    }

    /// The ffmpeg option that carries the quality in this mode for `codec`'s `_vaapi`
    /// encoder. Only `h264_vaapi` and `hevc_vaapi` have a private `-qp`; `av1_vaapi` has none
    /// (ffmpeg would warn that the option "has not been used" and encode at its default
    /// quality), and takes its CQP `q_idx` through `-global_quality` (`vaapi_encode_av1.c`:
    /// `q_idx_p = av_clip(rc_quality, 0, 255)`). The probe and the job both use this, so a
    /// verified encoder was verified with the option the job passes.
    pub fn quality_option(self, codec: VideoCodec) -> &'static str {
        match (self, codec) {
            (RateControl::Cqp, VideoCodec::H264 | VideoCodec::Hevc) => "-qp",
            _ => "-global_quality",
        }
    }
}
