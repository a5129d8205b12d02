//! Intake: a clip copied in slowly is queued once, after it settled and was closed, and
//! encodes; a folder forced to poll finds a new file within its interval and retires its job
//! when two walks find it deleted (not when the walks find the folder empty, as an unmounted
//! share's is); a folder replaced under its watch is watched again.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use alchemist::model::CpuEncoder;
use serde_json::json;

use super::{SETTLE, folder, jobs_at, wait_job_at, wait_mode, watcher_status, watching};
use crate::support::clips::{copy_into, h264_clip};
use crate::support::files::library;
use crate::support::{PROMPT, SHORT_JOB, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clip_written_in_three_chunks_is_queued_once_after_it_settled() {
    let server = watching(|c| {
        c.transcode.encoder = CpuEncoder::Libx265;
        c.transcode.preset = Some("ultrafast".into());
    })
    .await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let id = server.add_folder(&token, &lib).await;
    let f = wait_mode(&server, &token, id, "events").await;
    assert_eq!(f["watch"], true);
    assert_eq!(f["rescan_interval_minutes"], 360);
    assert!(
        f["watch_reason"].as_str().unwrap().contains("inotify"),
        "{f:#}"
    );

    let clip = std::fs::read(h264_clip()).unwrap();
    let third = clip.len() / 3;
    let path = lib.join("download.mp4");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(&clip[..third]).unwrap();
    // The watcher sees the file and waits for it to settle.
    wait_until(PROMPT, "the file to be settling", async || {
        folder(&server, &token, id).await["watch_pending"] == 1
    })
    .await;
    // Unchanged for longer than the settle time but still open for writing: held.
    wait_until(PROMPT, "the watcher to hold the open file", async || {
        let s = watcher_status(&server, &token).await;
        if s.contains("1 open for writing") {
            Ok(())
        } else {
            Err(s)
        }
    })
    .await;
    assert!(
        jobs_at(&server, &token, &path).await.is_empty(),
        "queued while open"
    );
    file.write_all(&clip[third..2 * third]).unwrap();
    // The copy goes on a second later, as a slow network copy does (the scenario, not a wait).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        jobs_at(&server, &token, &path).await.is_empty(),
        "queued while written"
    );
    file.write_all(&clip[2 * third..]).unwrap();
    drop(file);
    let last_write_ms = {
        let m = std::fs::metadata(&path).unwrap();
        m.mtime() * 1000 + m.mtime_nsec() / 1_000_000
    };

    let job = wait_job_at(&server, &token, &path, PROMPT).await;
    let created = time::OffsetDateTime::parse(
        job["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let created_ms = (created.unix_timestamp_nanos() / 1_000_000) as i64;
    assert!(
        created_ms >= last_write_ms + (SETTLE as i64) * 1000 - 50,
        "queued {} ms after the last write, before it settled",
        created_ms - last_write_ms
    );
    let job_id = job["id"].as_u64().unwrap();
    let done = server
        .wait_job(&token, job_id, SHORT_JOB, |j| {
            assert_ne!(j["status"], "failed", "{j:#}");
            j["status"] == "completed"
        })
        .await;
    let queued_lines = done["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .unwrap()
                .contains("queued by the folder watch")
        })
        .count();
    assert_eq!(queued_lines, 1, "{done:#}");
    assert_eq!(jobs_at(&server, &token, &path).await.len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_forced_to_poll_finds_a_new_file_within_its_interval() {
    let server = watching(|c| {
        c.watch.force_poll = true;
        c.watch.poll = Duration::from_secs(2);
    })
    .await;
    let token = server.login().await;
    let status = server
        .post_json("/api/engine/pause", &token, json!({}))
        .await;
    assert_eq!(status.status(), 200);
    let lib = library(server.tmp.path());
    let id = server.add_folder(&token, &lib).await;
    let f = wait_mode(&server, &token, id, "poll").await;
    assert!(
        f["watch_reason"].as_str().unwrap().contains("force_poll"),
        "{f:#}"
    );
    let path = copy_into(&lib, h264_clip(), OsStr::new("polled.mp4"));
    // Within a walk interval, the settle time and a second walk (2 + 2 + 2 s), with slack.
    let job = wait_job_at(&server, &token, &path, Duration::from_secs(10)).await;
    assert_eq!(job["status"], "queued");
    // A deletion on a share raises no event: walks find the file gone. But walks of a folder
    // that look empty (a share whose server shows its mount point bare) retire nothing.
    let id_of = job["id"].as_u64().unwrap();
    std::fs::remove_file(&path).unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await; // three empty walks, the scenario itself
    let still = server
        .get_json(&format!("/api/jobs/{id_of}/details"), &token)
        .await;
    assert_eq!(still["job"]["status"], "queued", "{still:#}");
    // With another file in the folder, the walks are believed: missing at two, retired.
    copy_into(&lib, h264_clip(), OsStr::new("stays.mp4"));
    let gone = server
        .wait_job(&token, id_of, Duration::from_secs(10), |j| {
            j["status"] == "cancelled"
        })
        .await;
    assert_eq!(gone["job"]["archived"], true, "{gone:#}");
    assert!(
        gone["logs"].to_string().contains("missing at two walks"),
        "{gone:#}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_library_folder_replaced_under_its_watch_is_watched_again() {
    let server = watching(|c| {
        c.watch.settle = Duration::from_secs(1);
    })
    .await;
    let token = server.login().await;
    let r = server
        .post_json("/api/engine/pause", &token, json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let lib = library(server.tmp.path());
    let id = server.add_folder(&token, &lib).await;
    wait_mode(&server, &token, id, "events").await;
    // Another directory takes the folder's place at once (as a remount does): the watch is
    // still on the old one, which no longer has the folder's path.
    let other = server.tmp.path().join("lib-new");
    std::fs::create_dir(&other).unwrap();
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        &lib,
        rustix::fs::CWD,
        &other,
        rustix::fs::RenameFlags::EXCHANGE,
    )
    .unwrap();
    let path = copy_into(&lib, h264_clip(), OsStr::new("after.mp4"));
    wait_job_at(&server, &token, &path, PROMPT).await;
    server.stop().await;
}
