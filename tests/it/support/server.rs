//! The real server (the library's `run`) on an ephemeral loopback port with a temp data dir
//! and an admin account, and small HTTP helpers on it (cookie or Bearer auth, JSON, a job's
//! state, the event stream).

use std::path::{Path, PathBuf};
use std::time::Duration;

use alchemist::config::Config;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::sse::SseReader;
use super::wait::{PROMPT, wait_until};

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "correct horse battery";

/// A running server. Dropping it does not stop it; call `stop`.
pub struct TestServer {
    pub base: String,
    pub data_dir: PathBuf,
    pub tmp: tempfile::TempDir,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// Create the admin in a data dir before the server opens it.
pub fn create_admin(data_dir: &Path) {
    let store = alchemist::store::Store::open(data_dir).expect("open store");
    let auth = alchemist::Auth::new(store, 30);
    auth.create_user_blocking(ADMIN, PASSWORD)
        .expect("create admin");
}

impl TestServer {
    /// Start with defaults: admin created, no scan on start, folders not watched (tests that
    /// copy files in and scan expect no other intake; `watch::` tests turn it on).
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(edit: impl FnOnce(&mut Config)) -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data_dir = tmp.path().join("data");
        let dir = data_dir.clone();
        tokio::task::spawn_blocking(move || create_admin(&dir))
            .await
            .unwrap();
        Self::start_in(tmp, data_dir, edit).await
    }

    /// Start on an existing data dir (restart tests).
    pub async fn start_in(
        tmp: tempfile::TempDir,
        data_dir: PathBuf,
        edit: impl FnOnce(&mut Config),
    ) -> TestServer {
        let mut config = Config::defaults(&data_dir);
        config.scan_on_start = false;
        config.ffmpeg = crate::support::clips::ffmpeg().to_path_buf();
        config.ffprobe = crate::support::clips::ffprobe().to_path_buf();
        config.watch.enabled = false;
        edit(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        // Under `[proxy] base_path` every helper's URL goes through the prefix.
        let base = format!(
            "http://{}{}",
            listener.local_addr().unwrap(),
            config.proxy.base_path
        );
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            alchemist::run(config, listener, stop)
                .await
                .expect("server run");
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let server = TestServer {
            base,
            data_dir,
            tmp,
            http,
            shutdown,
            task,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        wait_until(PROMPT, "the server to be ready", async || {
            let r = self.http.get(self.url("/api/ready")).send().await;
            r.is_ok_and(|r| r.status() == 200)
        })
        .await
    }

    /// Stop gracefully and return the temp dir (so a restart can reuse it).
    pub async fn stop(self) -> (tempfile::TempDir, PathBuf) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("server stops within 30 s")
            .expect("server task");
        (self.tmp, self.data_dir)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Log in; returns the session token (usable as cookie or Bearer).
    pub async fn login(&self) -> String {
        let r = self
            .http
            .post(self.url("/api/auth/login"))
            .json(&serde_json::json!({"username": ADMIN, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login failed");
        let cookie = r
            .headers()
            .get("set-cookie")
            .expect("set-cookie")
            .to_str()
            .unwrap()
            .to_string();
        cookie
            .strip_prefix("alchemist_session=")
            .and_then(|r| r.split(';').next())
            .expect("session cookie")
            .to_string()
    }

    /// A request authenticated with a Bearer token.
    pub fn bearer(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("authorization", format!("Bearer {token}"))
    }

    /// A request authenticated with the session cookie (as a browser would, same origin).
    pub fn cookie(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("cookie", format!("alchemist_session={token}"))
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let r = self.bearer(Method::GET, path, token).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, token: &str, body: Value) -> Response {
        self.bearer(Method::POST, path, token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Add a library folder; returns its id.
    pub async fn add_folder(&self, token: &str, path: &Path) -> u64 {
        let r = self
            .post_json(
                "/api/library/folders",
                token,
                serde_json::json!({"path": path.to_str().unwrap()}),
            )
            .await;
        assert_eq!(r.status(), 201, "add folder");
        r.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
    }

    /// Wait until `pred` holds on job `id`'s JSON; returns its details.
    pub async fn wait_job(
        &self,
        token: &str,
        id: u64,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        wait_until(
            timeout,
            format!("job {id} to reach the expected state"),
            async || {
                let d = self
                    .get_json(&format!("/api/jobs/{id}/details"), token)
                    .await;
                if pred(&d["job"]) { Ok(d) } else { Err(d) }
            },
        )
        .await
    }

    /// Wait (up to `LONG_JOB`) until job `id` has ended: completed, failed or skipped.
    pub async fn wait_job_end(&self, token: &str, id: u64) -> Value {
        self.wait_job(token, id, super::LONG_JOB, |j| {
            matches!(
                j["status"].as_str(),
                Some("completed" | "failed" | "skipped")
            )
        })
        .await
    }

    /// Open the event stream.
    pub async fn events(&self, token: &str, last_event_id: Option<u64>) -> SseReader {
        let mut req = self
            .bearer(Method::GET, "/api/events", token)
            .timeout(Duration::from_secs(600));
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id.to_string());
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        SseReader::new(resp)
    }
}
