//! The system page's self-test and restore cards in Chromium: after a self-test with a
//! writable and a missing library folder, the page (both cards, the report's pass and fail
//! lines) passes the layout and accessibility checks at 390 and 1366 px in light and dark
//! (screenshots `target/screenshots/system-maintenance-*.png`), and the "Run self-test"
//! button works as a plain form post.

use fantoccini::Locator;

use super::browser::{browser, click, js, log_in, start_driver, until};
use super::eyes::{allow_slow_scripts, look_at};
use crate::support::TestServer;
use crate::support::files::folder;

#[tokio::test]
async fn system_page_selftest_and_restore_cards_in_chromium() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = folder(&server, "films");
    let gone = folder(&server, "unplugged disk");
    server.add_folder(&token, &lib).await;
    server.add_folder(&token, &gone).await;
    std::fs::remove_dir(&gone).unwrap();
    let r = server
        .bearer(reqwest::Method::POST, "/api/system/selftest", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let profile = tempfile::tempdir().unwrap();
    let driver = start_driver().await;
    let c = browser(&driver, profile.path()).await;
    allow_slow_scripts(&c).await;
    log_in(&c, &server.base).await;

    let problems = look_at(&c, &server.base, Some("/system"), "system-maintenance").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for css in ["#selftest-checks", "#restore-form input[type=file]"] {
        c.find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
    }
    // The run does real encodes: longer than `submit` waits on a loaded machine.
    js(&c, "window.__oldPage = true; return null").await;
    click(&c, "#selftest-form button").await;
    let back =
        "return !window.__oldPage && document.readyState === 'complete' && location.pathname";
    until(&c, "the system page after the self-test", 180, back, |v| {
        v == "/system"
    })
    .await;
    let flash = c
        .find(Locator::Css("#flash"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(flash.contains("Self-test done"), "{flash}");
    c.close().await.unwrap();
    drop(driver);
    server.stop().await;
}
