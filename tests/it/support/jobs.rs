//! Jobs through the API: start a scan, enqueue a file, find a job by name, read its details,
//! and a long encode in flight with its ffmpeg process (for pause, cancel and restarts).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::api::post;
use super::clips::{copy_into, long_h264_clip};
use super::files::{library, mp4_temp_path};
use super::procs::ffmpeg_pids;
use super::server::TestServer;
use super::sse::{SseReader, events_until_status};
use super::wait::{LONG_JOB, PROMPT, SHORT_JOB, wait_until};

pub async fn start_scan(server: &TestServer, token: &str) {
    let r = server
        .post_json("/api/library/scan", token, json!({}))
        .await;
    assert_eq!(r.status(), 202, "scan");
}

/// `GET /api/jobs/{id}/details`.
pub async fn details(server: &TestServer, token: &str, id: u64) -> Value {
    server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await
}

/// The id of the job whose input file is named `name`.
pub async fn job_id_by_name(server: &TestServer, token: &str, name: &str) -> u64 {
    let jobs = server
        .get_json(&format!("/api/jobs?search={name}&limit=200"), token)
        .await;
    let matches: Vec<u64> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| Path::new(j["input_path"].as_str().unwrap()).file_name() == Some(name.as_ref()))
        .map(|j| j["id"].as_u64().unwrap())
        .collect();
    assert_eq!(matches.len(), 1, "one job for {name}: {jobs:#}");
    matches[0]
}

/// Queue one file through `POST /api/jobs/enqueue`; returns the job id.
pub async fn enqueue(server: &TestServer, token: &str, path: &Path) -> u64 {
    let (status, body) = post(
        server,
        token,
        "/api/jobs/enqueue",
        json!({"path": path.to_str().unwrap()}),
    )
    .await;
    assert_eq!(status, 200, "enqueue {path:?}: {body}");
    assert_eq!(body["enqueued"], true);
    body["id"].as_u64().unwrap()
}

/// A long encode in flight: its job, files and ffmpeg process.
pub struct InFlight {
    pub id: u64,
    pub source: PathBuf,
    pub temp: PathBuf,
    pub pid: u32,
}

/// Wait until job `id` on `source` encodes and ffmpeg has reported progress; find its process.
pub async fn in_flight(sse: &mut SseReader, id: u64, source: &Path) -> InFlight {
    events_until_status(sse, id, "encoding", SHORT_JOB).await;
    sse.until(LONG_JOB, |e| {
        e.event == "progress" && e.data["job_id"] == id
    })
    .await;
    let temp = mp4_temp_path(source, id);
    let pid = wait_until(
        PROMPT,
        "the ffmpeg process writing the temp file",
        async || match ffmpeg_pids(&temp)[..] {
            [pid] => Some(pid),
            _ => None,
        },
    )
    .await;
    wait_until(PROMPT, "the temp file", async || temp.exists()).await;
    InFlight {
        id,
        source: source.to_path_buf(),
        temp,
        pid,
    }
}

/// Scan a library holding only the long clip and wait until it encodes.
pub async fn scan_long_clip(server: &TestServer, token: &str, sse: &mut SseReader) -> InFlight {
    let lib = library(server.tmp.path());
    let source = copy_into(&lib, long_h264_clip(), "long.mp4".as_ref());
    server.add_folder(token, &lib).await;
    start_scan(server, token).await;
    let (queued, _) = sse.until(PROMPT, |e| e.event == "status").await;
    let id = queued.data["job_id"].as_u64().unwrap();
    in_flight(sse, id, &source).await
}
