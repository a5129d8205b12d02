//! The ffmpeg argument vector for a [`Plan`] encoded with VAAPI. Pure; stream mapping, audio,
//! subtitles, metadata and muxing come from `args::assemble`, so they are identical to the CPU
//! path. Choices, and why:
//!
//! - **Decode in software, encode on the GPU.** Frames are uploaded with
//!   `format=nv12|p010,hwupload` after `-init_hw_device vaapi=va:<node> -filter_hw_device va`.
//!   A full-GPU pipeline (`-hwaccel vaapi`) breaks on mid-stream format changes and on codecs
//!   the GPU cannot decode; a NAS CPU decodes H.264/MPEG-2 fast enough to feed the encoder.
//! - **Deinterlace on the CPU before the upload**, with the same `bwdif` as the CPU path:
//!   frames are in system memory anyway, every driver gets the same result, and
//!   `deinterlace_vaapi` is missing or limited on some drivers (Mesa).
//! - **Rate control is always explicit** (`-rc_mode`); ffmpeg's implicit choice depends on
//!   which other options happen to be set. The CRF-like quality of the plan maps as follows
//!   (lower is better everywhere; ICQ's valid range is 1–51, so the reference server's
//!   `100 − cq` would have asked for the worst quality):
//!
//!   | target      | plan quality            | CQP          | ICQ                      | QVBR                                                |
//!   |-------------|-------------------------|--------------|--------------------------|-----------------------------------------------------|
//!   | H.264, HEVC | x264/x265 CRF, 0–51     | `-qp` = CRF  | `-global_quality` = CRF  | `-global_quality` = CRF, `-b:v`/`-maxrate` = ceiling |
//!   | AV1         | SVT-AV1 CRF, 0–63       | `-qp` = 4×CRF| `-global_quality` = 4×CRF| the same, with the ceiling                           |
//!
//!   clamped to 1–51 (H.264/HEVC QP) or 1–255 (AV1 `q_idx`, which ffmpeg's `av1_vaapi` clips
//!   to 255; SVT-AV1 maps its CRF to `q_idx` by roughly ×4). ICQ is used when the probe
//!   verified it (Intel iHD), CQP otherwise (every driver, including Mesa/AMD); QVBR only
//!   when the caller supplies a bit-rate ceiling.
//! - `-low_power 1` when the probe found the encoder only works in low-power (VDEnc) mode.
//! - 10-bit: P010 upload and `-profile:v main10` (HEVC) or `main` (AV1, which covers 10-bit).
//!   H.264 has no 10-bit VAAPI profile: such a plan is refused rather than silently encoded
//!   at 8 bits. No `-level` is set (AMD's VAAPI may corrupt frames with one).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::model::{RateControl, VideoCodec};

use super::{Args, assemble, build_args, colour_args};
use crate::media::plan::{Plan, VideoEncode};

/// How the probe says the chosen render node encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaapiOptions {
    /// Render node, e.g. `/dev/dri/renderD128`.
    pub device: PathBuf,
    pub rate_control: RateControl,
    /// The encoder only works with `-low_power 1`.
    pub low_power: bool,
    /// Bit-rate ceiling in bits per second; required for QVBR, ignored otherwise.
    pub max_bitrate: Option<u64>,
}

/// A plan VAAPI cannot encode as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaapiArgsError {
    #[error("H.264 has no 10-bit VAAPI encode profile")]
    TenBitH264,
    #[error("QVBR needs a bit-rate ceiling")]
    QvbrWithoutBitrate,
}

/// The `_vaapi` encoder for a codec.
pub fn vaapi_encoder(codec: VideoCodec) -> &'static str {
    match codec {
        VideoCodec::H264 => "h264_vaapi",
        VideoCodec::Hevc => "hevc_vaapi",
        VideoCodec::Av1 => "av1_vaapi",
        VideoCodec::Vp9 => "vp9_vaapi",
    }
}

/// The VAAPI quality value for the plan's CRF (see the table above).
pub fn vaapi_quality(codec: VideoCodec, crf: u8) -> u32 {
    match codec {
        VideoCodec::H264 | VideoCodec::Hevc => u32::from(crf).clamp(1, 51),
        VideoCodec::Av1 | VideoCodec::Vp9 => (u32::from(crf) * 4).clamp(1, 255),
    }
}

/// The full argument list to encode `input` into `output` on the GPU. A remux plan (no video
/// encode) needs no GPU and gets the CPU path's vector.
pub fn build_vaapi_args(
    plan: &Plan,
    input: &Path,
    output: &Path,
    opts: &VaapiOptions,
) -> Result<Vec<OsString>, VaapiArgsError> {
    let Some(v) = &plan.video else {
        return Ok(build_args(plan, input, output));
    };
    let codec = v.encoder.codec();
    if v.ten_bit && codec == VideoCodec::H264 {
        return Err(VaapiArgsError::TenBitH264);
    }
    if opts.rate_control == RateControl::Qvbr && opts.max_bitrate.is_none() {
        return Err(VaapiArgsError::QvbrWithoutBitrate);
    }
    let mut device = OsString::from("vaapi=va:");
    device.push(opts.device.as_os_str());
    let global = [
        OsString::from("-init_hw_device"),
        device,
        OsString::from("-filter_hw_device"),
        OsString::from("va"),
    ];
    Ok(assemble(plan, input, output, &global, |a, v| {
        video_args(a, v, codec, opts)
    }))
}

fn video_args(a: &mut Args, v: &VideoEncode, codec: VideoCodec, opts: &VaapiOptions) {
    let upload = if v.ten_bit {
        "format=p010,hwupload"
    } else {
        "format=nv12,hwupload"
    };
    a.push(["-vf"]);
    if v.deinterlace {
        a.owned(format!(
            "bwdif=mode=send_frame:parity=auto:deint=all,{upload}"
        ));
    } else {
        a.push([upload]);
    }
    a.push(["-c:v", vaapi_encoder(codec)]);
    if v.ten_bit {
        a.push([
            "-profile:v",
            if codec == VideoCodec::Hevc {
                "main10"
            } else {
                "main"
            },
        ]);
    }
    if opts.low_power {
        a.push(["-low_power", "1"]);
    }
    let quality = vaapi_quality(codec, v.crf).to_string();
    a.push(["-rc_mode", opts.rate_control.as_str()]);
    match opts.rate_control {
        RateControl::Cqp => a.push(["-qp", &quality]),
        RateControl::Icq => a.push(["-global_quality", &quality]),
        RateControl::Qvbr => {
            let rate = opts.max_bitrate.unwrap_or_default().to_string();
            a.push([
                "-global_quality",
                &quality,
                "-b:v",
                &rate,
                "-maxrate",
                &rate,
            ]);
        }
    }
    colour_args(a, v);
}

#[cfg(test)]
#[path = "vaapi_tests.rs"]
mod tests;
