//! Regression: changing the mode or the concurrency override of a paused engine keeps it
//! paused. A helper once reported that `POST /api/engine/mode` with `concurrent_jobs_override`
//! on a paused engine let queued jobs start; the dispatcher checks the run state on every
//! pass, and this test holds it to that after seeing the dispatcher take two passes that began
//! after the change (so the change was seen, not raced).

use serde_json::{Value, json};

use crate::support::api::post;
use crate::support::clips::{copy_into, h264_clip};
use crate::support::files::library;
use crate::support::jobs::{details, enqueue};
use crate::support::{PROMPT, TestServer, wait_until};

async fn dispatcher(server: &TestServer, token: &str) -> Value {
    let workers = server.get_json("/api/system/workers", token).await;
    workers
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "dispatcher")
        .cloned()
        .expect("a dispatcher worker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mode_override_on_a_paused_engine_starts_nothing() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let (code, _) = post(&server, &token, "/api/engine/pause", json!({})).await;
    assert_eq!(code, 200);
    let lib = library(server.tmp.path());
    server.add_folder(&token, &lib).await;
    let id = enqueue(
        &server,
        &token,
        &copy_into(&lib, h264_clip(), "a.mp4".as_ref()),
    )
    .await;

    let (code, body) = post(
        &server,
        &token,
        "/api/engine/mode",
        json!({"mode": "throughput", "concurrent_jobs_override": 3}),
    )
    .await;
    assert_eq!(code, 200, "{body:#}");
    assert_eq!(body["status"], "paused", "{body:#}");
    assert_eq!(body["concurrent_limit"], 3);

    // The mode change woke the dispatcher (an `engine` event); a step that ends after the one
    // in progress now began after the change, so it saw paused + 3 slots.
    let before = dispatcher(&server, &token).await["steps"].as_u64().unwrap();
    wait_until(
        PROMPT,
        "two dispatcher passes after the change",
        async || {
            let d = dispatcher(&server, &token).await;
            d["steps"].as_u64().unwrap() >= before + 2
        },
    )
    .await;
    let d = dispatcher(&server, &token).await;
    assert!(
        d["detail"].as_str().unwrap().contains("0 runs started"),
        "{d:#}"
    );
    assert_eq!(
        details(&server, &token, id).await["job"]["status"],
        "queued"
    );
    let status = server.get_json("/api/engine/status", &token).await;
    assert_eq!(status["status"], "paused", "{status:#}");
    assert_eq!(status["active_jobs"], 0, "{status:#}");
    server.stop().await;
}
