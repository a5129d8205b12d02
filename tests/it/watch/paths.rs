//! Paths: a renamed file (or directory) takes its job along, a deleted file's queued job is
//! retired (and queued again if the file comes back), and a replace or keep cycle (our temps, outputs and trash, and a restore) queues
//! nothing new.

use std::ffi::OsStr;
use std::path::Path;

use alchemist::model::{CpuEncoder, OriginalPolicy};
use serde_json::json;

use super::{all_jobs, folder, jobs_at, wait_job_at, wait_mode, watching};
use crate::support::api::post;
use crate::support::clips::{copy_into, h264_clip};
use crate::support::files::library;
use crate::support::jobs::details;
use crate::support::sse::events_until_status;
use crate::support::{PROMPT, SHORT_JOB, TestServer, wait_until};

/// Wait until job `id`'s input is `path`.
async fn wait_path(server: &TestServer, token: &str, id: u64, path: &Path) {
    let want = path.to_str().unwrap();
    server
        .wait_job(token, id, PROMPT, |j| j["input_path"] == want)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renamed_files_take_their_job_along_and_deleted_ones_retire_it_until_they_return() {
    let server = watching(|_| {}).await;
    let token = server.login().await;
    let r = server
        .post_json("/api/engine/pause", &token, json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let lib = library(server.tmp.path());
    let id = server.add_folder(&token, &lib).await;
    wait_mode(&server, &token, id, "events").await;
    let a = copy_into(&lib, h264_clip(), OsStr::new("a.mp4"));
    std::fs::create_dir(lib.join("show")).unwrap();
    let e1 = copy_into(&lib.join("show"), h264_clip(), OsStr::new("e1.mp4"));
    let job = wait_job_at(&server, &token, &a, PROMPT).await["id"]
        .as_u64()
        .unwrap();
    let ep = wait_job_at(&server, &token, &e1, PROMPT).await["id"]
        .as_u64()
        .unwrap();

    // A file renamed, and a directory renamed: same jobs, new paths.
    let b = lib.join("b.mp4");
    std::fs::rename(&a, &b).unwrap();
    wait_path(&server, &token, job, &b).await;
    std::fs::rename(lib.join("show"), lib.join("Show")).unwrap();
    let moved_ep = lib.join("Show").join("e1.mp4");
    wait_path(&server, &token, ep, &moved_ep).await;
    let logs = details(&server, &token, job).await["logs"].to_string();
    assert!(logs.contains("the job follows it"), "{logs}");

    // A file copied in after the renames is queued after it settles: by then every event of
    // the renames has been handled, and they queued nothing.
    let c = copy_into(&lib, h264_clip(), OsStr::new("c.mp4"));
    wait_job_at(&server, &token, &c, PROMPT).await;
    wait_until(PROMPT, "nothing left to settle", async || {
        folder(&server, &token, id).await["watch_pending"] == 0
    })
    .await;
    let jobs = all_jobs(&server, &token).await;
    assert_eq!(jobs.len(), 3, "{jobs:#?}");

    // Moved out of the library: the queued job is cancelled and archived, not left to fail
    // later, and says why.
    let outside = server.tmp.path().join("b.mp4");
    std::fs::rename(&b, &outside).unwrap();
    let gone = server
        .wait_job(&token, job, PROMPT, |j| j["status"] == "cancelled")
        .await;
    assert_eq!(gone["job"]["archived"], true, "{gone:#}");
    assert!(gone["logs"].to_string().contains("deleted or moved out"));
    assert_eq!(gone["job"]["failure"]["code"], "source_missing", "{gone:#}");
    // Moved back, unchanged: the same job is queued again.
    std::fs::rename(&outside, &b).unwrap();
    let back = server
        .wait_job(&token, job, PROMPT, |j| j["status"] == "queued")
        .await;
    assert_eq!(back["job"]["archived"], false, "{back:#}");
    // Deleted for good: retired again.
    std::fs::remove_file(&b).unwrap();
    server
        .wait_job(&token, job, PROMPT, |j| j["status"] == "cancelled")
        .await;
    server.stop().await;
}

/// Encode one clip the watcher found, with `policy`, then show the cycle queued nothing more.
async fn cycle_queues_nothing(policy: OriginalPolicy) {
    let server = watching(|c| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.preset = Some("ultrafast".into());
        c.transcode.original = policy;
    })
    .await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let id = server.add_folder(&token, &lib).await;
    wait_mode(&server, &token, id, "events").await;
    let mut sse = server.events(&token, None).await;
    let movie = copy_into(&lib, h264_clip(), OsStr::new("movie.mp4"));
    let job = wait_job_at(&server, &token, &movie, PROMPT).await["id"]
        .as_u64()
        .unwrap();
    events_until_status(&mut sse, job, "completed", SHORT_JOB).await;
    if policy == OriginalPolicy::Replace {
        // The owner takes the original back: it is not encoded again.
        let (status, body) = post(
            &server,
            &token,
            &format!("/api/trash/{job}/restore"),
            json!({}),
        )
        .await;
        assert_eq!(status, 200, "{body:#}");
    }

    // The temp file, the output, the trash and the promoted output (replace), the restore,
    // all raised events. A file copied in afterwards settles after all of them.
    let r = server
        .post_json("/api/engine/pause", &token, json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let marker = copy_into(&lib, h264_clip(), OsStr::new("marker.mp4"));
    wait_job_at(&server, &token, &marker, PROMPT).await;
    wait_until(PROMPT, "nothing left to settle", async || {
        folder(&server, &token, id).await["watch_pending"] == 0
    })
    .await;
    let jobs = all_jobs(&server, &token).await;
    assert_eq!(
        jobs.len(),
        2,
        "{policy:?}: only the movie and the marker: {jobs:#?}"
    );
    let movie_jobs = jobs_at(&server, &token, &movie).await;
    assert_eq!(movie_jobs[0]["status"], "completed", "{movie_jobs:#?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replace_cycle_queues_nothing_new() {
    cycle_queues_nothing(OriginalPolicy::Replace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_cycle_queues_nothing_new() {
    cycle_queues_nothing(OriginalPolicy::Keep).await;
}
