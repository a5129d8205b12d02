//! Held notifications survive a restart: a job fails during a target's quiet hours, the notice
//! waits, a second fails within the 30 s the notifier waits between two writes of what it holds
//! (so only its shutdown write keeps it), the server stops and starts again (a reboot at
//! night), and both notices still wait; once the quiet hours are gone, they are sent, with the
//! failed files in them.

use jiff::{ToSpan, ZonedDateTime};
use reqwest::Method;
use serde_json::{Value, json};

use super::fakes::FakeHttp;
use super::{BASE, add_target, failing_files};
use crate::support::api::{ok, post, send};
use crate::support::files::library;
use crate::support::jobs::start_scan;
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

/// Wait until the notifier holds `n` notices.
async fn waiting(
    server: &TestServer,
    token: &str,
    n: usize,
    within: std::time::Duration,
    what: &str,
) {
    let want = format!(" {n} waiting");
    wait_until(within, what, async || {
        let line = notifier(server, token).await;
        if line.contains(&want) {
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
    waiting(
        &server,
        &token,
        1,
        SHORT_JOB,
        "the failure held by the quiet hours",
    )
    .await;
    // The first notice was written at once; the second waits for the next write or the stop.
    std::fs::write(
        library(server.tmp.path()).join("broken1.mkv"),
        b"not a video",
    )
    .unwrap();
    start_scan(&server, &token).await;
    waiting(&server, &token, 2, SHORT_JOB, "the second failure held").await;
    let (tmp, data_dir) = server.stop().await;

    let server = TestServer::start_in(tmp, data_dir, |_| {}).await;
    let token = server.login().await;
    waiting(
        &server,
        &token,
        2,
        PROMPT,
        "both failures held again after the restart",
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
    wait_until(PROMPT, "both held failures delivered", async || {
        let hook = fake.to("/hook");
        let failed: Vec<String> = hook
            .iter()
            .map(|r| r.json())
            .filter(|j| j["event"] == "job_failed")
            .map(|j| j.to_string())
            .collect();
        let all = failed.concat();
        (all.contains("broken0.mkv") && all.contains("broken1.mkv")).then_some(())
    })
    .await;
    server.stop().await;
}
