//! The stream rules on the library page's profile form, which works without JavaScript: a
//! plain form post creates a profile with languages and policies, the edit form shows them
//! back, and a malformed language code is refused beside the form, naming the field.

use reqwest::StatusCode;
use scraper::Html;

use crate::support::TestServer;
use crate::support::pages::{get_page, has, post_form, same_origin, select};

#[tokio::test]
async fn the_profile_form_sets_and_shows_the_stream_rules() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let origin = same_origin(&server);
    let fields = [
        ("name", "tidy"),
        ("base", "balanced"),
        ("audio_languages", "eng, jpn"),
        ("subtitle_languages", "eng"),
        ("drop_commentary", "yes"),
        ("image_subtitles", "forced_only"),
        ("add_stereo", "yes"),
        ("audio_codec", "eac3"),
    ];
    let (status, location, body) =
        post_form(&server, "/library/profiles", Some(&token), &fields, &origin).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/library"),
        "{body}"
    );
    let p = server.get_json("/api/profiles/tidy", &token).await;
    assert_eq!(
        p["audio_languages"],
        serde_json::json!(["eng", "jpn"]),
        "{p:#}"
    );
    assert_eq!(p["subtitle_languages"], serde_json::json!(["eng"]));
    assert_eq!(p["drop_commentary"], true);
    assert_eq!(p["image_subtitles"], "forced_only");
    assert_eq!(p["add_stereo"], true);
    assert_eq!(p["audio_codec"], "eac3");

    // The edit form of the custom profile is filled with its rules.
    let (_, doc) = get_page(&server, "/library", &token).await;
    let value = |css: &str| {
        select(&doc, css)
            .first()
            .and_then(|e| e.value().attr("value"))
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(value("#edit-tidy-audio-languages"), "eng, jpn");
    let chosen = |id: &str| {
        select(&doc, &format!("#edit-tidy-{id} option[selected]"))
            .first()
            .and_then(|e| e.value().attr("value"))
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(chosen("image-subs"), "forced_only");
    assert_eq!(chosen("audio-codec"), "eac3");
    assert_eq!(chosen("commentary"), "yes");

    let bad = [
        ("name", "bad"),
        ("base", "balanced"),
        ("audio_languages", "english"),
    ];
    let (status, _, body) =
        post_form(&server, "/library/profiles", Some(&token), &bad, &origin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let doc = Html::parse_document(&body);
    assert!(has(&doc, "#profile-error"), "{body}");
    let error = select(&doc, "#profile-error")[0].text().collect::<String>();
    assert!(
        error.contains("audio_languages") && error.contains("english"),
        "{error}"
    );
    server.stop().await;
}
