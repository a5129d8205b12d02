//! Schedule windows through the HTTP API with real ffmpeg: the settings route and its checks,
//! the engine status's `schedule`, and a window closing during a real encode for each
//! `outside_window` choice (finish, suspend, requeue), and the owner's pause and resume winning
//! over the schedule. A window is closed or opened by saving a schedule whose window lies
//! hours away from, or around, the box's local time now: saving applies at once, so no test
//! waits for a clock time.

mod outside;
mod page;
mod settings;

use jiff::{ToSpan, ZonedDateTime};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::{ok, send};

const ALL_DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `HH:MM` of the box's local time (the server's zone: the tests set none) `minutes` from now.
fn local_clock(minutes: i64) -> String {
    let at = ZonedDateTime::now().checked_add(minutes.minutes()).unwrap();
    at.strftime("%H:%M").to_string()
}

/// A schedule whose daily window opens in two hours: outside it now.
fn closed(outside: &str) -> Value {
    json!({"enabled": true, "outside_window": outside,
           "windows": [{"days": ALL_DAYS, "start": local_clock(120), "end": local_clock(180)}]})
}

/// A schedule whose daily window opened an hour ago: inside it now.
fn open(outside: &str) -> Value {
    json!({"enabled": true, "outside_window": outside,
           "windows": [{"days": ALL_DAYS, "start": local_clock(-60), "end": local_clock(120)}]})
}

/// `PUT /api/settings/schedule`, which must succeed; returns the saved schedule.
async fn put_schedule(server: &TestServer, token: &str, body: Value) -> Value {
    let r = send(server, token, Method::PUT, "/api/settings/schedule", body).await;
    ok(r, 200).await
}

async fn engine_status(server: &TestServer, token: &str) -> Value {
    server.get_json("/api/engine/status", token).await
}

/// One job at a time, so a second job waits in the queue.
async fn one_at_a_time(server: &TestServer, token: &str) {
    let (code, body) = crate::support::api::post(
        server,
        token,
        "/api/engine/mode",
        json!({"mode": "balanced", "concurrent_jobs_override": 1}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
}

/// The scheduler worker's status: work steps done and its line.
async fn scheduler(server: &TestServer, token: &str) -> (u64, String) {
    let workers = server.get_json("/api/system/workers", token).await;
    let me = workers
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "scheduler")
        .unwrap_or_else(|| panic!("no scheduler worker: {workers:#}"))
        .clone();
    (
        me["steps"].as_u64().unwrap(),
        me["detail"].as_str().unwrap().to_string(),
    )
}
