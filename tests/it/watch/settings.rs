//! A folder's watch settings through the API and the library page: defaults, changes, the mode
//! following them, and refusals; `[watch]` edited in the config file while the server runs.

use std::ffi::OsStr;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use super::{SETTLE, folder, wait_job_at, wait_mode, watching};
use crate::support::clips::{copy_into, h264_clip};
use crate::support::files::library;
use crate::support::pages::{get_page, has, post_form, same_origin, select};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_settings_change_through_the_api_and_the_page() {
    let server = watching(|_| {}).await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let id = server.add_folder(&token, &lib).await;
    wait_mode(&server, &token, id, "events").await;

    // API: off, a new interval, and back on; each answer shows the new state.
    let patch = async |body: serde_json::Value| {
        let r = server
            .bearer(Method::PATCH, &format!("/api/library/folders/{id}"), &token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<serde_json::Value>().await.unwrap())
    };
    let (status, f) = patch(json!({"watch": false, "rescan_interval_minutes": 0})).await;
    assert_eq!(status, 200, "{f:#}");
    assert_eq!(
        (f["watch"].clone(), f["rescan_interval_minutes"].clone()),
        (json!(false), json!(0))
    );
    wait_mode(&server, &token, id, "off").await;
    let (status, f) = patch(json!({"rescan_interval_minutes": 600000})).await;
    assert_eq!(status, 400, "{f:#}");
    let (status, _) = patch(json!({})).await;
    assert_eq!(status, 400);
    let (status, _) = patch(json!({"watch": true})).await;
    assert_eq!(status, 200);
    wait_mode(&server, &token, id, "events").await;

    // The page shows the state and its form changes it.
    let (_, doc) = get_page(&server, "/library", &token).await;
    let state = select(&doc, r#"[data-watch-mode="events"]"#);
    assert_eq!(state.len(), 1, "watch state on the page");
    assert!(has(&doc, &format!("#folder-watch-{id}[checked]")));
    let (status, _, _) = post_form(
        &server,
        &format!("/library/folders/{id}/watch"),
        Some(&token),
        &[("rescan_interval_minutes", "90")],
        &same_origin(&server),
    )
    .await;
    assert_eq!(status, 303);
    let f = wait_mode(&server, &token, id, "off").await;
    assert_eq!(f["rescan_interval_minutes"], 90);
    let (status, _, body) = post_form(
        &server,
        &format!("/library/folders/{id}/watch"),
        Some(&token),
        &[("watch", "1"), ("rescan_interval_minutes", "soon")],
        &same_origin(&server),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("whole number of minutes"), "{body}");
    assert_eq!(folder(&server, &token, id).await["watch"], false);
    server.stop().await;
}

/// `[watch]` edited in the config file applies while the server runs: the edit is announced
/// (`config_updated` with the changed keys), the folder turns to polling with the new interval,
/// and a new file is found by the next walk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_settings_edited_in_the_config_file_apply_at_once() {
    let conf = tempfile::tempdir().unwrap();
    let file = conf.path().join("alchemist.toml");
    std::fs::write(&file, format!("[watch]\nsettle_seconds = {SETTLE}\n")).unwrap();
    let f = file.clone();
    let server = watching(move |c| c.config_file = Some(f)).await;
    let token = server.login().await;
    let r = server
        .post_json("/api/engine/pause", &token, json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let lib = library(server.tmp.path());
    let id = server.add_folder(&token, &lib).await;
    wait_mode(&server, &token, id, "events").await;

    let mut events = server.events(&token, None).await;
    let before = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::fs::write(
        &file,
        format!("[watch]\nsettle_seconds = {SETTLE}\npoll_seconds = 2\nforce_poll = true\n"),
    )
    .unwrap();
    // A distinct mtime, however coarse the filesystem's clock.
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(before + Duration::from_secs(10))
        .unwrap();
    let (ev, _) = events
        .until(Duration::from_secs(15), |e| e.event == "config_updated")
        .await;
    assert_eq!(
        ev.data["keys"],
        json!(["watch.poll_seconds", "watch.force_poll"]),
        "{ev:?}"
    );
    let f = wait_mode(&server, &token, id, "poll").await;
    let reason = f["watch_reason"].as_str().unwrap();
    assert!(
        reason.contains("every 2 s") && reason.contains("force_poll"),
        "{f:#}"
    );
    let path = copy_into(&lib, h264_clip(), OsStr::new("after-edit.mp4"));
    wait_job_at(&server, &token, &path, Duration::from_secs(10)).await;
    server.stop().await;
}
