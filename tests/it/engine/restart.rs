//! Interrupted jobs survive the server: the real binary is SIGKILLed during an encode (its
//! ffmpeg dies with it), and the next start puts the job back in the queue and removes the stale
//! temp file before anything runs; a graceful stop re-queues the active job itself.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::binary::{BIN, free_port, wait_ready};
use crate::support::clips::{copy_into, ffmpeg, ffprobe, long_h264_clip};
use crate::support::files::{dir_names, library, mp4_temp_path, sha256, temp_files, video_codec};
use crate::support::jobs::scan_long_clip;
use crate::support::procs::{ffmpeg_pids, is_dead, proc_state};
use crate::support::{ADMIN, LONG_JOB, PASSWORD, PROMPT, TestServer, wait_until};

/// The `alchemist serve` process this test started. Killed (by its pid) if the test fails.
struct Served {
    child: Child,
    base: String,
    http: reqwest::Client,
    log: PathBuf,
    token: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `alchemist admin create`, password on standard input.
fn admin_create(data_dir: &Path) {
    let mut child = Command::new(BIN)
        .args(["admin", "create", "--username", ADMIN, "--data-dir"])
        .arg(data_dir)
        .env_remove("ALCHEMIST_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "admin create: {out:?}");
}

impl Served {
    /// `alchemist serve` on a free loopback port; returns once `/api/ready` answers and the
    /// admin is logged in.
    async fn start(data_dir: &Path, lib: &Path, log_name: &str) -> Served {
        let port = free_port();
        let log = data_dir.parent().unwrap().join(log_name);
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--library")
            .arg(lib)
            .env_remove("ALCHEMIST_DATA_DIR")
            .env_remove("ALCHEMIST_LISTEN")
            .env_remove("ALCHEMIST_LIBRARY")
            .env_remove("ALCHEMIST_CONFIG")
            .env("ALCHEMIST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut served = Served {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            log,
            token: String::new(),
        };
        let log = served.log.clone();
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        wait_ready(
            &mut served.child,
            &served.http,
            &served.base,
            Duration::from_secs(30),
            log_text,
        )
        .await;
        let r = served
            .http
            .post(served.base.clone() + "/api/auth/login")
            .json(&json!({"username": ADMIN, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        served.token = cookie
            .strip_prefix("alchemist_session=")
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_string();
        served
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    async fn post(&self, path: &str) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "POST {path}");
        r.json().await.unwrap()
    }

    /// The only job (the scan at start queues the one file of the library).
    async fn only_job(&self) -> Option<Value> {
        let jobs = self.get("/api/jobs").await;
        let jobs = jobs.as_array().unwrap();
        assert!(jobs.len() <= 1, "{jobs:#?}");
        jobs.first().cloned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_server_requeues_the_interrupted_job_at_next_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    std::fs::write(
        data_dir.join("alchemist.toml"),
        format!(
            "ffmpeg = {:?}\nffprobe = {:?}\n",
            ffmpeg().to_str().unwrap(),
            ffprobe().to_str().unwrap()
        ),
    )
    .unwrap();
    let lib = library(tmp.path());
    let source = copy_into(&lib, long_h264_clip(), "movie.mp4".as_ref());
    let source_sha = sha256(&source);
    admin_create(&data_dir);

    // First run: the scan at start queues the clip and it starts encoding.
    let mut first = Served::start(&data_dir, &lib, "first.log").await;
    let job = wait_until(LONG_JOB, "the job to encode", async || {
        first
            .only_job()
            .await
            .filter(|j| j["status"] == "encoding" && j["progress"].as_f64().unwrap() > 0.0)
    })
    .await;
    let id = job["id"].as_u64().unwrap();
    let temp = mp4_temp_path(&source, id);
    assert!(temp.exists(), "the temp file is being written");
    let pid = wait_until(PROMPT, "the encoder process", async || {
        ffmpeg_pids(&temp).first().copied()
    })
    .await;
    // Persist "paused", so the next start recovers without encoding again at once.
    assert_eq!(first.post("/api/engine/pause").await["status"], "paused");

    first.child.kill().unwrap(); // SIGKILL: no shutdown code runs.
    first.child.wait().unwrap();
    wait_until(PROMPT, "ffmpeg to die with the server", async || {
        is_dead(pid)
    })
    .await;
    assert!(temp.exists(), "nobody removed the temp file yet");
    drop(first);

    // Second run: recovery has run before the API answers.
    let second = Served::start(&data_dir, &lib, "second.log").await;
    assert!(
        !temp.exists(),
        "the stale temp file is removed at boot: {:?}",
        dir_names(&lib)
    );
    assert_eq!(dir_names(&lib), vec!["movie.mp4"]);
    let status = second.get("/api/engine/status").await;
    assert_eq!(status["status"], "paused", "the engine state survived");
    assert_eq!(status["queued_jobs"], 1);
    assert_eq!(status["active_jobs"], 0);
    let d = second.get(&format!("/api/jobs/{id}/details")).await;
    assert_eq!(d["job"]["status"], "queued");
    assert_eq!(d["job"]["progress"], 0.0);
    assert_eq!(d["job"]["attempt_count"], 1);
    // The killed run could not record its end: no attempt entry, but a log line from recovery.
    assert!(d["attempts"].as_array().unwrap().is_empty(), "{d:#}");
    assert!(
        d["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"] == "interrupted by a restart; queued again"),
        "{d:#}"
    );
    assert!(
        ffmpeg_pids(&temp).is_empty(),
        "nothing encodes while paused"
    );

    // Resume: the job runs again from the start and completes.
    assert_eq!(second.post("/api/engine/resume").await["status"], "running");
    let d = wait_until(LONG_JOB, "the job to complete", async || {
        let d = second.get(&format!("/api/jobs/{id}/details")).await;
        let status = d["job"]["status"].as_str().unwrap().to_string();
        assert!(
            ["queued", "analyzing", "encoding", "completed"].contains(&status.as_str()),
            "{d:#}"
        );
        (status == "completed").then_some(d)
    })
    .await;
    assert_eq!(d["job"]["attempt_count"], 2);
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(
        attempts.len(),
        1,
        "only the run that ended is recorded: {d:#}"
    );
    assert_eq!(attempts[0]["number"], 2);
    assert_eq!(attempts[0]["outcome"], "completed");
    let output = lib.join("movie.alchemist.mp4");
    assert_eq!(video_codec(&output), "hevc");
    assert_eq!(sha256(&source), source_sha, "the source is untouched");
    assert!(temp_files(&lib).is_empty());

    // SIGTERM (to the pid this test started and has not reaped) stops it cleanly.
    let mut second = second;
    let term = Command::new("kill")
        .args(["-TERM", &second.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let exit = wait_until(Duration::from_secs(30), "the server to exit", async || {
        second.child.try_wait().unwrap()
    })
    .await;
    assert!(exit.success(), "{exit}: {}", second.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_puts_the_active_job_back_in_the_queue() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let mut sse = server.events(&token, None).await;
    let job = scan_long_clip(&server, &token, &mut sse).await;
    let lib = job.source.parent().unwrap().to_path_buf();
    assert!(job.temp.exists());
    drop(sse);

    let (_tmp, data_dir) = server.stop().await;
    // Stopped: ffmpeg is gone, and so is its partial output.
    assert!(proc_state(job.pid).is_none(), "ffmpeg is killed and reaped");
    assert!(!job.temp.exists());
    assert_eq!(dir_names(&lib), vec!["long.mp4"]);

    // The store says why: queued again (not cancelled), the run recorded as interrupted.
    let id = alchemist::model::JobId(job.id);
    let (stored, attempts, logs) = tokio::task::spawn_blocking(move || {
        let store = alchemist::store::Store::open(&data_dir)
            .expect("the stopped server let go of the store");
        (
            store.get_job(id).unwrap(),
            store.attempts(id).unwrap(),
            store.job_logs(id, 500).unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!(stored.status, alchemist::model::JobState::Queued);
    assert_eq!(stored.progress, 0.0);
    assert_eq!(stored.temp_path, None);
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].outcome,
        alchemist::model::AttemptOutcome::Interrupted
    );
    assert!(
        logs.iter()
            .all(|l| !l.message.contains("interrupted by a restart")),
        "handled by the stop itself, not by recovery"
    );
}
