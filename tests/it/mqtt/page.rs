//! The system page's Home Assistant card: its form (no JavaScript) saves the settings the API
//! reads, never shows the password back, keeps it when the field is left empty, and the card
//! shows the worker's line once it connected.

use reqwest::StatusCode;

use super::Broker;
use crate::support::pages::{get_page, post_form, same_origin, select};
use crate::support::{PROMPT, TestServer, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_saves_the_settings_and_the_card_shows_the_connection() {
    let broker = Broker::anonymous().await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let origin = same_origin(&server);
    let (status, doc) = get_page(&server, "/system", &token).await;
    assert_eq!(status, StatusCode::OK);
    let state = select(&doc, "#mqtt-state")[0].text().collect::<String>();
    assert_eq!(state, "Off.");

    let port = broker.port.to_string();
    let fields = [
        ("enabled", "on"),
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("username", "ha"),
        ("password", "pw-9f3k"),
        ("discovery_prefix", "homeassistant"),
    ];
    let (status, location, _) =
        post_form(&server, "/system/mqtt", Some(&token), &fields, &origin).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/system")
    );
    let saved = server.get_json("/api/settings/mqtt", &token).await;
    assert_eq!(saved["enabled"], true, "{saved}");
    assert_eq!(saved["username"], "ha", "{saved}");
    assert_eq!(saved["password"], "********", "{saved}");

    let doc = wait_until(PROMPT, "the card to say connected", async || {
        let (_, doc) = get_page(&server, "/system", &token).await;
        let state = select(&doc, "#mqtt-state")[0].text().collect::<String>();
        if state.starts_with("connected to 127.0.0.1") {
            Ok(doc)
        } else {
            Err(state)
        }
    })
    .await;
    assert!(
        !doc.html().contains("pw-9f3k"),
        "the password is on the page"
    );
    assert_eq!(select(&doc, "#mqtt-password[value=\"\"]").len(), 1);
    assert_eq!(select(&doc, "#mqtt-enabled[checked]").len(), 1);

    // The password left empty keeps it; a bad port is refused.
    let keep: Vec<_> = fields
        .iter()
        .filter(|(k, _)| *k != "password")
        .copied()
        .collect();
    let (status, _, _) = post_form(&server, "/system/mqtt", Some(&token), &keep, &origin).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let saved = server.get_json("/api/settings/mqtt", &token).await;
    assert_eq!(saved["password"], "********", "{saved}");
    let mut bad = keep.clone();
    bad.retain(|(k, _)| *k != "port");
    bad.push(("port", "0"));
    let (status, _, body) = post_form(&server, "/system/mqtt", Some(&token), &bad, &origin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("port"), "{body}");
    server.stop().await;
    drop(broker);
}
