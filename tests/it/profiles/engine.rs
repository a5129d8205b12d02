//! The engine with per-folder profiles and real ffmpeg: three folders, three profiles, one
//! clip each. The default profile transcodes and keeps the original, a custom profile with a
//! minimum size above the clip skips it (`below_min_file_size`), and a custom profile with
//! `original: replace` trashes the original although the configuration says keep.

use std::ffi::OsStr;

use alchemist::model::{CpuEncoder, OriginalPolicy};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::{add_folder_with_profile, ok, send};
use crate::support::clips::{copy_into, h264_clip};
use crate::support::files::{dir_names, folder, sha256, video_codec};
use crate::support::jobs::enqueue;
use crate::support::{SHORT_JOB, TestServer};

/// The job's log messages.
fn logs(details: &Value) -> Vec<String> {
    details["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_folder_is_encoded_with_its_own_profile() {
    // The configuration keeps originals; one folder's profile replaces them.
    let server = TestServer::start_with(|c| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.preset = Some("ultrafast".into());
        c.transcode.original = OriginalPolicy::Keep;
    })
    .await;
    let token = server.login().await;
    let post = |body: Value| send(&server, &token, Method::POST, "/api/profiles", body);
    ok(
        post(json!({"name": "big-only", "base": "default", "min_file_size": 1_000_000_000u64}))
            .await,
        201,
    )
    .await;
    ok(
        post(json!({"name": "trash", "base": "default", "original": "replace"})).await,
        201,
    )
    .await;

    let (plain, big, trash) = (
        folder(&server, "plain"),
        folder(&server, "big"),
        folder(&server, "trash"),
    );
    ok(
        add_folder_with_profile(&server, &token, &plain, Value::Null).await,
        201,
    )
    .await;
    ok(
        add_folder_with_profile(&server, &token, &big, json!("big-only")).await,
        201,
    )
    .await;
    ok(
        add_folder_with_profile(&server, &token, &trash, json!("trash")).await,
        201,
    )
    .await;
    let name = OsStr::new("clip.mp4");
    let inputs = [&plain, &big, &trash].map(|dir| copy_into(dir, h264_clip(), name));
    let original_sha = sha256(&inputs[0]);
    let mut ids = Vec::new();
    for input in &inputs {
        ids.push(enqueue(&server, &token, input).await);
    }
    let done = |j: &Value| {
        matches!(
            j["status"].as_str(),
            Some("completed" | "skipped" | "failed")
        )
    };
    let mut results = Vec::new();
    for id in &ids {
        results.push(server.wait_job(&token, *id, SHORT_JOB, done).await);
    }

    // Default profile: transcoded, the original kept beside the output.
    let d = &results[0];
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    assert!(
        logs(d).contains(&"profile: default".to_string()),
        "{:#?}",
        logs(d)
    );
    assert_eq!(sha256(&inputs[0]), original_sha);
    assert_eq!(video_codec(&plain.join("clip.alchemist.mp4")), "hevc");
    assert_eq!(dir_names(&plain), ["clip.alchemist.mp4", "clip.mp4"]);

    // A minimum size larger than the clip: skipped with the typed reason, nothing written.
    let d = &results[1];
    assert_eq!(d["job"]["status"], "skipped", "{d:#}");
    assert_eq!(d["job"]["decision"]["code"], "below_min_file_size");
    assert!(
        logs(d).contains(&"profile: big-only".to_string()),
        "{:#?}",
        logs(d)
    );
    assert_eq!(dir_names(&big), ["clip.mp4"]);

    // `original: replace` in the profile wins over the configuration's `keep`.
    let d = &results[2];
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    assert!(
        logs(d).contains(&"profile: trash".to_string()),
        "{:#?}",
        logs(d)
    );
    assert_eq!(
        video_codec(&inputs[2]),
        "hevc",
        "the output took the original's name"
    );
    let trashed = trash
        .join(".alchemist-trash")
        .join(ids[2].to_string())
        .join(name);
    assert_eq!(sha256(&trashed), original_sha);
    assert_eq!(dir_names(&trash), [".alchemist-trash", "clip.mp4"]);
    server.stop().await;
}
