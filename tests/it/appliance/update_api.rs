//! The update API off an appliance (the test machine has no RAUC system configuration, so
//! updates are unavailable): the state says so and why, an upload larger than the JSON body
//! limit is refused with 409 before anything is written (no file appears in the temporary
//! directory), reboot is refused, the progress stream ends at once, read-only tokens may look
//! but not upload, and the system page shows the section without the upload form. The real
//! install, reboot and fallback run in a qemu guest (`update`).

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::support::TestServer;
use crate::support::api::problem;
use crate::support::pages::get_page;

/// Temporary files an upload would leave (`crate::update` names them so).
fn uploads() -> usize {
    std::fs::read_dir(std::env::temp_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("alchemist-update-")
                })
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_an_appliance_updates_are_unavailable_and_nothing_is_written() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let status = server.get_json("/api/system/update", &token).await;
    assert_eq!(status["available"], false, "{status:#}");
    assert!(
        status["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{status:#}"
    );
    assert_eq!(status["slots"], Value::Array(vec![]));
    assert_eq!(status["install"]["phase"], "idle", "{status:#}");

    // 2 MiB: over the 1 MiB JSON limit, which this route does not apply; refused for what it
    // is, before the body is stored.
    let before = uploads();
    for path in ["/api/system/update", "/api/v1/system/update"] {
        let r = server
            .bearer(Method::POST, path, &token)
            .header("content-type", "application/octet-stream")
            .body(vec![0x5a; 2 << 20])
            .send()
            .await
            .unwrap();
        problem(r, 409, "UPDATE_UNAVAILABLE").await;
    }
    assert_eq!(uploads(), before, "no upload file was written");
    let r = server
        .bearer(Method::POST, "/api/system/reboot", &token)
        .send()
        .await
        .unwrap();
    problem(r, 409, "UPDATE_UNAVAILABLE").await;

    // With Accept: text/event-stream, the install state as SSE; nothing runs, so it ends.
    let r = server
        .bearer(Method::GET, "/api/system/update", &token)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let body = tokio::time::timeout(Duration::from_secs(30), r.text())
        .await
        .expect("the stream ends when no install runs")
        .unwrap();
    assert!(body.contains("event: install"), "{body}");
    assert!(body.contains(r#""phase":"idle""#), "{body}");

    // Read-only tokens may look, not upload.
    let r = server
        .post_json(
            "/api/settings/api-tokens",
            &token,
            serde_json::json!({"name": "ro", "access_level": "read_only"}),
        )
        .await;
    let ro: Value = r.json().await.unwrap();
    let ro = ro["plaintext_token"].as_str().unwrap().to_string();
    assert_eq!(
        server.get_json("/api/system/update", &ro).await["available"],
        false
    );
    let r = server
        .bearer(Method::POST, "/api/system/update", &ro)
        .body(vec![1, 2, 3])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The system page has the section, says why, and offers no upload here.
    let (status, doc) = get_page(&server, "/system", &token).await;
    assert_eq!(status, 200);
    let section = doc
        .select(&scraper::Selector::parse("#update").unwrap())
        .next()
        .expect("the update section")
        .text()
        .collect::<String>();
    assert!(
        section.contains("Firmware updates are not available here"),
        "{section}"
    );
    assert!(
        doc.select(&scraper::Selector::parse("#update-form").unwrap())
            .next()
            .is_none()
    );
    server.stop().await;
}
