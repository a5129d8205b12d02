//! The system page's schedule card: the state it shows, and its editor form (no JavaScript)
//! saving the same schedule the API reads, with a refused window named by its row.

use reqwest::StatusCode;
use serde_json::json;

use super::{closed, put_schedule};
use crate::support::TestServer;
use crate::support::pages::{get_page, post_form, same_origin, select, text};

fn state_line(doc: &scraper::Html) -> String {
    let p = select(doc, "#schedule-state");
    assert_eq!(p.len(), 1, "one schedule state line");
    p[0].text().collect::<String>()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_shows_the_state_and_its_form_saves_the_schedule() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let origin = same_origin(&server);
    let (status, doc) = get_page(&server, "/system", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(state_line(&doc).starts_with("Off"), "{}", state_line(&doc));
    // No window yet: two blank rows to fill in.
    assert_eq!(select(&doc, "#schedule-form fieldset.window").len(), 2);

    // A weekday night window crossing midnight, and a whole Sunday from the second row.
    let fields = [
        ("enabled", "on"),
        ("w0_days", "mon"),
        ("w0_days", "fri"),
        ("w0_start", "22:00"),
        ("w0_end", "06:30"),
        ("w1_days", "sun"),
        ("w1_start", "00:00"),
        ("w1_end", "00:00"),
        ("outside_window", "requeue"),
    ];
    let (status, location, _) =
        post_form(&server, "/system/schedule", Some(&token), &fields, &origin).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/system")
    );
    let saved = server.get_json("/api/settings/schedule", &token).await;
    assert_eq!(
        saved,
        json!({"enabled": true, "outside_window": "requeue", "windows": [
            {"days": ["mon", "fri"], "start": "22:00", "end": "06:30"},
            {"days": ["sun"], "start": "00:00", "end": "00:00"}]})
    );
    let (_, doc) = get_page(&server, "/system", &token).await;
    assert_eq!(select(&doc, "#schedule-form fieldset.window").len(), 4);
    assert_eq!(select(&doc, "#w0-mon[checked]").len(), 1);
    assert_eq!(select(&doc, "#w0-tue[checked]").len(), 0);
    assert_eq!(select(&doc, "#w0-end[value=\"06:30\"]").len(), 1);
    assert_eq!(
        select(&doc, "#outside_window option[value=requeue][selected]").len(),
        1
    );

    // A bad time is refused with the row it is in; nothing changes.
    let fields = [
        ("enabled", "on"),
        ("w2_days", "tue"),
        ("w2_start", "7"),
        ("w2_end", "08:00"),
        ("outside_window", "finish"),
    ];
    let (status, _, body) =
        post_form(&server, "/system/schedule", Some(&token), &fields, &origin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Window 3, from"), "{body}");
    assert_eq!(
        server.get_json("/api/settings/schedule", &token).await,
        saved
    );

    // Outside the window: the card says so.
    put_schedule(&server, &token, closed("suspend")).await;
    let (_, doc) = get_page(&server, "/system", &token).await;
    let line = state_line(&doc);
    assert!(line.contains("Outside the windows"), "{line}");
    assert!(line.contains("no job starts until"), "{line}");
    assert!(text(&doc).contains("Schedule"));
    server.stop().await;
}
