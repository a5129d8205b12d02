//! The daily summary at its hour: a target whose `summary_hour` is the box's hour now gets the
//! summary at the notifier's next step (woken here by a test send rather than by waiting for
//! its minute), once: not again after a restart within the same hour.
//!
//! The hour the test reads must still be the box's hour when the notifier steps. Rather than
//! sleep past the top of an hour, the test sets the owner's time zone (the setting the
//! notifier already reads its hours in) to UTC or to Asia/Kolkata (UTC+5:30, no daylight
//! saving), whichever is in the first half of its hour now: the hour then lasts at least 30
//! more minutes, far longer than the test. Should a run still outlast it, the test says so
//! rather than failing on a missing summary.

use serde_json::json;

use super::fakes::FakeHttp;
use super::{BASE, add_target};
use crate::support::api::post;
use crate::support::pages::{post_form, same_origin};
use crate::support::{PROMPT, TestServer, wait_until};

/// Zones whose minutes differ by half an hour: one is always in the first half of its hour.
const ZONES: [&str; 2] = ["UTC", "Asia/Kolkata"];

/// The zone of [`ZONES`] at most 29 minutes into its hour now, and that hour.
fn early_zone() -> (&'static str, i8) {
    let now = jiff::Timestamp::now();
    ZONES
        .iter()
        .map(|z| (*z, now.in_tz(z).unwrap()))
        .find(|(_, t)| t.minute() < 30)
        .map(|(z, t)| (z, t.hour()))
        .expect("one of two zones half an hour apart is in the first half of its hour")
}

/// Set the owner's time zone through the system page's form.
async fn set_zone(server: &TestServer, token: &str, zone: &str) {
    let (status, _, body) = post_form(
        server,
        "/system/timezone",
        Some(token),
        &[("timezone", zone)],
        &same_origin(server),
    )
    .await;
    assert_eq!(status, 303, "{body}");
}

/// Fail loudly if the zone's hour is no longer `hour` (the run took more than half an hour).
fn still_hour(zone: &str, hour: i8) {
    let now = jiff::Timestamp::now().in_tz(zone).unwrap();
    assert_eq!(
        now.hour(),
        hour,
        "the run crossed the top of the hour in {zone}: it took over 30 minutes"
    );
}

fn summaries(fake: &FakeHttp) -> usize {
    let hook = fake.to("/hook");
    hook.iter()
        .filter(|r| r.json()["event"] == "daily_summary")
        .count()
}

/// Send a test message and wait for it: the notifier has run a step since.
async fn step(server: &TestServer, token: &str, fake: &FakeHttp, id: u64, tests: usize) {
    let (status, _) = post(server, token, &format!("{BASE}/{id}/test"), json!({})).await;
    assert_eq!(status, 202);
    wait_until(PROMPT, "the test message", async || {
        let hook = fake.to("/hook");
        hook.iter().filter(|r| r.json()["event"] == "test").count() == tests
    })
    .await;
}

#[tokio::test]
async fn the_summary_goes_out_at_its_hour_once() {
    let fake = FakeHttp::start(200).await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let (zone, hour) = early_zone();
    set_zone(&server, &token, zone).await;
    let url = format!("{}/hook", fake.base);
    let id = add_target(
        &server,
        &token,
        json!({"name": "s", "kind": "webhook", "url": url,
        "events": ["daily_summary"], "summary_hour": hour}),
    )
    .await;
    step(&server, &token, &fake, id, 1).await;
    still_hour(zone, hour);
    wait_until(PROMPT, "the daily summary", async || summaries(&fake) == 1).await;
    let (tmp, data_dir) = server.stop().await;
    let server = TestServer::start_in(tmp, data_dir, |_| {}).await;
    let token = server.login().await;
    step(&server, &token, &fake, id, 2).await;
    // The step that sent the test also looked at the summary: what it sent is in the
    // notifier's status once the step is over (a summary due again would make it 2).
    let detail = wait_until(PROMPT, "the notifier's step to end", async || {
        let workers = server.get_json("/api/system/workers", &token).await;
        let me = workers
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == "notifier")
            .cloned();
        let me = me.unwrap_or_else(|| panic!("no notifier: {workers}"));
        let detail = me["detail"].as_str().unwrap().to_string();
        if me["state"] == "idle" && !detail.starts_with("0 ") {
            Ok(detail)
        } else {
            Err(me)
        }
    })
    .await;
    still_hour(zone, hour);
    assert!(detail.starts_with("1 message sent"), "{detail}");
    assert_eq!(summaries(&fake), 1, "{:?}", fake.to("/hook"));
}
