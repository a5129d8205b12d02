//! The real `alchemist serve` binary on a loopback port with an admin signed in (`Served`),
//! for what the in-process server cannot show: the process-wide log (`<data>/logs/`, the live
//! log stream). It makes the server log on demand: an ignored Sonarr/Radarr webhook event is
//! logged at info with the event's name (`log_info`), one without a file path as a warning.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::binary::{BIN, free_port, wait_ready};
use super::{ADMIN, PASSWORD, create_admin};

/// The `alchemist serve` binary on a loopback port with an admin, a session token and a
/// config file holding `config`; killed on drop.
pub struct Served {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub http: reqwest::Client,
    pub token: String,
    /// The server's standard error (its log at `ALCHEMIST_LOG`).
    pub stderr: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    pub async fn start(config: &str) -> Served {
        Served::start_logging(config, "warn").await
    }

    /// [`Served::start`] with the server's log at `level` (`ALCHEMIST_LOG`).
    pub async fn start_logging(config: &str, level: &str) -> Served {
        let tmp = tempfile::tempdir().unwrap();
        let data_dir = tmp.path().join("data");
        let dir = data_dir.clone();
        tokio::task::spawn_blocking(move || create_admin(&dir))
            .await
            .unwrap();
        let port = free_port();
        let file = tmp.path().join("alchemist.toml");
        std::fs::write(
            &file,
            format!("listen = \"127.0.0.1:{port}\"\nscan_on_start = false\n{config}"),
        )
        .unwrap();
        let stderr = tmp.path().join("stderr.txt");
        let mut child = Command::new(BIN)
            .args(["serve", "--data-dir"])
            .arg(&data_dir)
            .arg("--config")
            .arg(&file)
            .env("ALCHEMIST_LOG", level)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        wait_ready(&mut child, &http, &base, Duration::from_secs(60), || {
            std::fs::read_to_string(&stderr).unwrap_or_default()
        })
        .await;
        let r = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"username": ADMIN, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login");
        let token: String = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .strip_prefix("alchemist_session=")
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_string();
        Served {
            child,
            base,
            data_dir,
            http,
            token,
            stderr,
            _tmp: tmp,
        }
    }

    /// SIGTERM the server and wait for it, at most `within`: its exit status and how long it
    /// took to exit, or `None` (then it is killed) when it did not exit in time.
    pub fn terminate(&mut self, within: Duration) -> Option<(std::process::ExitStatus, Duration)> {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        let asked = std::time::Instant::now();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        while asked.elapsed() < within {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some((status, asked.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(Method::GET, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Make the server log an info line naming `marker`: a Sonarr/Radarr webhook of an event
    /// it ignores, which it logs with the event's name.
    pub async fn log_info(&self, marker: &str) {
        let r = self
            .http
            .post(format!("{}/api/webhooks/arr", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"eventType": marker}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "webhook {marker}");
    }

    /// Make the server log a warning: a `Download` webhook without a file path.
    pub async fn log_warning(&self) {
        let r = self
            .http
            .post(format!("{}/api/webhooks/arr", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"eventType": "Download"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "webhook without a path");
    }

    /// `GET /api/system/logs?{query}` → its entries.
    pub async fn entries(&self, query: &str) -> Vec<Value> {
        let r = self
            .get(&format!("/api/system/logs?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "logs?{query}");
        let body: Value = r.json().await.unwrap();
        body["entries"].as_array().unwrap().clone()
    }
}

/// The marker an ignored webhook's log line carries (its `event` field).
pub fn marker(entry: &Value) -> Option<&str> {
    entry["fields"]["event"].as_str()
}
