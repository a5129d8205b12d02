//! Hardware capability detection as an operator sees it on this machine (no GPU, no
//! /dev/dri): `alchemist probe` exits 0 and explains that only CPU encoders exist and why, and
//! the API and hardware page carry the VAAPI fields.

use std::process::Command;

use serde_json::Value;

use crate::support::binary::BIN;
use crate::support::wait::DETECTION;
use crate::support::{TestServer, wait_until};

fn probe(args: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .arg("probe")
        .args(args)
        .env("ALCHEMIST_FFMPEG", "/usr/bin/ffmpeg")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    (stdout, stderr)
}

#[test]
fn probe_json_says_cpu_only_and_why() {
    let (stdout, _) = probe(&["--json"]);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let cpu = v["cpu_encoders"].as_array().unwrap();
    assert!(!cpu.is_empty(), "{v}");
    for e in cpu {
        assert_eq!(e["verified"], true, "{e}");
    }
    assert_eq!(v["vaapi"]["devices"], Value::Array(vec![]));
    let reason = v["vaapi"]["unavailable_reason"].as_str().unwrap();
    assert!(reason.contains("no render node under /dev/dri"), "{reason}");
    // Debian's ffmpeg lists VAAPI encoders; there is just nothing to run them on.
    assert!(reason.contains("hevc_vaapi"), "{reason}");
    assert_eq!(v["selected"]["hevc"], "cpu");
    assert_eq!(v["selected"]["h264"], "cpu");
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("Only CPU encoders")
    );
    let steps: Vec<&str> = v["probe_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["step"].as_str().unwrap())
        .collect();
    for step in [
        "version",
        "discover",
        "encoders",
        "hwaccels",
        "test_encode:libx265",
    ] {
        assert!(steps.contains(&step), "{step} in {steps:?}");
    }
    assert!(
        v["fingerprint"]
            .as_str()
            .unwrap()
            .contains("render nodes: none")
    );
}

/// No /dev/video* here: the V4L2 part says so, lists what ffmpeg could drive, and exits 0.
#[test]
fn probe_json_says_there_is_no_v4l2_device() {
    let (stdout, _) = probe(&["--json"]);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["v4l2"]["devices"], Value::Array(vec![]), "{}", v["v4l2"]);
    assert_eq!(
        v["v4l2"]["unavailable_reason"],
        "there is no V4L2 video node under /dev"
    );
    let listed = v["v4l2"]["listed_encoders"].as_array().unwrap();
    assert!(listed.iter().any(|e| e == "h264_v4l2m2m"), "{listed:?}");
    let discover = v["probe_log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["backend"] == "v4l2m2m" && e["step"] == "discover")
        .unwrap();
    assert_eq!(discover["output"], "no video nodes under /dev");
    assert!(v["summary"].as_str().unwrap().contains("V4L2 M2M not used"));
    assert!(
        v["fingerprint"]
            .as_str()
            .unwrap()
            .contains("video nodes: none")
    );
}

#[test]
fn probe_text_report_explains_itself() {
    let (stdout, _) = probe(&[]);
    assert!(stdout.contains("Only CPU encoders can be used"), "{stdout}");
    assert!(stdout.contains("devices: none"), "{stdout}");
    assert!(
        stdout.contains("$ /usr/bin/ffmpeg -hide_banner -nostdin -v error"),
        "{stdout}"
    );
    assert!(stdout.contains("hevc  cpu"), "{stdout}");
    let v4l2 = stdout.split("V4L2 M2M:\n").nth(1).unwrap();
    assert!(
        v4l2.starts_with("  ffmpeg lists: h263_v4l2m2m, h264_v4l2m2m"),
        "{v4l2}"
    );
    assert!(v4l2.contains("  devices: none"), "{v4l2}");
}

#[test]
fn probe_without_ffmpeg_still_exits_zero() {
    let out = Command::new(BIN)
        .args(["probe", "--json", "--ffmpeg", "/nonexistent/ffmpeg"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ffmpeg_version"], Value::Null);
    assert!(
        v["summary"].as_str().unwrap().contains("no CPU encoder"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_page_show_why_there_are_no_devices() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let hw = wait_until(DETECTION, "hardware detection to finish", async || {
        let hw = server.get_json("/api/system/hardware", &token).await;
        if hw["probed_at"].is_null() {
            Err(hw)
        } else {
            Ok(hw)
        }
    })
    .await;
    assert_eq!(hw["vaapi_devices"], Value::Array(vec![]));
    let reason = hw["vaapi_unavailable_reason"].as_str().unwrap();
    assert!(reason.contains("no render node"), "{reason}");
    assert!(
        hw["backends"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["kind"] == "cpu")
    );
    let page = server
        .cookie(reqwest::Method::GET, "/hardware", &token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("No VAAPI render nodes found."), "{page}");
    assert!(page.contains("no render node under"), "{page}");
    assert_eq!(hw["v4l2_devices"], Value::Array(vec![]));
    assert_eq!(
        hw["v4l2_unavailable_reason"],
        "there is no V4L2 video node under /dev"
    );
    assert!(page.contains("No V4L2 video nodes found."), "{page}");
    server.stop().await;
}
