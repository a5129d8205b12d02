//! The folder forecast through the API with real sample encodes: a folder of an easy and a
//! noisy clip under a profile with an SSIM target. The easy clip is predicted to save and is
//! given a higher CRF than the noisy one; totals and encode time are filled in; a second
//! forecast while one runs is refused with 409; a bad `sample_files` is a 400 problem; the
//! `/api/v1` alias answers too. Nothing is written into the library.

use reqwest::Method;
use serde_json::{Value, json};

use super::clip;
use crate::support::api::{add_folder_with_profile, ok, problem, send};
use crate::support::clips::copy_into;
use crate::support::files::{dir_names, folder};
use crate::support::{LONG_JOB, TestServer, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_forecast_samples_its_files_one_at_a_time() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let profile = json!({
        "name": "q", "base": "default", "encoder": "libx264", "preset": "ultrafast",
        "min_saving_percent": 10, "quality_target": {"metric": "ssim", "value": 0.97}
    });
    ok(
        send(&server, &token, Method::POST, "/api/profiles", profile).await,
        201,
    )
    .await;
    let dir = folder(&server, "forecast");
    copy_into(
        &dir,
        &clip("forecast-a-easy.mkv", 6, false),
        "a-easy.mkv".as_ref(),
    );
    copy_into(
        &dir,
        &clip("forecast-b-noisy.mkv", 6, true),
        "b-noisy.mkv".as_ref(),
    );
    let f = ok(
        add_folder_with_profile(&server, &token, &dir, json!("q")).await,
        201,
    )
    .await;
    let path = format!("/api/library/folders/{}/forecast", f["id"]);

    problem(
        send(
            &server,
            &token,
            Method::POST,
            &path,
            json!({"sample_files": 0}),
        )
        .await,
        400,
        "FORECAST_INVALID",
    )
    .await;

    let first = {
        let (server_url, token) = (server.url(&path), token.clone());
        let http = server.http.clone();
        tokio::spawn(async move {
            http.post(server_url)
                .bearer_auth(token)
                .json(&json!({"sample_files": 2}))
                .timeout(LONG_JOB)
                .send()
                .await
                .unwrap()
        })
    };
    // Once its samples folder exists the forecast is running: a second one is refused.
    let samples = server.tmp.path().join("data").join("samples");
    wait_until(LONG_JOB, "the forecast's sample folder", async || {
        std::fs::read_dir(&samples).is_ok_and(|mut d| d.next().is_some())
    })
    .await;
    problem(
        send(
            &server,
            &token,
            Method::POST,
            &format!("/api/v1{}", &path[4..]),
            json!({}),
        )
        .await,
        409,
        "FORECAST_RUNNING",
    )
    .await;
    let body: Value = ok(first.await.unwrap(), 200).await;
    assert_eq!(body["folder_files"], 2, "{body:#}");
    assert_eq!(body["profile"], "q");
    assert_eq!(body["folder_path"], dir.display().to_string(), "{body:#}");
    let files = body["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{body:#}");
    let easy = &files[0];
    let noisy = &files[1];
    assert!(easy["path"].as_str().unwrap().ends_with("a-easy.mkv"));
    assert_eq!(easy["decision"], "encode", "{body:#}");
    assert_eq!(easy["code"], "transcode_recommended", "{body:#}");
    assert!(
        easy["summary"]
            .as_str()
            .unwrap()
            .starts_with("The video will be re-encoded"),
        "the reason in words: {body:#}"
    );
    assert_eq!(easy["metric"], "ssim");
    assert!(easy["predicted_savings_bytes"].as_u64().unwrap() > 0);
    assert!(easy["predicted_encode_seconds"].as_f64().unwrap() > 0.0);
    assert!(
        easy["crf"].as_u64().unwrap() > noisy["crf"].as_u64().unwrap(),
        "{body:#}"
    );
    assert!(body["predicted_savings_bytes"].as_u64().unwrap() > 0);
    assert!(body["predicted_savings_percent"].as_f64().unwrap() > 0.0);
    assert!(body["predicted_encode_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(dir_names(&dir), ["a-easy.mkv", "b-noisy.mkv"]);
    server.stop().await;
}
