//! Encodes through the real binary: a generated source clip, a server with a library folder
//! and the engine running, and "queue this file and wait until it is done".

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::proc::ProcServer;

pub const PASSWORD: &str = "benchmark password";
/// How often a waiting bench asks for the job's state.
const POLL: Duration = Duration::from_millis(50);
/// A job that takes longer than this has hung: a bench failure, not a figure.
const JOB_LIMIT: Duration = Duration::from_secs(900);

/// A quiet, overwriting ffmpeg command whose first input is the lavfi `source`.
pub fn ffmpeg_lavfi(source: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("ffmpeg");
    cmd.args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
    ])
    .arg(source);
    cmd
}

/// `seconds` of 640×360 `testsrc2` at 25 fps with a sine tone, as near-lossless MPEG-4 Part 2
/// in Matroska: libx265 makes it much smaller, so the engine transcodes it rather than
/// skipping it for too little saving.
pub fn make_clip(path: &Path, seconds: u32) {
    let ok = ffmpeg_lavfi(&format!("testsrc2=size=640x360:rate=25:duration={seconds}"))
        .args(["-f", "lavfi", "-i"])
        .arg(format!(
            "sine=frequency=440:sample_rate=48000:duration={seconds}"
        ))
        .args(["-c:v", "mpeg4", "-q:v", "2", "-c:a", "aac", "-shortest"])
        .args(["-f", "matroska"])
        .arg(path)
        .status()
        .expect("ffmpeg")
        .success();
    assert!(ok, "ffmpeg could not make the clip");
}

/// A data dir with the admin, a library folder (canonical) and the source clip, all in `root`.
pub struct Setup {
    pub data: PathBuf,
    pub lib: PathBuf,
    pub clip: PathBuf,
}

pub fn setup(root: &Path, clip_seconds: u32) -> Setup {
    let data = root.join("data");
    super::make_store(&data, 0, PASSWORD);
    let lib = root.join("lib");
    std::fs::create_dir_all(&lib).expect("lib");
    let lib = std::fs::canonicalize(lib).expect("lib");
    let clip = root.join("source.mkv");
    make_clip(&clip, clip_seconds);
    Setup { data, lib, clip }
}

/// The real binary serving `setup.lib`, logged in, engine running with `jobs` at a time.
pub async fn start(setup: &Setup, jobs: u32) -> (ProcServer, reqwest::Client, String) {
    let server =
        ProcServer::start(&setup.data, &["--library".as_ref(), setup.lib.as_os_str()]).await;
    let http = reqwest::Client::new();
    let token = server.login(&http, PASSWORD).await;
    set_mode(&server, &http, &token, jobs).await;
    let r = http
        .post(format!("{}/api/engine/resume", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("resume");
    assert_eq!(r.status(), 200, "resume");
    (server, http, token)
}

/// Balanced mode (normal CPU priority) with `jobs` at a time; publishes an `engine` event.
pub async fn set_mode(server: &ProcServer, http: &reqwest::Client, token: &str, jobs: u32) {
    let r = http
        .post(format!("{}/api/engine/mode", server.base))
        .bearer_auth(token)
        .json(&json!({"mode": "balanced", "concurrent_jobs_override": jobs}))
        .send()
        .await
        .expect("mode");
    assert_eq!(r.status(), 200, "mode");
}

/// Copy the clip into the library as `name` and queue it; returns the job id.
pub async fn enqueue(
    setup: &Setup,
    server: &ProcServer,
    http: &reqwest::Client,
    token: &str,
    name: &str,
) -> u64 {
    let input = setup.lib.join(name);
    std::fs::copy(&setup.clip, &input).expect("copy clip");
    let r = http
        .post(format!("{}/api/jobs/enqueue", server.base))
        .bearer_auth(token)
        .json(&json!({"path": input}))
        .send()
        .await
        .expect("enqueue");
    assert_eq!(r.status(), 200, "enqueue");
    let body: Value = r.json().await.expect("enqueue body");
    body["id"].as_u64().expect("job id")
}

/// Poll until job `id` ends; its details (it must have completed) and when that was seen.
pub async fn wait_done(
    server: &ProcServer,
    http: &reqwest::Client,
    token: &str,
    id: u64,
) -> (Value, Instant) {
    let started = Instant::now();
    loop {
        let d: Value = http
            .get(format!("{}/api/jobs/{id}/details", server.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("details")
            .json()
            .await
            .expect("details body");
        match d["job"]["status"].as_str() {
            Some("completed") => return (d, Instant::now()),
            Some("failed" | "skipped" | "cancelled") => panic!("job {id} did not complete: {d:#}"),
            _ => {}
        }
        assert!(started.elapsed() < JOB_LIMIT, "job {id} hung: {d:#}");
        tokio::time::sleep(POLL).await;
    }
}
