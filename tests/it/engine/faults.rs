//! Faults with real ffmpeg and a real filesystem: an encode that would not save enough is
//! stopped early and skipped with its projection; a library on a small tmpfs (mounted for the
//! test: it needs root, and fails saying so without it) ends in `disk_full` both before
//! starting (free-space guard) and when the disk fills during the encode, with the original
//! intact and the server still serving.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};

use alchemist::model::CpuEncoder;
use reqwest::Method;

use crate::support::clips::{copy_into, long_h264_clip};
use crate::support::files::{dir_names, library, sha256, temp_files};
use crate::support::jobs::{details, enqueue, job_id_by_name, start_scan};
use crate::support::sse::events_until_status;
use crate::support::tmpfs::Tmpfs;
use crate::support::{LONG_JOB, PROMPT, SHORT_JOB, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encode_that_would_grow_is_stopped_early_and_skipped() {
    // Near-lossless HEVC of the 20-second H.264 clip is larger than the source.
    let server = TestServer::start_with(|c| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.crf = Some(0);
        c.transcode.preset = Some("ultrafast".into());
    })
    .await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let input = copy_into(&lib, long_h264_clip(), OsStr::new("small.mp4"));
    let before = sha256(&input);
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    let id = enqueue(&server, &token, &input).await;
    events_until_status(&mut sse, id, "skipped", LONG_JOB).await;
    let d = details(&server, &token, id).await;
    let why = &d["job"]["decision"];
    assert_eq!(why["code"], "size_reduction_insufficient", "{d:#}");
    let m = &why["measured"];
    assert!(m["projected_bytes"].as_u64().unwrap() > m["limit_bytes"].as_u64().unwrap());
    assert!(
        m["progress_fraction"].as_f64().unwrap() < 0.9,
        "stopped early: {m}"
    );
    assert_eq!(sha256(&input), before);
    assert_eq!(
        dir_names(&lib),
        vec!["small.mp4"],
        "no output, no temp file"
    );
    server.stop().await;
}

/// Fill the filesystem holding `dir` until it refuses more.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler.bin");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_ends_in_disk_full_with_the_original_intact() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let clip_size = std::fs::metadata(long_h264_clip()).unwrap().len();

    // 1. Too little room to start: the free-space guard refuses before ffmpeg runs.
    let small = server.tmp.path().join("small");
    let _small = Tmpfs::mount(&small, clip_size + 256 * 1024);
    let small = std::fs::canonicalize(&small).unwrap();
    let input = copy_into(&small, long_h264_clip(), OsStr::new("movie.mp4"));
    let before = sha256(&input);
    server.add_folder(&token, &small).await;
    let mut sse = server.events(&token, None).await;
    let id = enqueue(&server, &token, &input).await;
    events_until_status(&mut sse, id, "failed", SHORT_JOB).await;
    let d = details(&server, &token, id).await;
    assert_eq!(d["job"]["failure"]["code"], "disk_full", "{d:#}");
    assert!(
        d["job"]["failure"]["measured"]["needed_bytes"]
            .as_u64()
            .unwrap()
            > clip_size / 2
    );
    assert_eq!(sha256(&input), before);
    assert!(temp_files(&small).is_empty());

    // 2. Room to start, then something else fills the disk during the encode.
    let big = server.tmp.path().join("big");
    let _big = Tmpfs::mount(&big, clip_size * 2 + 2 * 1024 * 1024);
    let big = std::fs::canonicalize(&big).unwrap();
    let input = copy_into(&big, long_h264_clip(), OsStr::new("movie.mp4"));
    let before = sha256(&input);
    server.add_folder(&token, &big).await;
    let id = enqueue(&server, &token, &input).await;
    events_until_status(&mut sse, id, "encoding", PROMPT).await;
    let filler = fill(&big);
    events_until_status(&mut sse, id, "failed", LONG_JOB).await;
    let d = details(&server, &token, id).await;
    let failure = &d["job"]["failure"];
    assert_eq!(failure["code"], "disk_full", "{d:#}");
    assert!(failure["measured"]["free_bytes"].as_u64().unwrap() < 1024 * 1024);
    assert_eq!(sha256(&input), before, "the original is byte-identical");
    assert!(temp_files(&big).is_empty(), "the partial output is removed");
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "not retried");

    // The server still serves, and the space comes back.
    std::fs::remove_file(filler).unwrap();
    let r = server
        .bearer(Method::GET, "/api/engine/status", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_byte_and_truncated_files_end_once_with_reasons() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    std::fs::write(lib.join("empty.mkv"), b"").unwrap();
    // The first 40 % of an MP4 whose index (moov) is at the end: unreadable.
    let bytes = std::fs::read(long_h264_clip()).unwrap();
    std::fs::write(lib.join("cut.mp4"), &bytes[..bytes.len() * 2 / 5]).unwrap();
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    start_scan(&server, &token).await;
    let (done, _) = sse.until(PROMPT, |e| e.event == "scan_completed").await;
    assert_eq!(done.data["queued"], 2, "{}", done.data);
    for name in ["empty.mkv", "cut.mp4"] {
        let id = job_id_by_name(&server, &token, name).await;
        let d = server
            .wait_job(&token, id, SHORT_JOB, |j| {
                j["status"] == "failed" || j["status"] == "skipped"
            })
            .await;
        let why = if d["job"]["status"] == "failed" {
            &d["job"]["failure"]
        } else {
            &d["job"]["decision"]
        };
        // An empty file is told apart from a damaged one.
        let want = if name == "empty.mkv" {
            "empty_file"
        } else {
            "probe_failed"
        };
        assert_eq!(why["code"], want, "{name}: {d:#}");
        assert!(!why["detail"].as_str().unwrap().is_empty());
        assert_eq!(d["job"]["attempt_count"], 1, "{name}");
    }
    // A rescan does not queue them again.
    start_scan(&server, &token).await;
    let (done, _) = sse.until(PROMPT, |e| e.event == "scan_completed").await;
    assert_eq!(done.data["queued"], 0, "{}", done.data);
    assert_eq!(
        dir_names(&lib),
        vec!["cut.mp4", "empty.mkv"],
        "nothing written"
    );
    server.stop().await;
}
