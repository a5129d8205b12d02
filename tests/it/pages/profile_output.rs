//! The profile form's HDR and output-location fields in Chromium: a custom profile that
//! tonemaps to SDR and writes under an output folder, its edit form and the new-profile form
//! opened, checked for layout and accessibility at 390 and 1366 px in light and dark
//! (screenshots `target/screenshots/library-profile-output-*.png`).

use super::browser::{browser, fill, js, start_driver, submit, until, wait_path};
use super::eyes::{allow_slow_scripts, look_at};
use crate::support::{ADMIN, PASSWORD, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hdr_and_output_fields_pass_the_layout_and_accessibility_checks() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let out = server.tmp.path().join("encoded");
    let r = server
        .post_json(
            "/api/profiles",
            &token,
            serde_json::json!({"name": "elsewhere", "base": "balanced", "hdr": "sdr",
                               "output_root": out.to_str().unwrap(), "output_suffix": "hevc"}),
        )
        .await;
    assert_eq!(r.status(), 201);

    let profile = tempfile::tempdir().unwrap();
    let driver = start_driver().await;
    let c = browser(&driver, profile.path()).await;
    allow_slow_scripts(&c).await;
    c.goto(&format!("{}/login", server.base)).await.unwrap();
    fill(&c, "#username", ADMIN).await;
    fill(&c, "#password", PASSWORD).await;
    submit(&c, "#login-form button[type=submit]").await;
    wait_path(&c, "/").await;
    c.goto(&format!("{}/library", server.base)).await.unwrap();
    wait_path(&c, "/library").await;
    js(
        &c,
        "document.querySelectorAll('details').forEach(d => d.open = true); return null",
    )
    .await;
    let shown = "return document.querySelector('#edit-elsewhere-output-root')?.value";
    until(&c, "the edit form with the output folder", 30, shown, |v| {
        v.as_str() == out.to_str()
    })
    .await;
    let problems = look_at(&c, &server.base, None, "library-profile-output").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    c.close().await.unwrap();
    drop(driver);
    server.stop().await;
}
