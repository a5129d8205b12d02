//! What the benchmarks share: the server in-process on a loopback port over an existing data
//! dir, logged in as the admin, with the engine paused so nothing is encoded while measuring
//! ([`BenchServer`]); the real binary as a child process ([`proc::ProcServer`]); the results
//! file ([`report`]); the generated job rows and small statistics helpers.

// Each bench binary compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod media;
pub mod proc;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::Duration;

use alchemist::model::{Explanation, JobId, JobState};
use alchemist::store::Job;

use tokio_util::sync::CancellationToken;

pub struct BenchServer {
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), alchemist::AppError>>,
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

/// Job number `i` of a generated store: statuses cycle through every state, 700 shows of 12
/// seasons, a decision with an explanation as real jobs carry.
pub fn sample_job(i: u64) -> Job {
    let path = PathBuf::from(format!(
        "/media/library/Show {:03}/Season {:02}/Episode {:05} - Title.mkv",
        i % 700,
        i % 12,
        i
    ));
    Job {
        status: JobState::ALL[(i % 8) as usize],
        priority: (i % 5) as i32,
        attempt_count: 1,
        created_at: 1_700_000_000_000 + i as i64,
        updated_at: 1_700_000_000_000 + (i * 7 % 100_000) as i64,
        input_size: 100_000_000 + i * 1_337,
        input_inode: i,
        folder_id: Some(1),
        decision_action: Some("transcode".into()),
        decision: Some(
            Explanation::new(
                "transcode_recommended",
                "The video will be re-encoded from H.264 to HEVC.",
                "A sentence of detail as real decisions carry.",
            )
            .with("bitrate", 4_000_000),
        ),
        ..Job::queued(JobId(0), path, 0)
    }
}

/// A data dir at `data` with `n` generated jobs and the admin `admin`/`password`.
pub fn make_store(data: &Path, n: u64, password: &str) {
    let store = alchemist::store::Store::open(data).expect("open");
    for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
        store
            .insert_jobs_bulk(chunk.iter().map(|&i| sample_job(i)).collect())
            .expect("insert");
    }
    alchemist::Auth::new(store, 30)
        .create_user_blocking("admin", password)
        .expect("admin");
}

/// The value at fraction `p` of `sorted` (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// The median of `values` (sorted in place).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
