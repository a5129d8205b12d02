//! The quality target on the library page and the folder forecast in Chromium: the profile
//! form's quality fields create a profile with an SSIM target (and "none" clears it); the
//! folder's "Forecast" button, a plain form, runs real sample encodes and renders the result
//! page, which passes the layout and accessibility checks at 390 and 1366 px in light and
//! dark (screenshots `target/screenshots/forecast-*.png`).

use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

use super::browser::{browser, js, log_in, start_driver, until, wait_path};
use super::eyes::{allow_slow_scripts, look_at};
use crate::quality::clip;
use crate::support::TestServer;
use crate::support::api::add_folder_with_profile;
use crate::support::clips::copy_into;
use crate::support::files::folder;
use crate::support::pages::{post_form, same_origin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quality_target_form_and_forecast_page_in_chromium() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let origin = same_origin(&server);

    // The profile form's quality fields.
    let fields = [
        ("name", "target"),
        ("base", "default"),
        ("encoder", "libx264"),
        ("preset", "ultrafast"),
        ("quality_metric", "ssim"),
        ("quality_value", "0.97"),
    ];
    let (status, location, body) =
        post_form(&server, "/library/profiles", Some(&token), &fields, &origin).await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/library"),
        "{body}"
    );
    let p = server.get_json("/api/profiles/target", &token).await;
    assert_eq!(
        p["quality_target"],
        json!({"metric": "ssim", "value": 0.97}),
        "{p}"
    );
    let fields = [
        ("name", "bad"),
        ("base", "default"),
        ("quality_metric", "ssim"),
    ];
    let (status, _, _) =
        post_form(&server, "/library/profiles", Some(&token), &fields, &origin).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a target without a value was taken"
    );

    let dir = folder(&server, "forecast");
    copy_into(
        &dir,
        &clip("page-forecast-easy.mkv", 6, false),
        "easy.mkv".as_ref(),
    );
    let r = add_folder_with_profile(&server, &token, &dir, json!("target")).await;
    assert_eq!(r.status(), 201);

    let profile = tempfile::tempdir().unwrap();
    let driver = start_driver().await;
    let c = browser(&driver, profile.path()).await;
    allow_slow_scripts(&c).await;
    log_in(&c, &server.base).await;
    c.goto(&format!("{}/library", server.base)).await.unwrap();
    wait_path(&c, "/library").await;
    // The sample encodes take longer than `submit` waits on a loaded machine.
    js(&c, "window.__oldPage = true; return null").await;
    c.find(Locator::Css("form[action$='/forecast'] button"))
        .await
        .expect("a Forecast button per folder")
        .click()
        .await
        .unwrap();
    let done = "return !window.__oldPage && document.readyState === 'complete' \
                && !!document.querySelector('#forecast-total')";
    until(&c, "the forecast result page", 180, done, |v| v == true).await;
    let total = c
        .find(Locator::Css("#forecast-total"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(total.contains("Predicted saving"), "{total}");
    let heading = c
        .find(Locator::Css("#forecast-h"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let path = dir.display().to_string();
    assert!(
        heading.contains(&path),
        "the heading names the folder: {heading}"
    );
    let rows = c
        .find_all(Locator::Css("#forecast-files tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one sampled file");
    let cell = c
        .find(Locator::Css("#forecast-files td[data-label='Reason']"))
        .await
        .unwrap();
    let reason = cell.text().await.unwrap();
    // The reason in words; the code on it (its title) for a search or a support question.
    assert!(
        reason.starts_with("The video will be re-encoded"),
        "{reason}"
    );
    assert!(!reason.contains("transcode_recommended"), "{reason}");
    let title = cell.attr("title").await.unwrap().unwrap_or_default();
    assert_eq!(title, "code transcode_recommended");
    let problems = look_at(&c, &server.base, None, "forecast").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    c.close().await.unwrap();
    drop(driver);
    server.stop().await;
}
