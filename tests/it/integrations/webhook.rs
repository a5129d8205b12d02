//! `POST /api/webhooks/arr`: a Sonarr `Download` (series path + relative path, HTTP Basic with a
//! full-access API token as the password) and a Radarr `Download` (full `movieFile.path`,
//! Bearer) with mapped paths queue their files, which are really encoded; an `Upgrade` of the
//! film (a new file under the same name) queues it again and it is encoded again; `Test` queues
//! nothing; an unmapped path and a mapped path outside the library are refused with their
//! codes; no credentials, a wrong token and a read-only token are refused.

use std::ffi::OsStr;

use alchemist::model::CpuEncoder;
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

use super::put_integrations;
use crate::support::api::problem;
use crate::support::clips::{copy_into, h264_clip, mpeg4_clip};
use crate::support::files::{library, video_codec};
use crate::support::sse::events_until_status;
use crate::support::{SHORT_JOB, TestServer};

async fn api_token(server: &TestServer, token: &str, level: &str) -> String {
    let r = server
        .post_json(
            "/api/settings/api-tokens",
            token,
            json!({"name": format!("arr-{level}"), "access_level": level}),
        )
        .await;
    let v: Value = r.json().await.unwrap();
    v["plaintext_token"].as_str().unwrap().to_string()
}

fn basic(token: &str) -> String {
    let raw = format!("sonarr:{token}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

async fn hook(server: &TestServer, auth: Option<&str>, body: Value) -> reqwest::Response {
    let mut req = server
        .http
        .request(Method::POST, server.url("/api/webhooks/arr"))
        .json(&body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arr_downloads_are_queued_and_encoded_and_bad_paths_refused() {
    let server = TestServer::start_with(|c| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.preset = Some("ultrafast".into());
    })
    .await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let season = lib.join("tv/Show/Season 1");
    std::fs::create_dir_all(&season).unwrap();
    let episode = copy_into(&season, h264_clip(), OsStr::new("Show - S01E01.mp4"));
    let film_dir = lib.join("movies/Film (2020)");
    std::fs::create_dir_all(&film_dir).unwrap();
    let film = copy_into(&film_dir, h264_clip(), OsStr::new("Film (2020).mp4"));
    server.add_folder(&token, &lib).await;
    let elsewhere = server.tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    put_integrations(
        &server,
        &token,
        json!({"path_map": [
            {"remote": "/tv", "local": lib.join("tv").to_str().unwrap()},
            {"remote": "/movies", "local": lib.join("movies").to_str().unwrap()},
            {"remote": "/other", "local": elsewhere.to_str().unwrap()}]}),
    )
    .await;
    let full = api_token(&server, &token, "full_access").await;
    let read_only = api_token(&server, &token, "read_only").await;
    let mut sse = server.events(&token, None).await;

    // Test: answered, nothing queued.
    let r = hook(
        &server,
        Some(&basic(&full)),
        json!({"eventType": "Test",
        "series": {"id": 1, "title": "Test Title", "path": "C:\\testpath"},
        "episodes": [{"id": 123, "episodeNumber": 1, "seasonNumber": 1, "title": "Test title"}]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["jobs"], json!([]));

    // Sonarr Download, Basic auth, series folder + relative path.
    let sonarr = json!({"eventType": "Download", "instanceName": "Sonarr", "isUpgrade": false,
        "series": {"id": 7, "title": "Show", "path": "/tv/Show", "tvdbId": 2},
        "episodes": [{"id": 70, "episodeNumber": 1, "seasonNumber": 1, "title": "Pilot"}],
        "episodeFile": {"id": 700, "relativePath": "Season 1/Show - S01E01.mp4",
                        "quality": "WEBDL-1080p", "size": 1000}});
    let r = hook(&server, Some(&basic(&full)), sonarr.clone()).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["jobs"][0]["path"], episode.to_str().unwrap(), "{v:#}");
    assert_eq!(v["jobs"][0]["enqueued"], true, "{v:#}");
    let ep_id = v["jobs"][0]["id"].as_u64().unwrap();

    // Radarr Download, Bearer, full path.
    let radarr = json!({"eventType": "Download", "instanceName": "Radarr", "isUpgrade": false,
        "movie": {"id": 4, "title": "Film", "year": 2020, "folderPath": "/movies/Film (2020)"},
        "movieFile": {"id": 40, "relativePath": "Film (2020).mp4",
                      "path": "/movies/Film (2020)/Film (2020).mp4", "size": 1000}});
    let r = hook(&server, Some(&format!("Bearer {full}")), radarr).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["jobs"][0]["path"], film.to_str().unwrap(), "{v:#}");
    let film_id = v["jobs"][0]["id"].as_u64().unwrap();

    events_until_status(&mut sse, ep_id, "completed", SHORT_JOB).await;
    events_until_status(&mut sse, film_id, "completed", SHORT_JOB).await;
    let out = lib.join("tv/Show/Season 1/Show - S01E01.alchemist.mp4");
    assert_eq!(video_codec(&out), "hevc");

    // An upgrade (a better release replaced the file under the same name: Radarr sends
    // `Upgrade`, or `Download` with `isUpgrade`) queues the new file for another encode.
    std::fs::remove_file(&film).unwrap();
    copy_into(&film_dir, mpeg4_clip(), OsStr::new("Film (2020).mp4"));
    let upgrade = json!({"eventType": "Upgrade", "instanceName": "Radarr", "isUpgrade": true,
        "movie": {"id": 4, "title": "Film", "year": 2020, "folderPath": "/movies/Film (2020)"},
        "movieFile": {"id": 41, "relativePath": "Film (2020).mp4",
                      "path": "/movies/Film (2020)/Film (2020).mp4", "size": 2000}});
    let r = hook(&server, Some(&format!("Bearer {full}")), upgrade).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["jobs"][0]["path"], film.to_str().unwrap(), "{v:#}");
    assert_eq!(v["jobs"][0]["enqueued"], true, "{v:#}");
    let again = v["jobs"][0]["id"].as_u64().unwrap();
    events_until_status(&mut sse, again, "completed", SHORT_JOB).await;

    // Refused paths.
    let mut unmapped = sonarr.clone();
    unmapped["series"]["path"] = json!("/downloads/Show");
    let r = hook(&server, Some(&basic(&full)), unmapped).await;
    let p = problem(r, 422, "WEBHOOK_PATH_UNMAPPED").await;
    assert_eq!(
        p["path"], "/downloads/Show/Season 1/Show - S01E01.mp4",
        "{p:#}"
    );
    let mut outside = sonarr.clone();
    outside["series"]["path"] = json!("/other/Show");
    let r = hook(&server, Some(&basic(&full)), outside).await;
    problem(r, 422, "WEBHOOK_PATH_OUTSIDE_LIBRARY").await;
    let r = hook(
        &server,
        Some(&basic(&full)),
        json!({"eventType": "Download", "series": {"path": "/tv/Show"}}),
    )
    .await;
    problem(r, 400, "WEBHOOK_NO_PATH").await;

    // Credentials.
    let r = hook(&server, None, sonarr.clone()).await;
    problem(r, 401, "AUTH_REQUIRED").await;
    let r = hook(&server, Some(&basic("nope")), sonarr.clone()).await;
    problem(r, 401, "AUTH_INVALID_TOKEN").await;
    let r = hook(&server, Some(&basic(&read_only)), sonarr).await;
    problem(r, 403, "TOKEN_FORBIDDEN").await;
}
