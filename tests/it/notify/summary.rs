//! The daily summary at its hour: a target whose `summary_hour` is the box's hour now gets the
//! summary at the notifier's next step (woken here by a test send rather than by waiting for
//! its minute), once: not again after a restart within the same hour. (A run that crosses
//! the top of an hour between reading the hour and the step would see no summary and fail.)

use serde_json::json;

use super::fakes::FakeHttp;
use super::{BASE, add_target};
use crate::support::api::post;
use crate::support::{PROMPT, TestServer, wait_until};

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
    let hour = jiff::ZonedDateTime::now().hour();
    let url = format!("{}/hook", fake.base);
    let id = add_target(
        &server,
        &token,
        json!({"name": "s", "kind": "webhook", "url": url,
        "events": ["daily_summary"], "summary_hour": hour}),
    )
    .await;
    step(&server, &token, &fake, id, 1).await;
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
    assert!(detail.starts_with("1 message(s) sent"), "{detail}");
    assert_eq!(summaries(&fake), 1, "{:?}", fake.to("/hook"));
}
