//! The system page's integrations card: a form per service, the path map rows and the yield
//! option, saved without JavaScript through the same settings the API reads; the stored key is
//! never put in the page, an empty key field keeps it (the Test button then reaches the fake
//! with the right key), and a refused value names its field.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::fakes::{Fake, Kind};
use crate::support::TestServer;
use crate::support::pages::{get_page, post_form, same_origin, select};

const KEY: &str = "9a8b7c6d5e4f30211203f4e5d6c7b8a9";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_saves_keeps_the_key_and_tests() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let origin = same_origin(&server);
    let jellyfin = Fake::start(Kind::Jellyfin, KEY, "/media").await;
    let (status, doc) = get_page(&server, "/system", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(select(&doc, "#integrations-form fieldset.service").len(), 5);
    assert_eq!(
        select(&doc, "#jellyfin-test").len(),
        0,
        "no test before a key is saved"
    );

    let fields = [
        ("jellyfin_url", jellyfin.url.as_str()),
        ("jellyfin_key", KEY),
        ("m0_remote", "/tv"),
        ("m0_local", "/data/media/tv"),
        ("yield_to_viewers", "on"),
        ("yield_only_transcoding", "on"),
    ];
    let (status, location, _) = post_form(
        &server,
        "/system/integrations",
        Some(&token),
        &fields,
        &origin,
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/system#integrations")
    );
    let saved = server.get_json("/api/settings/integrations", &token).await;
    assert_eq!(
        saved["jellyfin"],
        json!({"url": jellyfin.url, "api_key": "…b8a9", "verify_tls": true})
    );
    assert_eq!(
        saved["path_map"],
        json!([{"remote": "/tv", "local": "/data/media/tv"}])
    );
    assert_eq!(saved["yield_to_viewers"], true);
    assert_eq!(saved["yield_only_transcoding"], true);

    let (_, doc) = get_page(&server, "/system", &token).await;
    assert!(!doc.html().contains(&KEY[..12]), "the key is in the page");
    assert_eq!(select(&doc, "#jellyfin-test").len(), 1);
    assert_eq!(select(&doc, "#m0-remote[value=\"/tv\"]").len(), 1);

    // Saved again with the key field empty (as the page sends it): the key is kept.
    let fields = [
        ("jellyfin_url", jellyfin.url.as_str()),
        ("jellyfin_key", ""),
    ];
    let (status, _, _) = post_form(
        &server,
        "/system/integrations",
        Some(&token),
        &fields,
        &origin,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, location, _) = post_form(
        &server,
        "/system/integrations/jellyfin/test",
        Some(&token),
        &fields,
        &origin,
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/system#integrations")
    );
    assert_eq!(jellyfin.calls_to(Method::GET, "/System/Info").len(), 1);
    // Besides the test, only the viewer watch's polls (yield is on).
    let others: Vec<_> = jellyfin
        .calls()
        .into_iter()
        .filter(|c| c.target != "/System/Info" && c.target != "/Sessions")
        .collect();
    assert!(others.is_empty(), "{others:?}");

    // A refused value names its field; nothing changes.
    let fields = [("plex_url", "plex.local"), ("plex_key", "k")];
    let (status, _, body) = post_form(
        &server,
        "/system/integrations",
        Some(&token),
        &fields,
        &origin,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("plex.url"), "{body}");
    let now = server.get_json("/api/settings/integrations", &token).await;
    assert_eq!(now["plex"], serde_json::Value::Null, "{now:#}");
    assert_eq!(now["jellyfin"]["api_key"], "…b8a9", "{now:#}");
    jellyfin.stop();
}
