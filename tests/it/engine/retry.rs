//! Automatic retries and probing ahead, with real ffmpeg and a shortened backoff
//! (`Config::retry_base`, what `ALCHEMIST_RETRY_BASE_MS` sets). A source touched during its
//! encode fails `source_changed`, is retried by itself and completes; a library on a full
//! tmpfs fails `disk_full`, is retried once room is made and completes; a fault that persists
//! stops after the maximum number of runs; broken files fail once and are never retried. The
//! analyser fills the probe cache of a scanned library while the engine is paused, without
//! dispatching a job. The tmpfs tests need root (CI has it) and fail saying so without it.

use std::ffi::OsStr;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::support::api::post;
use crate::support::clips::{copy_into, h264_clip, long_h264_clip};
use crate::support::files::{library, sha256};
use crate::support::jobs::{details, enqueue, job_id_by_name, start_scan};
use crate::support::pages::{get_page, select};
use crate::support::sse::events_until_status;
use crate::support::tmpfs::Tmpfs;
use crate::support::{LONG_JOB, PROMPT, SHORT_JOB, TestServer};

/// The shortened wait before the first retry (then ×5 per retry).
const BASE: Duration = Duration::from_secs(1);
/// `engine::retry::MAX_ATTEMPTS`.
const MAX_ATTEMPTS: u64 = 4;

async fn server(base: Duration) -> TestServer {
    TestServer::start_with(|c| {
        c.retry_base = Some(base);
        c.transcode.preset = Some("ultrafast".into());
    })
    .await
}

fn log_lines(d: &Value) -> Vec<String> {
    d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_string())
        .collect()
}

fn outcomes(d: &Value) -> Vec<String> {
    d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap().to_string())
        .collect()
}

/// The failure and retry schedule of a job that just failed with `code`.
fn assert_retry_scheduled(d: &Value, code: &str, attempt: u64, base: Duration) {
    let job = &d["job"];
    assert_eq!(job["status"], "failed", "{d:#}");
    assert_eq!(job["failure"]["code"], code, "{d:#}");
    let expected = base.as_secs_f64() * 5f64.powi(attempt as i32 - 2);
    let waits = job["failure"]["measured"]["retry_in_seconds"]
        .as_f64()
        .unwrap_or_else(|| panic!("retry_in_seconds: {d:#}"));
    assert!((waits - expected).abs() < 1e-6, "{waits} vs {expected}");
    assert!(job["retry_at"].is_string(), "{d:#}");
    assert_eq!(job["retry_attempt"], attempt, "{d:#}");
    let plan = format!("(attempt {attempt} of {MAX_ATTEMPTS})");
    assert!(
        log_lines(d)
            .iter()
            .any(|l| l.starts_with("will retry at") && l.ends_with(&plan)),
        "{:#?}",
        log_lines(d)
    );
}

/// Absence of a retry: for `window` (longer than the backoff a retry would wait), none of the
/// jobs `ids` is queued or run again. The stream is opened here, so only what happens from now
/// on counts, and the first such event fails the test at once.
async fn assert_no_new_run(server: &TestServer, token: &str, ids: &[u64], window: Duration) {
    let mut sse = server.events(token, None).await;
    sse.assert_quiet(window, "a job that should not be retried ran again", |e| {
        e.event == "status"
            && e.data["status"] != "failed"
            && ids.iter().any(|id| e.data["job_id"] == *id)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_changed_during_the_encode_is_retried_and_completes() {
    let server = server(BASE).await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let input = copy_into(&lib, long_h264_clip(), OsStr::new("copying.mp4"));
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    let id = enqueue(&server, &token, &input).await;
    events_until_status(&mut sse, id, "encoding", PROMPT).await;
    // What a copy still in progress does to the file: a new modification time.
    std::fs::File::options()
        .write(true)
        .open(&input)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(3600))
        .unwrap();
    events_until_status(&mut sse, id, "failed", LONG_JOB).await;
    let d = details(&server, &token, id).await;
    assert_retry_scheduled(&d, "source_changed", 2, BASE);
    assert_eq!(d["job"]["attempt_count"], 1);

    // Re-queued by itself once the backoff passed, through the same `status` event a restart
    // publishes, then run to the end.
    let seen = events_until_status(&mut sse, id, "queued", PROMPT).await;
    assert_eq!(seen.last().unwrap().data["previous"], "failed");
    events_until_status(&mut sse, id, "completed", LONG_JOB).await;
    let d = details(&server, &token, id).await;
    let job = &d["job"];
    assert_eq!(job["attempt_count"], 2, "{d:#}");
    assert!(
        job["retry_at"].is_null() && job["retry_attempt"].is_null(),
        "{d:#}"
    );
    assert!(job["failure"].is_null(), "{d:#}");
    assert_eq!(outcomes(&d), ["failed", "completed"]);
    assert!(
        log_lines(&d)
            .iter()
            .any(|l| l == &format!("retrying automatically (attempt 2 of {MAX_ATTEMPTS})")),
        "{:#?}",
        log_lines(&d)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_is_retried_once_room_is_made() {
    let server = server(BASE).await;
    let token = server.login().await;
    let clip_size = std::fs::metadata(h264_clip()).unwrap().len();
    let dir = server.tmp.path().join("small");
    // Too small for the output beside the source: the free-space guard refuses the encode.
    let disk = Tmpfs::mount(&dir, clip_size + 128 * 1024);
    let dir = std::fs::canonicalize(&dir).unwrap();
    let input = copy_into(&dir, h264_clip(), OsStr::new("clip.mp4"));
    let before = sha256(&input);
    server.add_folder(&token, &dir).await;
    let mut sse = server.events(&token, None).await;
    let id = enqueue(&server, &token, &input).await;
    events_until_status(&mut sse, id, "failed", SHORT_JOB).await;
    disk.resize(clip_size * 4 + 8 * 1024 * 1024);
    let d = details(&server, &token, id).await;
    assert_retry_scheduled(&d, "disk_full", 2, BASE);
    events_until_status(&mut sse, id, "completed", SHORT_JOB).await;
    let d = details(&server, &token, id).await;
    assert_eq!(d["job"]["attempt_count"], 2, "{d:#}");
    assert_eq!(outcomes(&d), ["failed", "completed"]);
    assert_eq!(sha256(&input), before, "the source is untouched");
    server.stop().await;
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_that_persists_stops_after_the_last_attempt() {
    // 0.2 + 1 + 5 s of backoff in all.
    let base = Duration::from_millis(200);
    let server = server(base).await;
    let token = server.login().await;
    let clip_size = std::fs::metadata(h264_clip()).unwrap().len();
    let dir = server.tmp.path().join("full");
    let disk = Tmpfs::mount(&dir, clip_size + 128 * 1024);
    let dir = std::fs::canonicalize(&dir).unwrap();
    let input = copy_into(&dir, h264_clip(), OsStr::new("clip.mp4"));
    server.add_folder(&token, &dir).await;
    let id = enqueue(&server, &token, &input).await;
    let d = server
        .wait_job(&token, id, SHORT_JOB, |j| {
            j["attempt_count"] == MAX_ATTEMPTS && j["status"] == "failed"
        })
        .await;
    let job = &d["job"];
    assert_eq!(job["failure"]["code"], "disk_full", "{d:#}");
    assert!(job["retry_at"].is_null(), "no fifth run: {d:#}");
    assert!(
        job["failure"]["measured"].get("retry_in_seconds").is_none(),
        "{d:#}"
    );
    assert!(
        log_lines(&d)
            .iter()
            .any(|l| l.contains("4 attempts in a row failed")),
        "{:#?}",
        log_lines(&d)
    );
    // Longer than the next backoff would have been (25 × 0.2 s): nothing more happens.
    assert_no_new_run(&server, &token, &[id], base * 30).await;
    let d = details(&server, &token, id).await;
    assert_eq!(d["job"]["attempt_count"], MAX_ATTEMPTS);
    assert_eq!(outcomes(&d), ["failed"; 4]);

    // A user's restart starts a new series of the same length.
    let (status, _) = post(
        &server,
        &token,
        &format!("/api/jobs/{id}/restart"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let d = server
        .wait_job(&token, id, SHORT_JOB, |j| {
            j["attempt_count"] == 2 * MAX_ATTEMPTS && j["status"] == "failed"
        })
        .await;
    assert!(d["job"]["retry_at"].is_null(), "{d:#}");
    assert_no_new_run(&server, &token, &[id], base * 30).await;
    let d = details(&server, &token, id).await;
    assert_eq!(d["job"]["attempt_count"], 2 * MAX_ATTEMPTS, "{d:#}");
    server.stop().await;
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_drops_a_scheduled_retry() {
    // The default backoff (a minute): the retry is pending while the test looks at it.
    let server = TestServer::start().await;
    let token = server.login().await;
    let clip_size = std::fs::metadata(h264_clip()).unwrap().len();
    let dir = server.tmp.path().join("full");
    let disk = Tmpfs::mount(&dir, clip_size + 128 * 1024);
    let dir = std::fs::canonicalize(&dir).unwrap();
    let input = copy_into(&dir, h264_clip(), OsStr::new("clip.mp4"));
    server.add_folder(&token, &dir).await;
    let id = enqueue(&server, &token, &input).await;
    let d = server
        .wait_job(&token, id, SHORT_JOB, |j| j["status"] == "failed")
        .await;
    assert_retry_scheduled(&d, "disk_full", 2, Duration::from_secs(60));
    // The pages say when the retry will run, in the list and on the job's page.
    let retry_at = d["job"]["retry_at"].as_str().unwrap().replace('T', " ");
    let retry_note = |doc: &scraper::Html| {
        select(doc, &format!("[data-retry-job=\"{id}\"]"))
            .first()
            .map(|e| e.text().collect::<String>())
    };
    let (_, list) = get_page(&server, "/jobs", &token).await;
    let note = retry_note(&list).expect("the jobs list shows the pending retry");
    assert!(
        note.contains(&retry_at[..16]) && note.contains("(run 2)"),
        "{note}"
    );
    let (_, page) = get_page(&server, &format!("/jobs/{id}"), &token).await;
    let note = retry_note(&page).expect("the job page shows the pending retry");
    assert!(note.contains(&retry_at[..19]), "{note} vs {retry_at}");
    let (status, _) = post(
        &server,
        &token,
        &format!("/api/jobs/{id}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let d = details(&server, &token, id).await;
    assert_eq!(
        d["job"]["status"], "failed",
        "a cancel leaves the failure: {d:#}"
    );
    assert!(d["job"]["retry_at"].is_null(), "{d:#}");
    assert!(d["job"]["retry_attempt"].is_null(), "{d:#}");
    let (_, list) = get_page(&server, "/jobs", &token).await;
    assert!(retry_note(&list).is_none(), "no retry shown after a cancel");
    assert!(
        log_lines(&d)
            .iter()
            .any(|l| l == "automatic retry cancelled"),
        "{:#?}",
        log_lines(&d)
    );
    server.stop().await;
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_files_fail_once_and_are_never_retried() {
    let server = server(BASE).await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    std::fs::write(lib.join("notes.mkv"), b"this is a text file, not a video\n").unwrap();
    let bytes = std::fs::read(long_h264_clip()).unwrap();
    std::fs::write(lib.join("cut.mp4"), &bytes[..bytes.len() * 2 / 5]).unwrap();
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    start_scan(&server, &token).await;
    sse.until(PROMPT, |e| e.event == "scan_completed").await;
    let mut ids = Vec::new();
    for name in ["notes.mkv", "cut.mp4"] {
        let id = job_id_by_name(&server, &token, name).await;
        let d = server
            .wait_job(&token, id, SHORT_JOB, |j| j["status"] == "failed")
            .await;
        let job = &d["job"];
        assert_eq!(job["failure"]["code"], "probe_failed", "{name}: {d:#}");
        assert!(job["retry_at"].is_null(), "{name}: {d:#}");
        assert!(job["retry_attempt"].is_null(), "{name}: {d:#}");
        assert!(
            log_lines(&d)
                .iter()
                .any(|l| l.starts_with("not retried automatically")),
            "{name}: {:#?}",
            log_lines(&d)
        );
        ids.push(id);
    }
    // Well past the first backoff: still one attempt each.
    assert_no_new_run(&server, &token, &ids, BASE * 3).await;
    for id in ids {
        let d = details(&server, &token, id).await;
        assert_eq!(d["job"]["status"], "failed");
        assert_eq!(d["job"]["attempt_count"], 1, "{d:#}");
        assert_eq!(outcomes(&d), ["failed"]);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_files_are_probed_ahead_while_the_engine_is_paused() {
    let server = server(BASE).await;
    let token = server.login().await;
    let (status, _) = post(&server, &token, "/api/engine/pause", json!({})).await;
    assert_eq!(status, 200);
    let lib = library(server.tmp.path());
    let names = ["a.mp4", "b.mp4", "c.mp4", "d.mp4", "e.mp4"];
    let clips: Vec<_> = names
        .iter()
        .map(|n| copy_into(&lib, h264_clip(), OsStr::new(n)))
        .collect();
    std::fs::write(lib.join("broken.mkv"), b"not a video").unwrap();
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    start_scan(&server, &token).await;
    let (done, _) = sse.until(PROMPT, |e| e.event == "scan_completed").await;
    assert_eq!(done.data["queued"], 6, "{}", done.data);
    let (pass, _) = sse
        .until(SHORT_JOB, |e| {
            e.event == "log"
                && e.data["job_id"].is_null()
                && e.data["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("ahead of dispatch"))
        })
        .await;
    // Nothing was dispatched: every job is still queued and never ran.
    let jobs = server.get_json("/api/jobs?limit=200", &token).await;
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 6);
    for j in jobs {
        assert_eq!(j["status"], "queued", "{j}");
        assert_eq!(j["attempt_count"], 0, "{j}");
    }
    let (_tmp, data_dir) = server.stop().await;
    // The cache holds a probe of every clip, for the version of the file on disk.
    let store = alchemist::store::Store::open(&data_dir).unwrap();
    for clip in &clips {
        let entry = store
            .probe_cache_get(clip)
            .unwrap()
            .unwrap_or_else(|| panic!("no probe cached for {clip:?}; pass: {}", pass.data));
        assert_eq!(entry.size, std::fs::metadata(clip).unwrap().len());
        assert!(entry.info.is_object());
    }
    assert!(
        store
            .probe_cache_get(&lib.join("broken.mkv"))
            .unwrap()
            .is_none()
    );
}
