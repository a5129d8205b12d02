//! The notifier after a real encode replaced a file (`original = "replace"`) and after the
//! original was restored: Jellyfin and Emby get `POST /Library/Media/Updated` with the file's
//! path as they see it (reverse-mapped through the path map), Plex a refresh of the section
//! holding it with `path=` its folder, Sonarr `RescanSeries` and Radarr `RescanMovie` with the
//! ids of the series/movie holding it. Jellyfin answers 500 twice first: the job completes all
//! the same and the call is retried until it lands. A call still being retried when the server
//! stops is made after it starts again.

use std::ffi::OsStr;
use std::time::Duration;

use alchemist::model::{CpuEncoder, OriginalPolicy};
use reqwest::Method;
use serde_json::json;

use super::fakes::{Call, Fake, Kind};
use super::{notifier_line, put_integrations};
use crate::support::api::post;
use crate::support::clips::{copy_into, h264_clip};
use crate::support::files::library;
use crate::support::jobs::enqueue;
use crate::support::sse::events_until_status;
use crate::support::{PROMPT, SHORT_JOB, TestServer, wait_until};

const KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
/// Two 500s then success: retried after 1 s and 2 s.
const RETRIES: Duration = Duration::from_secs(30);

async fn calls(fake: &Fake, method: Method, prefix: &str, n: usize) -> Vec<Call> {
    wait_until(RETRIES, format!("{n} call(s) to {prefix}"), async || {
        let c = fake.calls_to(method.clone(), prefix);
        if c.len() >= n {
            Ok(c)
        } else {
            Err(format!("{:?}", fake.calls()))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_is_told_after_a_replace_and_a_restore() {
    let server = TestServer::start_with(|c| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.preset = Some("ultrafast".into());
        c.transcode.original = OriginalPolicy::Replace;
    })
    .await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let show = lib.join("Show");
    std::fs::create_dir_all(&show).unwrap();
    let input = copy_into(&show, h264_clip(), OsStr::new("Show - S01E01.mp4"));
    server.add_folder(&token, &lib).await;

    // The services see the library as /media.
    let jellyfin = Fake::start(Kind::Jellyfin, KEY, "/media").await;
    let emby = Fake::start(Kind::Emby, KEY, "/media").await;
    let plex = Fake::start(Kind::Plex, KEY, "/media").await;
    let sonarr = Fake::start(Kind::Sonarr, KEY, "/media/Show").await;
    let radarr = Fake::start(Kind::Radarr, KEY, "/media/Show").await;
    jellyfin.fail_next_refreshes(2);
    put_integrations(
        &server,
        &token,
        json!({"jellyfin": jellyfin.settings(), "emby": emby.settings(),
               "plex": plex.settings(),
               "sonarr": sonarr.settings(), "radarr": radarr.settings(),
               "path_map": [{"remote": "/media", "local": lib.to_str().unwrap()}]}),
    )
    .await;

    let mut sse = server.events(&token, None).await;
    let id = enqueue(&server, &token, &input).await;
    events_until_status(&mut sse, id, "completed", SHORT_JOB).await;
    let job = server
        .get_json(&format!("/api/jobs/{id}/details"), &token)
        .await;
    assert_eq!(job["job"]["status"], "completed", "{job:#}");

    let remote = "/media/Show/Show - S01E01.mp4";
    let j = calls(&jellyfin, Method::POST, "/Library/Media/Updated", 3).await;
    for c in &j {
        assert_eq!(
            c.body,
            json!({"Updates": [{"Path": remote, "UpdateType": "Modified"}]})
        );
    }
    let e = calls(&emby, Method::POST, "/Library/Media/Updated", 1).await;
    assert_eq!(
        e[0].body,
        json!({"Updates": [{"Path": remote, "UpdateType": "Modified"}]})
    );
    let p = calls(&plex, Method::GET, "/library/sections/2/refresh", 1).await;
    assert_eq!(
        p[0].target,
        "/library/sections/2/refresh?path=%2Fmedia%2FShow"
    );
    let s = calls(&sonarr, Method::POST, "/api/v3/command", 1).await;
    assert_eq!(s[0].body, json!({"name": "RescanSeries", "seriesId": 7}));
    let r = calls(&radarr, Method::POST, "/api/v3/command", 1).await;
    assert_eq!(r[0].body, json!({"name": "RescanMovie", "movieId": 4}));
    // The job stayed completed through the failures.
    let job = server
        .get_json(&format!("/api/jobs/{id}/details"), &token)
        .await;
    assert_eq!(job["job"]["status"], "completed", "{job:#}");
    wait_until(PROMPT, "the notifier to show 5 told", async || {
        let line = notifier_line(&server, &token).await;
        if line.contains("5 told") && line.contains("0 waiting") {
            Ok(line)
        } else {
            Err(line)
        }
    })
    .await;

    // A restore puts the original back under the same name: everyone is told again.
    let (status, body) = post(
        &server,
        &token,
        &format!("/api/trash/{id}/restore"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    let j = calls(&jellyfin, Method::POST, "/Library/Media/Updated", 4).await;
    assert_eq!(j[3].body["Updates"][0]["Path"], remote);
    let e = calls(&emby, Method::POST, "/Library/Media/Updated", 2).await;
    assert_eq!(e[1].body["Updates"][0]["Path"], remote);
    calls(&plex, Method::GET, "/library/sections/2/refresh", 2).await;
    let s = calls(&sonarr, Method::POST, "/api/v3/command", 2).await;
    assert_eq!(s[1].body, json!({"name": "RescanSeries", "seriesId": 7}));
    calls(&radarr, Method::POST, "/api/v3/command", 2).await;
    for fake in [jellyfin, emby, plex, sonarr, radarr] {
        fake.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_still_retried_at_a_restart_is_made_after_it() {
    let replace = |c: &mut alchemist::config::Config| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.preset = Some("ultrafast".into());
        c.transcode.original = OriginalPolicy::Replace;
    };
    let server = TestServer::start_with(replace).await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let input = copy_into(&lib, h264_clip(), OsStr::new("film.mp4"));
    server.add_folder(&token, &lib).await;
    // Jellyfin is restarting: it answers 500 to every refresh for now.
    let jellyfin = Fake::start(Kind::Jellyfin, KEY, "/media").await;
    jellyfin.fail_next_refreshes(1000);
    put_integrations(
        &server,
        &token,
        json!({"jellyfin": jellyfin.settings(),
               "path_map": [{"remote": "/media", "local": lib.to_str().unwrap()}]}),
    )
    .await;
    let mut sse = server.events(&token, None).await;
    let id = enqueue(&server, &token, &input).await;
    events_until_status(&mut sse, id, "completed", SHORT_JOB).await;
    calls(&jellyfin, Method::POST, "/Library/Media/Updated", 1).await;
    wait_until(PROMPT, "the call waiting to be retried", async || {
        let line = notifier_line(&server, &token).await;
        if line.contains("1 waiting") {
            Ok(line)
        } else {
            Err(line)
        }
    })
    .await;
    drop(sse);
    let (tmp, data_dir) = server.stop().await;

    // Jellyfin is back; so is the box: the call is made again, and lands.
    jellyfin.fail_next_refreshes(0);
    let before = jellyfin
        .calls_to(Method::POST, "/Library/Media/Updated")
        .len();
    let server = TestServer::start_in(tmp, data_dir, replace).await;
    let token = server.login().await;
    let c = calls(
        &jellyfin,
        Method::POST,
        "/Library/Media/Updated",
        before + 1,
    )
    .await;
    assert_eq!(
        c[before].body,
        json!({"Updates": [{"Path": "/media/film.mp4", "UpdateType": "Modified"}]})
    );
    wait_until(PROMPT, "the notifier to show it told", async || {
        let line = notifier_line(&server, &token).await;
        if line.contains("1 told") && line.contains("0 waiting") {
            Ok(line)
        } else {
            Err(line)
        }
    })
    .await;
    jellyfin.stop();
    server.stop().await;
}
