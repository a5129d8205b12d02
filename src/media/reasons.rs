//! Why the planner skips a file: one typed [`SkipReason`] per rule, each with a stable `code()`
//! and rendered as an [`Explanation`] with the measured numbers. Also the bits-per-pixel model
//! behind the `bpp_below_threshold` rule. Pure.
//!
//! ## The bits-per-pixel rule
//! `bpp = video bit rate / (width × height × fps)`. A file is skipped when
//! `bpp < BASE_BPP[target] × resolution_scale × source_efficiency × profile.bpp_factor`:
//! - `BASE_BPP[target]` is the H.264-equivalent bits per pixel below which the target encoder
//!   at its default quality no longer reliably saves [`profile::DEFAULT_MIN_SAVING_PERCENT`]
//!   on a 1080p source: 0.05 for HEVC, 0.045 for AV1, 0.07 for H.264.
//! - `resolution_scale = (1920×1080 / pixels)^0.3`, clamped to 0.5..2: small pictures need more
//!   bits per pixel for the same quality, large ones fewer.
//! - `source_efficiency` converts the source's bits into H.264-equivalent bits: how many bits
//!   the source codec needs for H.264's quality (MPEG-2 2.0, MPEG-4 Part 2 1.6, VC-1 1.3,
//!   H.264 and VP8 1.0, VP9 0.7, HEVC 0.65, AV1 0.55, anything else 1.0).
//!
//! When the stream's bit rate is missing (Matroska), the container bit rate minus the audio
//! streams' known bit rates is used and the explanation says it is an estimate; with neither,
//! the rule does not apply.

use crate::model::{CpuEncoder, Explanation};

use super::MediaInfo;

/// Reference picture size of [`BASE_BPP`].
const REFERENCE_PIXELS: f64 = 1920.0 * 1080.0;
const RESOLUTION_EXPONENT: f64 = 0.3;
const RESOLUTION_SCALE_MIN: f64 = 0.5;
const RESOLUTION_SCALE_MAX: f64 = 2.0;

fn base_bpp(target: CpuEncoder) -> f64 {
    match target {
        CpuEncoder::Libx265 => 0.05,
        CpuEncoder::Libsvtav1 => 0.045,
        CpuEncoder::Libx264 => 0.07,
    }
}

/// Bits a codec needs relative to H.264 for the same quality.
/// A video codec as an owner knows it (the name on a box or in a player's info), for the
/// reasons the pages show; ffprobe's own name when it is not a common one.
pub fn codec_words(ffprobe_codec: &str) -> &str {
    match ffprobe_codec {
        "h264" => "H.264",
        "hevc" | "h265" => "HEVC (H.265)",
        "av1" => "AV1",
        "vp9" => "VP9",
        "vp8" => "VP8",
        "mpeg2video" => "MPEG-2",
        "mpeg1video" => "MPEG-1",
        "mpeg4" => "MPEG-4 Part 2 (DivX, Xvid)",
        "msmpeg4v3" | "msmpeg4v2" => "Microsoft MPEG-4 (DivX 3)",
        "wmv3" | "wmv2" | "wmv1" => "Windows Media Video",
        "vc1" => "VC-1",
        "mjpeg" => "Motion JPEG",
        "prores" => "ProRes",
        "theora" => "Theora",
        other => other,
    }
}

pub fn codec_efficiency(ffprobe_codec: &str) -> f64 {
    match ffprobe_codec {
        "mpeg2video" | "mpeg1video" => 2.0,
        "mpeg4" | "msmpeg4v3" | "msmpeg4v2" | "wmv3" | "wmv2" => 1.6,
        "vc1" => 1.3,
        "vp9" => 0.7,
        "hevc" | "h265" => 0.65,
        "av1" => 0.55,
        _ => 1.0,
    }
}

/// `(pixels) → scale` as documented above.
pub fn resolution_scale(width: u32, height: u32) -> f64 {
    let pixels = f64::from(width) * f64::from(height);
    if pixels <= 0.0 {
        return 1.0;
    }
    (REFERENCE_PIXELS / pixels)
        .powf(RESOLUTION_EXPONENT)
        .clamp(RESOLUTION_SCALE_MIN, RESOLUTION_SCALE_MAX)
}

/// The threshold for a source in `source_codec` at `width`×`height`, encoded with `target`.
pub fn bpp_threshold(
    target: CpuEncoder,
    source_codec: &str,
    width: u32,
    height: u32,
    factor: f64,
) -> f64 {
    base_bpp(target) * resolution_scale(width, height) * codec_efficiency(source_codec) * factor
}

/// Video bit rate in b/s and whether it was estimated from the container's.
pub fn video_bitrate(info: &MediaInfo) -> Option<(u64, bool)> {
    let video = info.video.as_ref()?;
    if let Some(b) = video.bitrate {
        return Some((b, false));
    }
    let total = info.bit_rate.or_else(|| {
        (info.duration > 0.0 && info.size > 0)
            .then(|| (info.size as f64 * 8.0 / info.duration) as u64)
    })?;
    let audio: u64 = info.audio.iter().filter_map(|a| a.bitrate).sum();
    Some((total.saturating_sub(audio), true)).filter(|(b, _)| *b > 0)
}

/// Why a file is left alone. `code()` values are stable API.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    NoVideoStream {
        container: String,
        audio: usize,
        subtitles: usize,
    },
    EncoderUnavailable {
        encoder: CpuEncoder,
    },
    BelowMinFileSize {
        size: u64,
        min: u64,
    },
    /// The picture size is unknown or zero: nothing sensible can be encoded.
    UnreadableVideo {
        codec: String,
    },
    DolbyVision {
        codec: String,
    },
    AlreadyTargetCodec {
        codec: String,
        bit_depth: Option<u8>,
        container: String,
    },
    HdrNeedsTenBit {
        encoder: CpuEncoder,
        transfer: String,
    },
    /// The profile asks for SDR output but this ffmpeg has no tonemapping filter.
    TonemapUnavailable {
        transfer: String,
    },
    BppBelowThreshold {
        bpp: f64,
        threshold: f64,
        bitrate: u64,
        estimated: bool,
        source_codec: String,
        width: u32,
        height: u32,
        fps: f64,
    },
}

impl SkipReason {
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::NoVideoStream { .. } => "no_video_stream",
            SkipReason::EncoderUnavailable { .. } => "encoder_unavailable",
            SkipReason::BelowMinFileSize { .. } => "below_min_file_size",
            SkipReason::UnreadableVideo { .. } => "unreadable_video",
            SkipReason::DolbyVision { .. } => "dolby_vision",
            SkipReason::AlreadyTargetCodec { .. } => "already_target_codec",
            SkipReason::HdrNeedsTenBit { .. } => "hdr_needs_10bit_encoder",
            SkipReason::TonemapUnavailable { .. } => "tonemap_unavailable",
            SkipReason::BppBelowThreshold { .. } => "bpp_below_threshold",
        }
    }

    pub fn explanation(&self) -> Explanation {
        let code = self.code();
        match self {
            SkipReason::NoVideoStream {
                container,
                audio,
                subtitles,
            } => Explanation::new(
                code,
                "There is no video stream to encode.",
                format!(
                    "ffprobe found {audio} audio and {subtitles} subtitle stream(s) in this \
                     {container} file but no video (cover pictures do not count), so there is \
                     nothing to transcode."
                ),
            )
            .with("container", container.as_str())
            .with("audio_streams", *audio)
            .with("subtitle_streams", *subtitles),
            SkipReason::EncoderUnavailable { encoder } => Explanation::new(
                code,
                format!("The encoder {} is not available.", encoder.as_str()),
                "This ffmpeg does not list the profile's encoder, so the file is left alone.",
            )
            .with("encoder", encoder.as_str()),
            SkipReason::BelowMinFileSize { size, min } => Explanation::new(
                code,
                "The file is too small to be worth encoding.",
                format!(
                    "It has {size} bytes; the profile only encodes files of at least {min} bytes."
                ),
            )
            .with("size", *size)
            .with("min_file_size", *min),
            SkipReason::UnreadableVideo { codec } => Explanation::new(
                code,
                "The video stream's picture size is unknown.",
                format!(
                    "ffprobe reported a {codec} stream without a width or height; encoding it \
                     would fail or produce nothing useful."
                ),
            )
            .with("source_codec", codec.as_str()),
            SkipReason::DolbyVision { codec } => Explanation::new(
                code,
                "Dolby Vision would be lost.",
                format!(
                    "The {codec} stream carries Dolby Vision metadata. Re-encoding drops it and, \
                     for profile 5, would show wrong colours, so the file is kept as it is."
                ),
            )
            .with("source_codec", codec.as_str()),
            SkipReason::AlreadyTargetCodec {
                codec,
                bit_depth,
                container,
            } => {
                let mut e = Explanation::new(
                    code,
                    format!("The video is already {}.", codec_words(codec)),
                    format!(
                        "The video stream is {codec} at {} bits in {container}, which is what \
                         the profile produces; re-encoding would cost quality and time for \
                         little or no saving.",
                        bit_depth.unwrap_or(8)
                    ),
                )
                .with("source_codec", codec.as_str())
                .with("container", container.as_str());
                if let Some(d) = bit_depth {
                    e = e.with("bit_depth", *d);
                }
                e
            }
            SkipReason::HdrNeedsTenBit { encoder, transfer } => Explanation::new(
                code,
                "HDR video needs a 10-bit encoder.",
                format!(
                    "The source is HDR ({transfer}); {} cannot encode 10-bit here and \
                     tonemapping to SDR is never done silently, so the file is left alone.",
                    encoder.as_str()
                ),
            )
            .with("encoder", encoder.as_str())
            .with("color_transfer", transfer.as_str()),
            SkipReason::TonemapUnavailable { transfer } => Explanation::new(
                code,
                "SDR output needs a tonemapping filter this ffmpeg lacks.",
                format!(
                    "The source is HDR ({transfer}) and the profile asks for SDR output, but \
                     this ffmpeg has neither zscale with tonemap nor libplacebo. Keeping HDR \
                     instead would ignore the profile, so the file is left alone."
                ),
            )
            .with("color_transfer", transfer.as_str()),
            SkipReason::BppBelowThreshold {
                bpp,
                threshold,
                bitrate,
                estimated,
                source_codec,
                width,
                height,
                fps,
            } => Explanation::new(
                code,
                "The video is already lean; re-encoding would save little.",
                format!(
                    "The {source_codec} stream uses {bpp:.4} bits per pixel ({} kb/s{} at \
                     {width}×{height}, {fps:.3} fps), below the {threshold:.4} this target \
                     needs to save a worthwhile amount.",
                    bitrate / 1000,
                    if *estimated {
                        ", estimated from the container"
                    } else {
                        ""
                    }
                ),
            )
            .with("bpp", round4(*bpp))
            .with("bpp_threshold", round4(*threshold))
            .with("video_bitrate", *bitrate)
            .with("bitrate_estimated", *estimated)
            .with("source_codec", source_codec.as_str())
            .with("width", *width)
            .with("height", *height)
            .with("fps", *fps),
        }
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CpuEncoder::{Libsvtav1 as Av1, Libx265 as Hevc};

    #[test]
    fn bpp_model() {
        assert!((resolution_scale(1920, 1080) - 1.0).abs() < 1e-9);
        assert_eq!(resolution_scale(320, 240), 2.0, "clamped");
        assert_eq!(resolution_scale(7680, 4320), 0.5, "clamped");
        assert!(resolution_scale(1280, 720) > 1.2 && resolution_scale(1280, 720) < 1.3);
        // MPEG-2 needs twice H.264's bits; HEVC needs fewer.
        let h264 = bpp_threshold(Hevc, "h264", 1920, 1080, 1.0);
        assert!((h264 - 0.05).abs() < 1e-9);
        assert!((bpp_threshold(Hevc, "mpeg2video", 1920, 1080, 1.0) - 0.1).abs() < 1e-9);
        assert!(bpp_threshold(Av1, "hevc", 1920, 1080, 1.0) < h264);
        assert_eq!(bpp_threshold(Hevc, "h264", 1920, 1080, 0.0), 0.0);
    }
}
