//! A hardware encoder that detection proved but that fails on the job falls back to the CPU
//! once, with the reason in the job log. There is no GPU here, so the test makes the engine
//! believe in one: the first start stores its real detection (fingerprint and all) in the
//! store; the test adds a render node with a verified `hevc_vaapi` to that record; the second
//! start reuses it (same fingerprint), plans HEVC, runs the real VAAPI argument vector, whose
//! ffmpeg fails on the missing `/dev/dri/renderD128`, and then encodes on the CPU.

use std::time::Duration;

use serde_json::{Value, json};

use super::with_fake_vaapi;
use crate::support::clips::{copy_into, h264_clip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_vaapi_encode_is_done_again_on_the_cpu() {
    // The real VAAPI argument vector, run by the real ffmpeg, which fails on the missing node.
    let (server, token) = with_fake_vaapi(|_, _| {}).await;
    let lib = server.tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let source = copy_into(&lib, h264_clip(), "clip.mp4".as_ref());
    let before = std::fs::read(&source).unwrap();
    server.add_folder(&token, &lib).await;
    let r = server
        .post_json(
            "/api/jobs/enqueue",
            &token,
            json!({"path": source.to_str().unwrap()}),
        )
        .await;
    assert!(r.status().is_success(), "enqueue: {}", r.status());
    let id = r.json::<Value>().await.unwrap()["id"].as_u64().unwrap();
    let d = server
        .wait_job(&token, id, Duration::from_secs(120), |j| {
            matches!(j["status"].as_str(), Some("completed" | "failed"))
        })
        .await;
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    let logs: Vec<&str> = d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    let vaapi_run = logs
        .iter()
        .position(|l| l.starts_with("ffmpeg ") && l.contains("hevc_vaapi"))
        .unwrap_or_else(|| panic!("no VAAPI encode was tried: {logs:#?}"));
    let fallback = logs
        .iter()
        .position(|l| {
            l.contains("vaapi encode with hevc_vaapi on /dev/dri/renderD128 failed")
                && l.contains("encoding again on the CPU")
        })
        .unwrap_or_else(|| panic!("no fallback line: {logs:#?}"));
    let cpu_run = logs
        .iter()
        .position(|l| l.starts_with("ffmpeg ") && l.contains("libx265"))
        .unwrap_or_else(|| panic!("no CPU encode: {logs:#?}"));
    assert!(vaapi_run < fallback && fallback < cpu_run, "{logs:#?}");
    assert_eq!(d["encode_stats"]["backend"], "cpu");
    assert_eq!(d["encode_stats"]["encoder"], "libx265");
    assert_eq!(
        std::fs::read(&source).unwrap(),
        before,
        "the original changed"
    );
    server.stop().await;
}
