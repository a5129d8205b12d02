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
//!   (lower is better everywhere):
//!
//!   | target      | plan quality        | CQP                              | ICQ, QVBR                                   |
//!   |-------------|---------------------|----------------------------------|---------------------------------------------|
//!   | H.264, HEVC | x264/x265 CRF, 0–51 | `-qp` = CRF, 1–51                | `-global_quality` = CRF, 1–51               |
//!   | AV1         | SVT-AV1 CRF, 0–63   | `-global_quality` = 4×CRF, 1–255 | `-global_quality` = CRF×51/63, 1–51         |
//!
//!   Why AV1 differs: `av1_vaapi` has no `-qp` option (only `h264_vaapi`/`hevc_vaapi` do), so
//!   `-qp` would be ignored with a warning and every frame encoded at the default quality; its
//!   CQP takes `q_idx` (0–255, SVT-AV1's CRF is roughly `q_idx`/4) from `-global_quality`
//!   (`vaapi_encode_av1.c`). ICQ is the driver's 1–51 quality factor whatever the codec:
//!   `vaapi_encode.c` sends `ICQ_quality_factor = av_clip(rc_quality, 1, 51)`, so a `q_idx`-scaled
//!   value would be clipped to 51, the worst quality, for every CRF ≥ 13. The rule for which
//!   option carries the quality is `RateControl::quality_option`, shared with the probe.
//!   ICQ is used when the probe verified it (Intel iHD), CQP otherwise (every driver,
//!   including Mesa/AMD); QVBR only when the caller supplies a bit-rate ceiling.
//! - **AMD HEVC** (libva driver `radeonsi`): `-flags:v -global_header -bsf:v
//!   extract_extradata=remove=0`. Mesa's HEVC encoder writes in-band parameter sets that do not
//!   match the extradata ffmpeg builds for the container, so `hvc1` MP4 (and Matroska) outputs
//!   fail to decode; Jellyfin's `EncodingHelper.GetVideoQualityParam` works around it the same
//!   way, building the extradata from the in-band sets instead.
//! - `-low_power 1` when the probe found the encoder only works in low-power (VDEnc) mode.
//! - 10-bit: P010 upload and `-profile:v main10` (HEVC) or `main` (AV1, which covers 10-bit).
//!   H.264 has no 10-bit VAAPI profile: such a plan is refused rather than silently encoded
//!   at 8 bits. No `-level` is set (AMD's VAAPI may corrupt frames with one).
//! - VP9 is not a target: no CPU encoder profile produces VP9, so the probe does not test
//!   `vp9_vaapi` and this refuses it.

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
    /// The libva driver the probe found on the node (`iHD`, `i965`, `radeonsi`…).
    pub driver: Option<String>,
}

/// The libva driver of AMD GPUs (Mesa).
pub const AMD_DRIVER: &str = "radeonsi";

/// A plan VAAPI cannot encode as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaapiArgsError {
    #[error("H.264 has no 10-bit VAAPI encode profile")]
    TenBitH264,
    #[error("QVBR needs a bit-rate ceiling")]
    QvbrWithoutBitrate,
    #[error("{0} is not a VAAPI target")]
    Codec(VideoCodec),
    /// Tonemapping is done on the CPU (zscale/libplacebo); `tonemap_vaapi` exists only on some
    /// Intel drivers and could not be tested here, so a tonemapping plan is not hardware's.
    #[error("tonemapping HDR to SDR is done on the CPU")]
    Tonemap,
}

/// The `_vaapi` encoder for a codec we encode to; VP9 is not one.
pub fn vaapi_encoder(codec: VideoCodec) -> Option<&'static str> {
    match codec {
        VideoCodec::H264 => Some("h264_vaapi"),
        VideoCodec::Hevc => Some("hevc_vaapi"),
        VideoCodec::Av1 => Some("av1_vaapi"),
        VideoCodec::Vp9 => None,
    }
}

/// The VAAPI quality value for the plan's CRF in rate-control mode `rc` (see the table above).
pub fn vaapi_quality(codec: VideoCodec, rc: RateControl, crf: u8) -> u32 {
    let crf = u32::from(crf);
    match (codec, rc) {
        (VideoCodec::H264 | VideoCodec::Hevc, _) => crf.clamp(1, 51),
        // q_idx, which `av1_vaapi` clips to 0–255.
        (_, RateControl::Cqp) => (crf * 4).clamp(1, 255),
        // The driver's ICQ quality factor, 1–51: the CRF's 0–63 range mapped onto it.
        (_, RateControl::Icq | RateControl::Qvbr) => ((crf * 51 + 31) / 63).clamp(1, 51),
    }
}

/// Whether the encode needs its parameter sets taken from the stream (AMD HEVC, see above).
pub fn extradata_from_stream(codec: VideoCodec, driver: Option<&str>) -> bool {
    codec == VideoCodec::Hevc && driver == Some(AMD_DRIVER)
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
    let encoder = vaapi_encoder(codec).ok_or(VaapiArgsError::Codec(codec))?;
    if v.tonemap.is_some() {
        return Err(VaapiArgsError::Tonemap);
    }
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
        video_args(a, v, (codec, encoder), opts)
    }))
}

fn video_args(
    a: &mut Args,
    v: &VideoEncode,
    (codec, encoder): (VideoCodec, &str),
    opts: &VaapiOptions,
) {
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
    a.push(["-c:v", encoder]);
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
    let rc = opts.rate_control;
    let quality = vaapi_quality(codec, rc, v.crf).to_string();
    a.push(["-rc_mode", rc.as_str(), rc.quality_option(codec), &quality]);
    if rc == RateControl::Qvbr {
        let rate = opts.max_bitrate.unwrap_or_default().to_string();
        a.push(["-b:v", &rate, "-maxrate", &rate]);
    }
    colour_args(a, v);
    if extradata_from_stream(codec, opts.driver.as_deref()) {
        a.push([
            "-flags:v",
            "-global_header",
            "-bsf:v",
            "extract_extradata=remove=0",
        ]);
    }
}

#[cfg(test)]
#[path = "vaapi_tests.rs"]
mod tests;
