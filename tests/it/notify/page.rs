//! The notifications page without JavaScript: a target added through its form is saved as the
//! API shows it (secret masked in the page), "send test" reaches the fake service and its
//! delivery log appears on the page, and a refused target names the bad field.

use reqwest::StatusCode;

use super::BASE;
use super::fakes::FakeHttp;
use crate::support::pages::{get_page, post_form, same_origin, select, text};
use crate::support::{PROMPT, TestServer, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_are_added_tested_and_logged_from_the_page() {
    let fake = FakeHttp::start(200).await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let origin = same_origin(&server);
    let url = format!("{}/gotify", fake.base);
    let summary_hour = super::quiet_summary_hour().to_string();
    let fields = [
        ("name", "home gotify"),
        ("kind", "gotify"),
        ("url", url.as_str()),
        ("events", "job_failed"),
        ("events", "daily_summary"),
        ("token", "page-secret"),
        ("summary_hour", summary_hour.as_str()),
    ];
    let (status, location, _) =
        post_form(&server, "/notifications", Some(&token), &fields, &origin).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/notifications")
    );
    let saved = server.get_json(BASE, &token).await;
    assert_eq!(saved[0]["name"], "home gotify", "{saved}");
    assert_eq!(
        saved[0]["events"],
        serde_json::json!(["job_failed", "daily_summary"])
    );
    let id = saved[0]["id"].as_u64().unwrap();
    let (status, doc) = get_page(&server, "/notifications", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!text(&doc).contains("page-secret") && !doc.html().contains("page-secret"));
    assert!(text(&doc).contains("Nothing sent yet."));

    let path = format!("/notifications/{id}/test");
    let (status, _, _) = post_form(&server, &path, Some(&token), &[], &origin).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    wait_until(PROMPT, "the test message at the fake Gotify", async || {
        !fake.to("/gotify/message?token=page-secret").is_empty()
    })
    .await;
    wait_until(PROMPT, "the delivery on the page", async || {
        let (_, doc) = get_page(&server, "/notifications", &token).await;
        let rows = select(&doc, &format!("#target-{id} table.delivery-log tbody tr")).len();
        if rows == 1 { Ok(()) } else { Err(rows) }
    })
    .await;
    // Saving the edit form with the masked token keeps the secret.
    let (_, doc) = get_page(&server, "/notifications", &token).await;
    let shown = select(&doc, &format!("#t{id}-token"))[0]
        .value()
        .attr("value")
        .unwrap()
        .to_string();
    let fields = [
        ("name", "renamed"),
        ("kind", "gotify"),
        ("url", url.as_str()),
        ("events", "job_failed"),
        ("token", shown.as_str()),
    ];
    let (status, _, _) = post_form(
        &server,
        &format!("/notifications/{id}"),
        Some(&token),
        &fields,
        &origin,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    post_form(&server, &path, Some(&token), &[], &origin).await;
    wait_until(PROMPT, "a second test with the kept token", async || {
        fake.to("/gotify/message?token=page-secret").len() == 2
    })
    .await;
    // A Telegram target without its chat id is refused, naming it.
    let fields = [
        ("name", "tg"),
        ("kind", "telegram"),
        ("events", "job_failed"),
        ("token", "1:x"),
    ];
    let (status, _, body) =
        post_form(&server, "/notifications", Some(&token), &fields, &origin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("chat_id"), "{body}");
}
