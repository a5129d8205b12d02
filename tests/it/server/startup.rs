//! Start-up with a store of many jobs: the job index builds in the background, so
//! `/api/health` answers while it builds and `/api/ready` says 503 until it is there. The
//! build is held back (`Store::open_deferred`) for as long as the test looks, so the state is
//! not a race; a list asked for meanwhile waits for the index and counts every job.

use std::path::PathBuf;

use alchemist::config::Config;
use alchemist::model::JobId;
use alchemist::store::{Job, Store};
use alchemist::{Listeners, run_with_store};
use tokio_util::sync::CancellationToken;

use crate::support::api::problem;
use crate::support::{PROMPT, create_admin, wait_until};

const JOBS: u64 = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_before_the_job_index_is_ready_and_ready_waits_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = data.clone();
    let (store, loader) = tokio::task::spawn_blocking(move || {
        create_admin(&dir);
        let jobs = (0..JOBS)
            .map(|i| Job::queued(JobId(0), PathBuf::from(format!("/m/{i}.mkv")), i as i64))
            .collect();
        Store::open(&dir).unwrap().insert_jobs_bulk(jobs).unwrap();
        Store::open_deferred(&dir).unwrap()
    })
    .await
    .unwrap();

    let mut config = Config::defaults(&data);
    config.scan_on_start = false;
    config.ffmpeg = crate::support::clips::ffmpeg().to_path_buf();
    config.ffprobe = crate::support::clips::ffprobe().to_path_buf();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let listeners = Listeners {
        main: listener,
        http_redirect: None,
    };
    let server = tokio::spawn(run_with_store(config, store, listeners, shutdown.clone()));
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{base}{path}");

    // The index build has not started: health answers, ready says why it is not ready.
    wait_until(PROMPT, "/api/health to answer 200", async || {
        let r = http.get(url("/api/health")).send().await;
        r.is_ok_and(|r| r.status() == 200)
    })
    .await;
    let r = http.get(url("/api/ready")).send().await.unwrap();
    let body = problem(r, 503, "INDEX_LOADING").await;
    assert!(
        body["detail"].as_str().unwrap().contains("being loaded"),
        "{body}"
    );

    // A list asked for now waits for the index instead of answering from half of it.
    let login = http
        .post(url("/api/auth/login"))
        .json(&serde_json::json!({"username": crate::support::ADMIN, "password": crate::support::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "login works before the index is ready");
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    let token = cookie
        .strip_prefix("alchemist_session=")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let list = {
        let (http, url, token) = (http.clone(), url("/api/jobs?limit=1"), token.clone());
        tokio::spawn(async move { http.get(url).bearer_auth(token).send().await.unwrap() })
    };
    let r = http.get(url("/api/ready")).send().await.unwrap();
    problem(r, 503, "INDEX_LOADING").await;

    loader.start();
    wait_until(PROMPT, "/api/ready to answer 200", async || {
        let r = http.get(url("/api/ready")).send().await;
        r.is_ok_and(|r| r.status() == 200)
    })
    .await;
    let r = list.await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-total-count"], JOBS.to_string().as_str());

    shutdown.cancel();
    server.await.unwrap().unwrap();
}
