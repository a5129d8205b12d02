//! The HDR mode and the output location on the library page's profile form (no JavaScript):
//! a form post sets them, the edit form shows them back, an output folder inside a library
//! folder is refused beside the form naming the field.

use reqwest::StatusCode;
use scraper::Html;

use crate::support::TestServer;
use crate::support::files::folder;
use crate::support::pages::{get_page, has, post_form, same_origin, select};

#[tokio::test]
async fn the_profile_form_sets_and_shows_hdr_and_the_output_location() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let origin = same_origin(&server);
    let lib = folder(&server, "lib");
    server.add_folder(&token, &lib).await;
    let out = server.tmp.path().join("out");
    let fields = [
        ("name", "elsewhere"),
        ("base", "balanced"),
        ("hdr", "sdr"),
        ("output_root", out.to_str().unwrap()),
        ("output_suffix", "hevc"),
    ];
    let (status, location, body) =
        post_form(&server, "/library/profiles", Some(&token), &fields, &origin).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/library"),
        "{body}"
    );
    let p = server.get_json("/api/profiles/elsewhere", &token).await;
    assert_eq!(p["hdr"], "sdr", "{p:#}");
    assert_eq!(p["output_root"], out.to_str().unwrap());
    assert_eq!(p["output_suffix"], "hevc");

    let (_, doc) = get_page(&server, "/library", &token).await;
    let value = |css: &str| {
        select(&doc, css)
            .first()
            .and_then(|e| e.value().attr("value"))
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(value("#edit-elsewhere-output-root"), out.to_str().unwrap());
    assert_eq!(value("#edit-elsewhere-output-suffix"), "hevc");
    let chosen = select(&doc, "#edit-elsewhere-hdr option[selected]")
        .first()
        .and_then(|e| e.value().attr("value"))
        .unwrap_or_default()
        .to_string();
    assert_eq!(chosen, "sdr");

    let inside = lib.join("encoded");
    let bad = [
        ("name", "inside"),
        ("base", "balanced"),
        ("output_root", inside.to_str().unwrap()),
    ];
    let (status, _, body) =
        post_form(&server, "/library/profiles", Some(&token), &bad, &origin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let doc = Html::parse_document(&body);
    assert!(has(&doc, "#profile-error"), "{body}");
    let error = select(&doc, "#profile-error")[0].text().collect::<String>();
    assert!(error.contains("output_root"), "{error}");
    server.stop().await;
}
