//! `alchemist plan PATH... [--json]` run as a binary over generated clips: decisions per file,
//! directories walked without our own outputs, nothing written, non-UTF-8 names printed.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use crate::support::binary::BIN;
use crate::support::clips::{copy_into, ffprobe, h264_clip, hevc_clip};

#[test]
fn plan_prints_decisions_and_encodes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    copy_into(dir.path(), h264_clip(), OsStr::new("a movie.mp4"));
    copy_into(dir.path(), hevc_clip(), OsStr::from_bytes(b"b \xff\n.mkv"));
    // Our own output is never planned again.
    copy_into(dir.path(), hevc_clip(), OsStr::new("a movie.alchemist.mp4"));
    std::fs::write(dir.path().join("c.mkv"), "not a video").unwrap();
    let before: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();

    let out = Command::new(BIN)
        .args(["plan", "--json", "--ffprobe"])
        .arg(ffprobe())
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 3, "{reports:#?}");
    let find = |suffix: &str| {
        reports
            .iter()
            .find(|r| r["path"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} in {reports:#?}"))
    };
    let a = find("a movie.mp4");
    assert_eq!(a["action"], "transcode");
    assert_eq!(a["explanation"]["code"], "transcode_recommended");
    let b = find("b \u{fffd}\n.mkv");
    assert_eq!(b["action"], "skip");
    assert_eq!(b["explanation"]["code"], "already_target_codec");
    let c = find("c.mkv");
    assert_eq!(c["action"], "error");
    assert_eq!(c["explanation"]["code"], "probe_failed");

    // Text output, one file, another encoder.
    let out = Command::new(BIN)
        .args(["plan", "--encoder", "libx264", "--ffprobe"])
        .arg(ffprobe())
        .arg(dir.path().join("a movie.mp4"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("skip [already_target_codec]"), "{text}");

    let after: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(before.len(), after.len(), "plan must not write anything");

    let out = Command::new(BIN)
        .args(["plan", "--profile", "nope", "x.mkv"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown profile"));
}
