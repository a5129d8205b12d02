//! What a profile says about its output, end to end with real ffmpeg: HDR kept by default or
//! tonemapped to SDR on request (`hdr`), and where the output goes (`location`: a suffix of
//! its own beside the original, or an `output_root` mirroring the library's layout).

mod hdr;
mod location;
mod page;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::clips::ffprobe;

/// The first video stream's fields as ffprobe reports them.
pub(super) fn video_stream(path: &Path) -> Value {
    let out = Command::new(ffprobe())
        .args(["-v", "error", "-select_streams", "v:0", "-print_format", "json"])
        .args(["-show_streams"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {path:?}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["streams"][0].clone()
}
