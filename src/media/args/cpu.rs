//! CPU encoders (libx265, libsvtav1, libx264): the encoder, its quality and preset, filters,
//! pixel format and colour tags, on the shared skeleton.

use std::ffi::OsString;
use std::path::Path;

use super::{Args, assemble, colour_args};
use crate::media::plan::{Plan, VideoEncode};
use crate::model::CpuEncoder;

/// The full ffmpeg argument list to encode (or remux) `input` into `output` according to
/// `plan`. `-y` is safe because `output` is always our own temp file.
pub fn build_args(plan: &Plan, input: &Path, output: &Path) -> Vec<OsString> {
    assemble(plan, input, output, &[], video_args)
}

/// Encoder, quality, filters, pixel format and colour tags.
fn video_args(a: &mut Args, v: &VideoEncode) {
    if v.deinterlace {
        // One output frame per frame (not per field): same frame rate, no doubled size.
        a.push(["-vf", "bwdif=mode=send_frame:parity=auto:deint=all"]);
    }
    a.push(["-c:v", v.encoder.as_str(), "-preset", &v.preset]);
    a.push(["-crf"]);
    a.owned(v.crf.to_string());
    if v.ten_bit {
        a.push(["-pix_fmt", "yuv420p10le"]);
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
