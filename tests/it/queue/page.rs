//! The system page's queue card (a plain form, no JavaScript) saves the order the API reads,
//! and the dashboard shows the ETA line with its basis as a hint.

use reqwest::StatusCode;
use serde_json::json;

use super::{engine, mpeg4_seconds};
use crate::support::TestServer;
use crate::support::clips::copy_into;
use crate::support::files::library;
use crate::support::jobs::enqueue;
use crate::support::pages::{get_page, post_form, same_origin, select};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_form_saves_and_the_dashboard_shows_the_eta() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let origin = same_origin(&server);
    let (status, doc) = get_page(&server, "/system", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        select(&doc, "#queue-order option[value=oldest_first][selected]").len(),
        1
    );

    let fields = [("order", "largest_saving_first")];
    let (status, location, _) =
        post_form(&server, "/system/queue", Some(&token), &fields, &origin).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/system")
    );
    let saved = server.get_json("/api/settings/queue", &token).await;
    assert_eq!(saved, json!({"order": "largest_saving_first"}));
    let (_, doc) = get_page(&server, "/system", &token).await;
    let selected = "#queue-order option[value=largest_saving_first][selected]";
    assert_eq!(select(&doc, selected).len(), 1);
    let bad = [("order", "random")];
    let (status, _, _) = post_form(&server, "/system/queue", Some(&token), &bad, &origin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    engine(&server, &token, "pause").await;
    let lib = library(server.tmp.path());
    server.add_folder(&token, &lib).await;
    enqueue(
        &server,
        &token,
        &copy_into(&lib, &mpeg4_seconds(1), "d.mkv".as_ref()),
    )
    .await;
    let (_, doc) = get_page(&server, "/", &token).await;
    let line = select(&doc, "#queue-eta");
    assert_eq!(line.len(), 1, "one ETA line");
    let text: String = line[0].text().collect();
    assert!(text.starts_with("1 queued · "), "{text}");
    assert!(text.ends_with(" to save"), "{text}");
    let hint = line[0].value().attr("title").unwrap();
    assert!(hint.contains("default speed"), "{hint}");
    server.stop().await;
}
