//! The segment folder's life: boot recovery keeps a resuming job's and removes an orphan's,
//! a cancel removes it, and a graceful stop keeps it for the next start to resume from.

use std::ffi::OsStr;

use alchemist::store::Store;

use super::{SEGMENT, check_segment_folder, segment_clip, segment_dir};
use crate::support::clips::copy_into;
use crate::support::files::sha256;
use crate::support::{LONG_JOB, wait_until};

/// Boot recovery keeps the segment folder of a job that is queued (it will resume) and removes
/// the folder of a job that will not (here: one the store no longer has), with its entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_keeps_segments_of_queued_jobs_and_removes_orphans() {
    use alchemist::model::JobId;
    use alchemist::store::{Job, SegmentsEntry};

    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let lib = tmp.path().join("lib");
    let kept = lib.join(".a.alchemist.mkv.alchemist-seg-1");
    let orphan = lib.join(".b.alchemist.mkv.alchemist-seg-2");
    for d in [&kept, &orphan] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("00000.mkv"), b"segment").unwrap();
    }
    let dir = data_dir.clone();
    let (k, o, input) = (kept.clone(), orphan.clone(), lib.join("a.mkv"));
    tokio::task::spawn_blocking(move || {
        crate::support::create_admin(&dir);
        let store = Store::open(&dir).unwrap();
        store
            .insert_jobs_bulk(vec![Job::queued(JobId(1), input, 0)])
            .unwrap();
        for (job_id, dir) in [(1, k), (2, o)] {
            let entry = SegmentsEntry {
                job_id,
                dir,
                created_at: 0,
            };
            store.segments_put(&entry).unwrap();
        }
    })
    .await
    .unwrap();

    // Recovery has run before the server answers.
    let server = crate::support::TestServer::start_in(tmp, data_dir, |_| {}).await;
    assert!(!orphan.exists(), "the orphaned segments are removed");
    assert!(
        kept.join("00000.mkv").exists(),
        "the queued job's segments stay"
    );
    let (_tmp, data_dir) = server.stop().await;
    let entries = tokio::task::spawn_blocking(move || {
        Store::open(&data_dir).unwrap().segments_list().unwrap()
    })
    .await
    .unwrap();
    assert!(
        entries.iter().all(|e| e.job_id != 2),
        "the orphan's entry is gone: {entries:?}"
    );
}

/// Cancelling a segmented encode removes its segments with the partial output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_removes_the_segments() {
    use crate::support::TestServer;
    use crate::support::jobs::enqueue;

    let server = TestServer::start_with(|c| {
        c.transcode.segment_seconds = SEGMENT as u32;
        c.transcode.segment_min_seconds = 10;
        c.transcode.preset = Some("ultrafast".into());
    })
    .await;
    let token = server.login().await;
    let lib = crate::support::files::library(server.tmp.path());
    let source = copy_into(&lib, segment_clip(), OsStr::new("film.mkv"));
    let source_sha = sha256(&source);
    server.add_folder(&token, &lib).await;
    let id = enqueue(&server, &token, &source).await;
    let dir = wait_until(LONG_JOB, "a complete segment", async || {
        segment_dir(&lib).filter(|d| d.join("00000.mkv").exists())
    })
    .await;
    assert!(check_segment_folder(&dir) >= 1);
    let r = server
        .post_json(
            &format!("/api/jobs/{id}/cancel"),
            &token,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    server
        .wait_job(&token, id, LONG_JOB, |j| j["status"] == "cancelled")
        .await;
    assert!(!dir.exists(), "the segments are removed");
    let mut left: Vec<String> = std::fs::read_dir(&lib)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["film.mkv"], "no temp file either");
    assert_eq!(sha256(&source), source_sha);
    server.stop().await;
}

/// A graceful stop (a reboot) during a segmented encode keeps the finished segments, and the
/// next start resumes from them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_keeps_the_segments_and_the_next_start_resumes() {
    use crate::support::TestServer;
    use crate::support::jobs::{details, enqueue};
    use crate::support::sse::events_until_status;

    let config = |c: &mut alchemist::config::Config| {
        c.transcode.segment_seconds = SEGMENT as u32;
        c.transcode.segment_min_seconds = 10;
        c.transcode.preset = Some("ultrafast".into());
    };
    let server = TestServer::start_with(config).await;
    let token = server.login().await;
    let lib = crate::support::files::library(server.tmp.path());
    let source = copy_into(&lib, segment_clip(), OsStr::new("film.mkv"));
    server.add_folder(&token, &lib).await;
    let id = enqueue(&server, &token, &source).await;
    let dir = wait_until(LONG_JOB, "two complete segments", async || {
        segment_dir(&lib).filter(|d| d.join("00001.mkv").exists())
    })
    .await;
    let (tmp, data_dir) = server.stop().await;
    let kept = check_segment_folder(&dir);
    assert!(kept >= 2, "the finished segments stay for the next start");

    let server = TestServer::start_in(tmp, data_dir, config).await;
    let token = server.login().await;
    let mut sse = server.events(&token, None).await;
    let seen = events_until_status(&mut sse, id, "completed", LONG_JOB).await;
    // The job's progress only goes forward: segment after segment, then the join, which holds
    // it at 100 % (it ran from 0 again before).
    let progress: Vec<f64> = seen
        .iter()
        .filter(|e| e.event == "progress" && e.data["job_id"] == id)
        .map(|e| e.data["percent"].as_f64().unwrap())
        .collect();
    assert!(!progress.is_empty(), "no progress events");
    for pair in progress.windows(2) {
        assert!(pair[1] >= pair[0] - 2.0, "progress went back: {progress:?}");
    }
    assert!(*progress.last().unwrap() >= 99.0, "{progress:?}");
    let d = details(&server, &token, id).await;
    let resumed = d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["message"].as_str())
        .find(|m| m.starts_with("resumed from segment "))
        .unwrap_or_else(|| panic!("no resume in the log: {d:#}"))
        .to_string();
    assert!(
        resumed.starts_with(&format!("resumed from segment {} of 40 ", kept + 1)),
        "{resumed}"
    );
    assert!(!dir.exists());
    server.stop().await;
}
