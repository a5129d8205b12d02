//! The ffmpeg argument vector for a [`Plan`] encoded by a V4L2 memory-to-memory encoder
//! (`h264_v4l2m2m`, `hevc_v4l2m2m`). Pure; stream mapping, audio, subtitles, metadata and
//! muxing come from `args::assemble`, so they are identical to the CPU path. Choices, and why:
//!
//! - **Bit rate, always explicit.** ffmpeg's V4L2 encoders only do bit-rate control (no CRF or
//!   CQ), and without `-b:v` they ask the device for ffmpeg's 200 kb/s default. The target is
//!
//!   `bits/s = bpp(codec) × 2^((23 − crf) / 6) × width × height × fps`
//!
//!   with `bpp(H.264) = 0.10` bits per pixel (≈ 6.2 Mb/s for 1080p30 at CRF 23, a typical
//!   "transparent for TV" rate for hardware H.264, which compresses worse than x264) and
//!   `bpp(HEVC) = 0.065` (HEVC needs about 35 % fewer bits for the same quality). The plan's CRF
//!   still matters: every 6 CRF steps halve or double the rate, as they roughly do for x264.
//!   The result is capped at [`SOURCE_CAP`] of the source's bit rate when it is known (a
//!   re-encode that does not shrink the file is pointless) and floored at [`MIN_BITRATE`].
//! - **Keyframe interval** `-g` = 10 seconds of frames; ffmpeg's default GOP of 12 frames
//!   would spend most of the rate on keyframes.
//! - **Pixel format** = what the device's OUTPUT queue takes: `yuv420p` (YU12) first, else
//!   `nv12`; ffmpeg refuses to open the encoder otherwise ("Encoder requires yuv420p pixel
//!   format"). 10-bit is refused: the V4L2 encoders ffmpeg drives take 8-bit 4:2:0 only.
//! - **Dimensions** are scaled down to multiples of the device's alignment (its frame-size step;
//!   at least 2 for 4:2:0, 16 for macroblock-aligned encoders such as hantro/coda, 64 on the
//!   Raspberry Pi, as Jellyfin does). Down, so nothing is upscaled; the aspect change is at most
//!   alignment − 1 pixels. No scale filter when the source is already aligned.
//! - **Deinterlace on the CPU** with the same `bwdif` as the CPU path, before any scale.
//! - No `-profile`/`-level` (drivers differ in what they accept) and no device option: ffmpeg's
//!   V4L2 encoder finds its device by scanning `/dev/video*` for one with the coded format.

use std::ffi::OsString;
use std::path::Path;

use crate::model::VideoCodec;

use super::{Args, assemble, build_args, colour_args};
use crate::media::plan::{Plan, VideoEncode};

/// Bits per pixel of H.264 at CRF 23.
pub const BPP_H264: f64 = 0.10;
/// Bits per pixel of HEVC at CRF 23.
pub const BPP_HEVC: f64 = 0.065;
/// Share of the source bit rate the target may reach at most.
pub const SOURCE_CAP: f64 = 0.8;
/// Lowest target: far above ffmpeg's 200 kb/s default, low enough for tiny clips.
pub const MIN_BITRATE: u64 = 300_000;
/// Keyframe interval in seconds.
const GOP_SECONDS: f64 = 10.0;

/// The source and the device, as the probes saw them.
#[derive(Debug, Clone, PartialEq)]
pub struct V4l2Options {
    /// Source frame size and rate.
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Source video bit rate in bits/s, when ffprobe knew it.
    pub source_bitrate: Option<u64>,
    /// Raw fourccs the device's OUTPUT queue takes ("YU12", "NV12"…).
    pub input_formats: Vec<String>,
    /// Width and height must be multiples of this (the device's frame-size step; ≥ 2).
    pub align: u32,
}

/// A plan a V4L2 encoder cannot encode as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V4l2ArgsError {
    #[error("ffmpeg has no V4L2 encoder for {0}")]
    Codec(VideoCodec),
    #[error("ffmpeg's V4L2 encoders take 8-bit 4:2:0 only")]
    TenBit,
    #[error("the device takes neither yuv420p (YU12) nor nv12 (NV12)")]
    PixelFormat,
    #[error("the source has no usable size or frame rate")]
    Geometry,
}

/// The ffmpeg V4L2 encoder for a codec.
pub fn v4l2_encoder(codec: VideoCodec) -> Option<&'static str> {
    match codec {
        VideoCodec::H264 => Some("h264_v4l2m2m"),
        VideoCodec::Hevc => Some("hevc_v4l2m2m"),
        VideoCodec::Av1 | VideoCodec::Vp9 => None,
    }
}

/// The target bit rate in bits/s (see the formula above), rounded to kb/s.
pub fn target_bitrate(codec: VideoCodec, crf: u8, opts: &V4l2Options) -> u64 {
    let bpp = match codec {
        VideoCodec::Hevc => BPP_HEVC,
        _ => BPP_H264,
    };
    let quality = 2f64.powf((23.0 - f64::from(crf)) / 6.0);
    let pixels = f64::from(opts.width) * f64::from(opts.height) * opts.fps;
    let mut rate = bpp * quality * pixels;
    if let Some(src) = opts.source_bitrate.filter(|b| *b > 0) {
        rate = rate.min(src as f64 * SOURCE_CAP);
    }
    let rate = (rate.max(MIN_BITRATE as f64) / 1000.0).round() as u64 * 1000;
    rate.max(MIN_BITRATE)
}

/// Width and height rounded down to multiples of `align` (at least 2).
pub fn aligned_size(width: u32, height: u32, align: u32) -> (u32, u32) {
    let a = align.max(2);
    ((width / a) * a, (height / a) * a)
}

/// ffmpeg's name of the raw format to feed the device.
pub fn pixel_format(input_formats: &[String]) -> Option<&'static str> {
    [("YU12", "yuv420p"), ("NV12", "nv12")]
        .into_iter()
        .find(|(f, _)| input_formats.iter().any(|i| i == f))
        .map(|(_, p)| p)
}

/// The full argument list to encode `input` into `output` on the V4L2 encoder. A remux plan
/// (no video encode) gets the CPU path's vector.
pub fn build_v4l2_args(
    plan: &Plan,
    input: &Path,
    output: &Path,
    opts: &V4l2Options,
) -> Result<Vec<OsString>, V4l2ArgsError> {
    let Some(v) = &plan.video else {
        return Ok(build_args(plan, input, output));
    };
    let codec = v.encoder.codec();
    let encoder = v4l2_encoder(codec).ok_or(V4l2ArgsError::Codec(codec))?;
    if v.ten_bit {
        return Err(V4l2ArgsError::TenBit);
    }
    let pix_fmt = pixel_format(&opts.input_formats).ok_or(V4l2ArgsError::PixelFormat)?;
    let (w, h) = aligned_size(opts.width, opts.height, opts.align);
    if w == 0 || h == 0 || !(opts.fps.is_finite() && opts.fps > 0.0) {
        return Err(V4l2ArgsError::Geometry);
    }
    let video = VideoChoice {
        encoder,
        pix_fmt,
        scale: ((w, h) != (opts.width, opts.height)).then_some((w, h)),
        bitrate: target_bitrate(
            codec,
            v.crf,
            &V4l2Options {
                width: w,
                height: h,
                ..opts.clone()
            },
        ),
        gop: (opts.fps * GOP_SECONDS).round().max(1.0) as u32,
    };
    Ok(assemble(plan, input, output, &[], |a, v| {
        video_args(a, v, &video)
    }))
}

struct VideoChoice {
    encoder: &'static str,
    pix_fmt: &'static str,
    scale: Option<(u32, u32)>,
    bitrate: u64,
    gop: u32,
}

fn video_args(a: &mut Args, v: &VideoEncode, c: &VideoChoice) {
    let mut filters = Vec::new();
    if v.deinterlace {
        filters.push("bwdif=mode=send_frame:parity=auto:deint=all".to_string());
    }
    if let Some((w, h)) = c.scale {
        filters.push(format!("scale={w}:{h}"));
    }
    if !filters.is_empty() {
        a.push(["-vf"]);
        a.owned(filters.join(","));
    }
    a.push(["-c:v", c.encoder, "-pix_fmt", c.pix_fmt, "-b:v"]);
    a.owned(c.bitrate.to_string());
    a.push(["-g"]);
    a.owned(c.gop.to_string());
    colour_args(a, v);
}

#[cfg(test)]
#[path = "v4l2_tests.rs"]
mod tests;
