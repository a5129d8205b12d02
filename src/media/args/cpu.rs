//! CPU encoders (libx265, libsvtav1, libx264): the encoder, its quality and preset, filters
//! (deinterlacing, and tonemapping HDR to SDR when the plan asks: only the CPU backend does),
//! pixel format and colour tags, on the shared skeleton.

use std::ffi::OsString;
use std::path::Path;

use super::{Args, assemble, colour_args};
use crate::media::plan::{Plan, VideoEncode};
use crate::model::CpuEncoder;
use crate::profiles::Tonemapper;

/// The full ffmpeg argument list to encode (or remux) `input` into `output` according to
/// `plan`. `-y` is safe because `output` is always our own temp file.
pub fn build_args(plan: &Plan, input: &Path, output: &Path) -> Vec<OsString> {
    assemble(plan, input, output, &[], video_args)
}

/// Deinterlacing: one output frame per frame (not per field): same frame rate, no doubled size.
const DEINTERLACE: &str = "bwdif=mode=send_frame:parity=auto:deint=all";

/// HDR (PQ or HLG, read from the frames' tags) to SDR BT.709 with zimg: to linear light at a
/// nominal peak of 100 nits, float RGB for the tonemap, BT.709 primaries, the Hable curve
/// without desaturation (it keeps highlights' colour), then the BT.709 transfer and matrix in
/// limited range, in the pixel format given.
fn zscale_chain(pix_fmt: &str) -> String {
    format!(
        "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,\
         zscale=t=bt709:m=bt709:r=tv,format={pix_fmt}"
    )
}

/// The same with libplacebo (needs a Vulkan device; its own tonemapping curve choice).
fn libplacebo_chain(pix_fmt: &str) -> String {
    format!(
        "libplacebo=tonemapping=auto:colorspace=bt709:color_primaries=bt709:color_trc=bt709:\
         range=tv:format={pix_fmt}"
    )
}

/// The `-vf` chain for `v`: deinterlace first (on the source's fields), then tonemap.
pub(super) fn filter_chain(v: &VideoEncode) -> Option<String> {
    let pix_fmt = if v.ten_bit { "yuv420p10le" } else { "yuv420p" };
    let tonemap = v.tonemap.map(|t| match t {
        Tonemapper::Zscale => zscale_chain(pix_fmt),
        Tonemapper::Libplacebo => libplacebo_chain(pix_fmt),
    });
    let chain: Vec<String> = v
        .deinterlace
        .then(|| DEINTERLACE.to_string())
        .into_iter()
        .chain(tonemap)
        .collect();
    (!chain.is_empty()).then(|| chain.join(","))
}

/// Encoder, quality, filters, pixel format and colour tags.
fn video_args(a: &mut Args, v: &VideoEncode) {
    if let Some(chain) = filter_chain(v) {
        a.push(["-vf"]);
        a.owned(chain);
    }
    a.push(["-c:v", v.encoder.as_str(), "-preset", &v.preset]);
    a.push(["-crf"]);
    a.owned(v.crf.to_string());
    if v.ten_bit {
        a.push(["-pix_fmt", "yuv420p10le"]);
    } else if v.tonemap.is_some() {
        // The source is 10-bit: say 8 bits, or the encoder might pick a 10-bit format.
        a.push(["-pix_fmt", "yuv420p"]);
    }
    colour_args(a, v);
    if v.encoder == CpuEncoder::Libx265 {
        // x265 prints its own banner and per-frame stats on stderr; keep our tail readable.
        a.push(["-x265-params", "log-level=error"]);
    }
}

#[cfg(test)]
#[path = "cpu_tests.rs"]
pub(super) mod tests;
