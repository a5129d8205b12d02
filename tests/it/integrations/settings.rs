//! `GET/PUT /api/settings/integrations` and the test action: keys are answered masked and never
//! in full, a masked key sent back keeps the stored key (the fake still accepts it), bad values
//! are `VALIDATION_FAILED` naming the field, and a test reports success, a refused key and an
//! unreachable service with their own codes.

use reqwest::Method;
use serde_json::json;

use super::fakes::{Fake, Kind};
use super::put_integrations;
use crate::support::TestServer;
use crate::support::api::{post, problem, send};

const KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_masked_kept_and_tested() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let jellyfin = Fake::start(Kind::Jellyfin, KEY, "/media").await;
    let emby = Fake::start(Kind::Emby, KEY, "/media").await;
    let sonarr = Fake::start(Kind::Sonarr, KEY, "/tv/Show").await;

    let default = server.get_json("/api/settings/integrations", &token).await;
    assert_eq!(
        default,
        json!({"jellyfin": null, "emby": null, "plex": null, "sonarr": null, "radarr": null,
               "path_map": [], "yield_to_viewers": false,
               "yield_only_transcoding": false})
    );

    let body = json!({"jellyfin": jellyfin.settings(), "emby": emby.settings(),
                      "sonarr": sonarr.settings(),
                      "path_map": [{"remote": "/tv/", "local": "/data/media/tv/"}],
                      "yield_to_viewers": true});
    let saved = put_integrations(&server, &token, body).await;
    let got = server.get_json("/api/settings/integrations", &token).await;
    assert_eq!(saved, got);
    for answer in [&saved, &got] {
        let text = answer.to_string();
        assert!(!text.contains(&KEY[..12]), "a key leaked: {text}");
        assert_eq!(answer["jellyfin"]["api_key"], "…8f90", "{answer:#}");
        assert_eq!(answer["jellyfin"]["url"], jellyfin.url.as_str());
        assert_eq!(answer["emby"]["api_key"], "…8f90", "{answer:#}");
        assert_eq!(answer["plex"], serde_json::Value::Null);
        assert_eq!(answer["yield_to_viewers"], true);
        assert_eq!(
            answer["path_map"],
            json!([{"remote": "/tv", "local": "/data/media/tv"}])
        );
    }

    // The masked answer sent back keeps the stored keys: the fakes still accept them.
    put_integrations(&server, &token, got.clone()).await;
    for (service, want) in [
        ("jellyfin", "Jellyfin 10.10.3"),
        ("emby", "Emby 4.8.10"),
        ("sonarr", "Sonarr 4.0"),
    ] {
        let (code, r) = post(
            &server,
            &token,
            &format!("/api/settings/integrations/{service}/test"),
            json!({}),
        )
        .await;
        assert_eq!(code, 200, "{service}: {r:#}");
        assert_eq!(r["ok"], true);
        assert!(r["detail"].as_str().unwrap().starts_with(want), "{r:#}");
    }
    for fake in [&jellyfin, &emby] {
        let sent = fake.calls_to(Method::GET, "/System/Info");
        assert_eq!(sent.len(), 1, "{sent:?}");
    }

    // A wrong key and an unreachable service fail with their own codes.
    let mut wrong = got.clone();
    wrong["jellyfin"]["api_key"] = json!("not-the-right-key-0000");
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone_url = format!("http://{}", gone.local_addr().unwrap());
    drop(gone);
    wrong["sonarr"]["url"] = json!(gone_url);
    put_integrations(&server, &token, wrong).await;
    let r = server
        .bearer(
            Method::POST,
            "/api/settings/integrations/jellyfin/test",
            &token,
        )
        .send()
        .await
        .unwrap();
    problem(r, 502, "INTEGRATION_KEY_REFUSED").await;
    let r = server
        .bearer(
            Method::POST,
            "/api/settings/integrations/sonarr/test",
            &token,
        )
        .send()
        .await
        .unwrap();
    let p = problem(r, 502, "INTEGRATION_UNREACHABLE").await;
    assert!(!p.to_string().contains("0000"), "{p:#}");
    let r = server
        .bearer(Method::POST, "/api/settings/integrations/plex/test", &token)
        .send()
        .await
        .unwrap();
    problem(r, 409, "INTEGRATION_NOT_CONFIGURED").await;
    let r = server
        .bearer(Method::POST, "/api/settings/integrations/kodi/test", &token)
        .send()
        .await
        .unwrap();
    problem(r, 404, "INTEGRATION_UNKNOWN").await;

    // Bad values name their field.
    for (body, field) in [
        (
            json!({"plex": {"url": "plex.local", "api_key": "k"}}),
            "plex.url",
        ),
        (
            json!({"radarr": {"url": "http://h:7878", "api_key": ""}}),
            "radarr.api_key",
        ),
        (
            json!({"path_map": [{"remote": "/tv", "local": "relative/tv"}]}),
            "path_map[0].local",
        ),
    ] {
        let r = send(
            &server,
            &token,
            Method::PUT,
            "/api/settings/integrations",
            body.clone(),
        )
        .await;
        let p = problem(r, 400, "VALIDATION_FAILED").await;
        assert_eq!(p["field"], field, "{body}: {p:#}");
    }
    jellyfin.stop();
    emby.stop();
    sonarr.stop();
}
