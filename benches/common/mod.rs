//! What both benchmarks share: the real server on a loopback port over an existing data dir,
//! logged in as the admin, with the engine paused so nothing is encoded while measuring.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub struct BenchServer {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), alchemist::app::AppError>>,
}

impl BenchServer {
    /// Start on `data` (the admin must exist), log in with `password`, pause the engine.
    pub async fn start(data: &Path, password: &str) -> BenchServer {
        let mut config = alchemist::config::Config::defaults(data);
        config.scan_on_start = false;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move { alchemist::run(config, listener, stop).await });
        let http = reqwest::Client::new();
        let token = loop {
            if let Ok(r) = http
                .post(format!("{base}/api/auth/login"))
                .json(&serde_json::json!({"username": "admin", "password": password}))
                .send()
                .await
                && r.status() == 200
            {
                let c = r.headers()["set-cookie"].to_str().unwrap().to_string();
                break c["alchemist_session=".len()..c.find(';').unwrap()].to_string();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        http.post(format!("{base}/api/engine/pause"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        BenchServer {
            base,
            http,
            token,
            shutdown,
            task,
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}
