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
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-print_format",
            "json",
        ])
        .args(["-show_streams"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {path:?}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["streams"][0].clone()
}

/// The mean luma (0–255) over every frame of `path`'s video, by ffmpeg's `signalstats`.
pub(super) fn mean_luma(path: &Path) -> f64 {
    let out = Command::new(crate::support::clips::ffmpeg())
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            "format=yuv420p,signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-",
        ])
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "signalstats {path:?}");
    let values: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("lavfi.signalstats.YAVG="))
        .map(|v| v.trim().parse().unwrap())
        .collect();
    assert!(!values.is_empty(), "no frames measured in {path:?}");
    values.iter().sum::<f64>() / values.len() as f64
}
