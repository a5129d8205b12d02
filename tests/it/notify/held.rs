//! Held notifications survive a restart: a job fails during a target's quiet hours, the notice
//! waits, the server stops and starts again (a reboot at night), and the notice still waits;
//! once the quiet hours are gone, it is sent, with the failed file in it.

use jiff::{ToSpan, ZonedDateTime};
use reqwest::Method;
use serde_json::{Value, json};

use super::fakes::FakeHttp;
use super::{BASE, add_target, failing_files};
use crate::support::api::{ok, post, send};
use crate::support::{PROMPT, SHORT_JOB, TestServer, wait_until};

/// `HH:MM` of the box's local time `minutes` from now (the test sets no zone).
fn local_clock(minutes: i64) -> String {
    let at = ZonedDateTime::now().checked_add(minutes.minutes()).unwrap();
    at.strftime("%H:%M").to_string()
}

/// The notifier's line on the system page.
async fn notifier(server: &TestServer, token: &str) -> String {
    let workers = server.get_json("/api/system/workers", token).await;
    let me = workers
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "notifier");
    me.map(|w| w["detail"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Wait until the notifier holds one notice.
async fn one_waiting(server: &TestServer, token: &str, within: std::time::Duration, what: &str) {
    wait_until(within, what, async || {
        let line = notifier(server, token).await;
        if line.contains("1 waiting") {
            Ok(())
        } else {
            Err(line)
        }
    })
    .await;
}

#[tokio::test]
async fn a_failure_held_by_quiet_hours_is_sent_after_a_restart() {
    let fake = FakeHttp::start(200).await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let mut target = json!({"name": "night", "kind": "webhook",
        "url": format!("{}/hook", fake.base), "events": ["job_failed"],
        "quiet_hours": {"start": local_clock(-60), "end": local_clock(60)}});
    let id = add_target(&server, &token, target.clone()).await;
    failing_files(&server, &token, 1).await;
    one_waiting(
        &server,
        &token,
        SHORT_JOB,
        "the failure held by the quiet hours",
    )
    .await;
    let (tmp, data_dir) = server.stop().await;

    let server = TestServer::start_in(tmp, data_dir, |_| {}).await;
    let token = server.login().await;
    one_waiting(
        &server,
        &token,
        PROMPT,
        "the failure held again after the restart",
    )
    .await;
    assert!(fake.to("/hook").is_empty(), "sent during quiet hours");

    // The owner ends the quiet hours; a test message wakes the notifier at once.
    target["quiet_hours"] = Value::Null;
    let r = send(
        &server,
        &token,
        Method::PUT,
        &format!("{BASE}/{id}"),
        target,
    )
    .await;
    ok(r, 200).await;
    let (status, body) = post(&server, &token, &format!("{BASE}/{id}/test"), json!({})).await;
    assert_eq!(status, 202, "{body:#}");
    let failed = wait_until(PROMPT, "the held failure delivered", async || {
        let hook = fake.to("/hook");
        hook.iter()
            .map(|r| r.json())
            .find(|j| j["event"] == "job_failed")
    })
    .await;
    assert!(failed.to_string().contains("broken0.mkv"), "{failed:#}");
    server.stop().await;
}
