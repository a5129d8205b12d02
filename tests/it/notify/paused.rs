//! `engine_paused`: the schedule closing its window pauses the engine, and a target listing
//! the event is told once, with the reason; a target that does not list it is told nothing
//! (the event is off unless chosen). The viewers' pause goes through the same code (its reason
//! begins "viewers:"); it is covered by the unit test of who paused, not here: it needs a
//! fake media server. `thermal_pause` needs the LM75 on I2C, which only the appliance test's
//! guest (i2c-stub) provides.

use jiff::{ToSpan, ZonedDateTime};
use reqwest::Method;
use serde_json::{Value, json};

use super::fakes::FakeHttp;
use super::{BASE, add_target};
use crate::support::api::{ok, post, send};
use crate::support::{PROMPT, TestServer, wait_until};

/// `HH:MM` of the box's local time `minutes` from now (the test sets no zone).
fn local_clock(minutes: i64) -> String {
    let at = ZonedDateTime::now().checked_add(minutes.minutes()).unwrap();
    at.strftime("%H:%M").to_string()
}

async fn put_schedule(server: &TestServer, token: &str, start: i64, end: i64) {
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let body = json!({"enabled": true, "outside_window": "suspend",
        "windows": [{"days": days, "start": local_clock(start), "end": local_clock(end)}]});
    let r = send(server, token, Method::PUT, "/api/settings/schedule", body).await;
    ok(r, 200).await;
}

fn paused(fake: &FakeHttp, path: &str) -> Vec<Value> {
    let hook = fake.to(path);
    let all = hook.iter().map(|r| r.json());
    all.filter(|j| j["event"] == "engine_paused").collect()
}

#[tokio::test]
async fn the_schedule_pausing_the_engine_is_told_to_who_asked() {
    let fake = FakeHttp::start(200).await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let hook = |p: &str| format!("{}{p}", fake.base);
    add_target(
        &server,
        &token,
        json!({"name": "p", "kind": "webhook", "url": hook("/hook"), "events": ["engine_paused"]}),
    )
    .await;
    let other = add_target(
        &server,
        &token,
        json!({"name": "o", "kind": "webhook", "url": hook("/other"), "events": ["job_failed"]}),
    )
    .await;
    // A window two hours away: outside it now.
    put_schedule(&server, &token, 120, 180).await;
    wait_until(PROMPT, "the engine_paused message", async || {
        paused(&fake, "/hook").len() == 1
    })
    .await;
    let message = paused(&fake, "/hook")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("outside the schedule window"), "{message}");

    // A test to the other target: the notifier's step that sent it has handed out all it had;
    // two messages in all (the pause and the test), nothing waiting.
    let (status, _) = post(&server, &token, &format!("{BASE}/{other}/test"), json!({})).await;
    assert_eq!(status, 202);
    wait_until(PROMPT, "the other target's test", async || {
        fake.to("/other")
            .iter()
            .any(|r| r.json()["event"] == "test")
    })
    .await;
    let workers = server.get_json("/api/system/workers", &token).await;
    let me = workers
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "notifier");
    let detail = me.unwrap()["detail"].as_str().unwrap().to_string();
    assert!(detail.starts_with("2 messages sent, 0 waiting"), "{detail}");
    assert!(paused(&fake, "/other").is_empty());
    assert_eq!(paused(&fake, "/hook").len(), 1);
    server.stop().await;
}
