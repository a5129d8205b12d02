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
//! - **Dimensions.** ffmpeg copies each plane of a frame into the V4L2 buffer at *its own*
//!   line size, one plane after the other (`v4l2_buffers.c`, `v4l2_buffer_swframe_to_buf`:
//!   `size = frame->linesize[i] * h`), and never reads the driver's `bytesperline`. The driver
//!   reads rows at its own stride: the Raspberry Pi's bcm2835-codec pads YU12 rows to 64 bytes
//!   and NV12 rows to 32 when encoding (`bytesperline_align` of its format table, `ALIGN(width,
//!   64)`), while its ENUM_FRAMESIZES step is only 2. At 720 (DVD), 854 or 1440 wide the two
//!   strides differ and every row after the first is shifted: a corrupted picture that still
//!   decodes, so ffmpeg exits 0 and verification passes. So the width is scaled down to a
//!   multiple of the driver's row alignment (measured by the probe at an unaligned width, when
//!   it was) and at least 64 for `yuv420p` (whose chroma rows, half as long, must then be
//!   32-byte multiples too) or 32 for `nv12`: at those widths ffmpeg's own line size (aligned
//!   to at most 32 on ARM) equals the row length, as Jellyfin's `scale=trunc(iw/64)*64` for
//!   `h264_v4l2m2m` assumes. The height only follows the device's step (at least 2 for 4:2:0)
//!   and the plane height the driver pads to, never the width's alignment: 1080 stays 1080.
//!   Sources larger than the device's maximum (1920×1920 on the Pi) are scaled to fit, keeping
//!   the aspect ratio. Down, so nothing is upscaled; `scale` keeps the display aspect ratio by
//!   adjusting the sample aspect ratio. No scale filter when the source already fits.
//! - **MP4 only.** `v4l2_m2m_enc.c` never fills the codec's extradata (it asks the driver for
//!   separate headers and passes them in-band), and Matroska needs the H.264/HEVC
//!   `CodecPrivate` when it writes its header: the Matroska muxer fails with "Could not write
//!   header" (seen with other extradata-less hardware encoders: hbiyik/FFmpeg#11, "mp4 works
//!   though"). ffmpeg's MP4 muxer builds `avcC`/`hvcC` from the parameter sets in the first
//!   packet, so a V4L2 encode writes MP4 and a plan for Matroska is refused here (the engine
//!   plans such jobs for MP4, or encodes them on the CPU).
//! - **Deinterlace on the CPU** with the same `bwdif` as the CPU path, before any scale.
//! - No `-profile`/`-level` (drivers differ in what they accept) and no device option: ffmpeg's
//!   V4L2 encoder finds its device by scanning `/dev/video*` for one with the coded format.

use std::ffi::OsString;
use std::path::Path;

use crate::model::VideoCodec;

use super::{Args, assemble, build_args, colour_args};
use crate::media::plan::{OutputContainer, Plan, VideoEncode};

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

/// Row alignment ffmpeg's own frames need so that their line size is the row length: 64 for
/// `yuv420p` (its chroma rows are half as long and must be 32-byte multiples), 32 for `nv12`.
pub const FFMPEG_ROW_ALIGN_YUV420P: u32 = 64;
pub const FFMPEG_ROW_ALIGN_NV12: u32 = 32;

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
    /// What the device allows, from its frame sizes and the probe's stride measurement.
    pub device: V4l2Geometry,
}

/// The device's size constraints for the raw format fed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V4l2Geometry {
    /// ENUM_FRAMESIZES steps (1 when the driver lists none or discrete sizes).
    pub step_width: u32,
    pub step_height: u32,
    /// Largest frame the encoder takes.
    pub max_width: Option<u32>,
    pub max_height: Option<u32>,
    /// What the driver aligns `bytesperline` to, measured by the probe (`None`: not measured).
    pub row_align: Option<u32>,
    /// What the driver pads each plane's height to, measured likewise.
    pub plane_rows_align: Option<u32>,
}

impl V4l2Geometry {
    /// A device that states no constraint but 4:2:0's even sizes.
    pub const PLAIN: V4l2Geometry = V4l2Geometry {
        step_width: 2,
        step_height: 2,
        max_width: None,
        max_height: None,
        row_align: None,
        plane_rows_align: None,
    };
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
    #[error(
        "ffmpeg's V4L2 encoders write no extradata, which Matroska needs: the output must be MP4"
    )]
    Container,
    /// Tonemapping is done on the CPU: the V4L2 path has no filter for it.
    #[error("tonemapping HDR to SDR is done on the CPU")]
    Tonemap,
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

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The least common multiple, for alignments that must all hold.
fn lcm(a: u32, b: u32) -> u32 {
    let (a, b) = (a.max(1), b.max(1));
    a / gcd(a, b) * b
}

/// (width, height) multiples the output must be for `pix_fmt` on `device` (see the module
/// documentation). Pure.
pub fn alignment(pix_fmt: &str, device: &V4l2Geometry) -> (u32, u32) {
    let ffmpeg = if pix_fmt == "nv12" {
        FFMPEG_ROW_ALIGN_NV12
    } else {
        FFMPEG_ROW_ALIGN_YUV420P
    };
    let width = lcm(
        lcm(ffmpeg, device.step_width),
        device.row_align.unwrap_or(1),
    );
    let height = lcm(
        lcm(2, device.step_height),
        device.plane_rows_align.unwrap_or(1),
    );
    (width, height)
}

/// The encoded size: the source scaled down (aspect kept) to fit the device's maximum, then
/// each side rounded down to its alignment. Pure.
pub fn output_size(
    width: u32,
    height: u32,
    align: (u32, u32),
    device: &V4l2Geometry,
) -> (u32, u32) {
    let fit =
        |max: Option<u32>, side: u32| max.map_or(1.0, |m| f64::from(m) / f64::from(side.max(1)));
    let scale = fit(device.max_width, width)
        .min(fit(device.max_height, height))
        .min(1.0);
    let down = |side: u32, a: u32| {
        let a = a.max(1);
        let scaled = (f64::from(side) * scale).floor() as u32;
        (scaled / a) * a
    };
    (down(width, align.0), down(height, align.1))
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
    if v.tonemap.is_some() {
        return Err(V4l2ArgsError::Tonemap);
    }
    if v.ten_bit {
        return Err(V4l2ArgsError::TenBit);
    }
    if plan.container != OutputContainer::Mp4 {
        return Err(V4l2ArgsError::Container);
    }
    let pix_fmt = pixel_format(&opts.input_formats).ok_or(V4l2ArgsError::PixelFormat)?;
    let align = alignment(pix_fmt, &opts.device);
    let (w, h) = output_size(opts.width, opts.height, align, &opts.device);
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
