//! The engine end to end through the HTTP API with real ffmpeg: a scan queues a 2-second H.264
//! clip, the SSE stream shows every step (scan, decision, status changes, progress), and the
//! result is checked on disk (HEVC output, untouched source, no temp files), in the job details
//! and in the statistics. Also: unchanged rescans, already-HEVC sources, files ffprobe cannot
//! read, directories with video names and `Last-Event-ID` replay. The helpers at the top are
//! shared with `engine_control` and `restart`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::clips::{copy_into, ffprobe, h264_clip, hevc_clip};
use crate::support::{SseEvent, SseReader, TestServer};

/// Upper bound for a job on a 2-second clip, including a busy 2-core CI machine.
pub(crate) const SHORT_JOB: Duration = Duration::from_secs(60);
/// Upper bound for the 20-second clip (about 7 s of libx265 on an idle machine).
pub(crate) const LONG_JOB: Duration = Duration::from_secs(180);
/// Upper bound for things that should happen at once (a signal, a state change).
pub(crate) const PROMPT: Duration = Duration::from_secs(10);

/// Poll `f` every 50 ms until it returns `Some`, or panic after `timeout`.
pub(crate) async fn eventually<T>(
    timeout: Duration,
    what: &str,
    mut f: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fresh library folder inside the server's temp dir (canonical, as the engine stores it).
pub(crate) fn library(tmp: &Path) -> PathBuf {
    let dir = tmp.join("lib");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::canonicalize(dir).unwrap()
}

pub(crate) fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// The codec of the first video stream, as ffprobe reports it.
pub(crate) fn video_codec(path: &Path) -> String {
    let out = std::process::Command::new(ffprobe())
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=codec_name", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {path:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Sorted names of the entries of `dir`.
pub(crate) fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Our temp files (`.*.alchemist-tmp-<id>`) in `dir`.
pub(crate) fn temp_files(dir: &Path) -> Vec<String> {
    dir_names(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.contains(".alchemist-tmp-"))
        .collect()
}

/// The temp file the engine writes for job `id` on `input` (an MP4 source, MP4 output).
pub(crate) fn mp4_temp_path(input: &Path, id: u64) -> PathBuf {
    let stem = input.file_stem().unwrap().to_string_lossy();
    input.with_file_name(format!(".{stem}.alchemist.mp4.alchemist-tmp-{id}"))
}

/// Pids of running `ffmpeg` processes with an argument containing `needle`.
pub(crate) fn ffmpeg_pids(needle: &Path) -> Vec<u32> {
    let needle = needle.as_os_str().as_bytes();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let mut args = cmdline.split(|b| *b == 0);
        let is_ffmpeg = args.next().is_some_and(|a0| {
            Path::new(OsStr::from_bytes(a0)).file_name() == Some("ffmpeg".as_ref())
        });
        if is_ffmpeg && args.any(|a| a.windows(needle.len()).any(|w| w == needle)) {
            pids.push(pid);
        }
    }
    pids
}

/// Fields of `/proc/<pid>/stat` after the command name: [0] is the state letter.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    Some(after.split(' ').map(str::to_string).collect())
}

/// The state letter of a process (`R`, `S`, `T` stopped, `Z` zombie...), `None` when gone.
pub(crate) fn proc_state(pid: u32) -> Option<char> {
    stat_fields(pid)?.first()?.chars().next()
}

/// The nice value of a process.
pub(crate) fn proc_nice(pid: u32) -> Option<i64> {
    stat_fields(pid)?.get(16)?.parse().ok()
}

/// Gone, or a zombie nobody reaped yet: either way it runs no more.
pub(crate) fn is_dead(pid: u32) -> bool {
    matches!(proc_state(pid), None | Some('Z' | 'X'))
}

pub(crate) async fn start_scan(server: &TestServer, token: &str) {
    let r = server
        .post_json("/api/library/scan", token, json!({}))
        .await;
    assert_eq!(r.status(), 202, "scan");
}

pub(crate) async fn details(server: &TestServer, token: &str, id: u64) -> Value {
    server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await
}

/// POST with an empty JSON body; returns status and JSON body.
pub(crate) async fn post(
    server: &TestServer,
    token: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let r = server.post_json(path, token, body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The id of the job whose input file is named `name`.
pub(crate) async fn job_id_by_name(server: &TestServer, token: &str, name: &str) -> u64 {
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
pub(crate) async fn enqueue(server: &TestServer, token: &str, path: &Path) -> u64 {
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

pub(crate) fn is_status(ev: &SseEvent, id: u64, status: &str) -> bool {
    ev.event == "status" && ev.data["job_id"] == id && ev.data["status"] == status
}

/// Read events until job `id` reaches `status`; returns everything read, that event last.
pub(crate) async fn events_until_status(
    sse: &mut SseReader,
    id: u64,
    status: &str,
    timeout: Duration,
) -> Vec<SseEvent> {
    let (hit, mut seen) = sse.until(timeout, |e| is_status(e, id, status)).await;
    seen.push(hit);
    seen
}

/// `(status, previous)` of every status event of job `id`, in order.
pub(crate) fn status_changes(events: &[SseEvent], id: u64) -> Vec<(String, Value)> {
    events
        .iter()
        .filter(|e| e.event == "status" && e.data["job_id"] == id)
        .map(|e| {
            assert!(
                e.data.as_object().unwrap().contains_key("previous"),
                "status events carry `previous`: {e:?}"
            );
            (
                e.data["status"].as_str().unwrap().to_string(),
                e.data["previous"].clone(),
            )
        })
        .collect()
}

fn today_utc() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

fn index_of(events: &[SseEvent], pred: impl Fn(&SseEvent) -> bool) -> usize {
    events
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("event not found in {events:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanned_h264_clip_is_transcoded_to_hevc_end_to_end() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let source = copy_into(&lib, h264_clip(), "clip.mp4".as_ref());
    let source_sha = sha256(&source);
    let source_size = std::fs::metadata(&source).unwrap().len();
    server.add_folder(&token, &lib).await;

    let mut sse = server.events(&token, None).await;
    start_scan(&server, &token).await;

    // Read until the job completed and the scan reported (in whichever order they come).
    let mut events = Vec::new();
    let mut job_id = None;
    loop {
        let done = job_id.is_some_and(|id| events.iter().any(|e| is_status(e, id, "completed")))
            && events
                .iter()
                .any(|e: &SseEvent| e.event == "scan_completed");
        if done {
            break;
        }
        let ev = sse
            .next(SHORT_JOB)
            .await
            .unwrap_or_else(|| panic!("stream stalled; seen: {events:#?}"));
        if ev.event == "status" && job_id.is_none() {
            job_id = ev.data["job_id"].as_u64();
        }
        events.push(ev);
    }
    let id = job_id.unwrap();

    // Event ids increase strictly.
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e.id.expect("every event has an id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    // scan_started comes first, then the job's status changes in order.
    assert_eq!(events[0].event, "scan_started", "{events:#?}");
    assert_eq!(events[0].data["folder_count"], 1);
    assert_eq!(
        status_changes(&events, id),
        vec![
            ("queued".to_string(), Value::Null),
            ("analyzing".to_string(), json!("queued")),
            ("encoding".to_string(), json!("analyzing")),
            ("completed".to_string(), json!("encoding")),
        ]
    );

    // The decision comes while analysing, with its stable code.
    let decision = index_of(&events, |e| e.event == "decision");
    let d = &events[decision].data;
    assert_eq!(d["job_id"], id);
    assert_eq!(d["action"], "transcode");
    assert_eq!(d["explanation"]["code"], "transcode_recommended");
    assert_eq!(d["explanation"]["measured"]["source_codec"], "h264");
    assert!(!d["explanation"]["summary"].as_str().unwrap().is_empty());
    assert!(index_of(&events, |e| is_status(e, id, "analyzing")) < decision);
    assert!(decision < index_of(&events, |e| is_status(e, id, "encoding")));

    // Progress events while encoding, with every field.
    let encoding_at = index_of(&events, |e| is_status(e, id, "encoding"));
    let completed_at = index_of(&events, |e| is_status(e, id, "completed"));
    let progress: Vec<&SseEvent> = events.iter().filter(|e| e.event == "progress").collect();
    assert!(
        !progress.is_empty(),
        "at least one progress event: {events:#?}"
    );
    for p in &progress {
        let pos = events.iter().position(|e| e.id == p.id).unwrap();
        assert!(
            encoding_at < pos && pos < completed_at,
            "progress while encoding"
        );
        let d = &p.data;
        assert_eq!(d["job_id"], id);
        let percent = d["percent"].as_f64().expect("percent");
        assert!((0.0..=100.0).contains(&percent), "{d}");
        assert!(d["fps"].as_f64().expect("fps") >= 0.0, "{d}");
        assert!(d["speed"].as_f64().expect("speed") >= 0.0, "{d}");
        let out_time = d["out_time_seconds"].as_f64().expect("out_time_seconds");
        assert!((0.0..=2.5).contains(&out_time), "{d}");
        assert!(
            d["eta_seconds"].is_null() || d["eta_seconds"].as_f64().unwrap() >= 0.0,
            "{d}"
        );
    }

    // scan_completed with its totals.
    let sc = &events[index_of(&events, |e| e.event == "scan_completed")].data;
    assert_eq!(
        (
            sc["found"].as_u64(),
            sc["queued"].as_u64(),
            sc["skipped"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{sc}"
    );
    assert!(sc["seconds"].as_f64().unwrap() >= 0.0);

    // On disk: an HEVC output beside the untouched source, and nothing else.
    let output = lib.join("clip.alchemist.mp4");
    assert_eq!(dir_names(&lib), vec!["clip.alchemist.mp4", "clip.mp4"]);
    assert!(temp_files(&lib).is_empty());
    assert_eq!(video_codec(&output), "hevc");
    assert_eq!(sha256(&source), source_sha, "the source is never written");
    let output_size = std::fs::metadata(&output).unwrap().len();
    assert!(
        output_size > 0 && output_size < source_size,
        "{output_size} vs {source_size}"
    );
    let output_mtime = std::fs::metadata(&output).unwrap().modified().unwrap();

    // Job details.
    let d = details(&server, &token, id).await;
    let job = &d["job"];
    assert_eq!(job["status"], "completed");
    assert_eq!(job["progress"], 100.0);
    assert_eq!(job["attempt_count"], 1);
    assert_eq!(job["input_path"], source.to_str().unwrap());
    assert_eq!(job["output_path"], output.to_str().unwrap());
    assert_eq!(job["input_size_bytes"], source_size);
    assert_eq!(job["output_size_bytes"], output_size);
    assert_eq!(job["decision"]["code"], "transcode_recommended");
    assert!(job["failure"].is_null());
    assert_eq!(d["metadata"]["video"]["codec"], "h264");
    assert_eq!(d["metadata"]["video"]["width"], 320);
    assert_eq!(d["metadata"]["video"]["height"], 240);
    assert_eq!(d["metadata"]["audio"][0]["codec"], "aac");
    assert!((d["metadata"]["duration"].as_f64().unwrap() - 2.0).abs() < 0.2);
    let stats = &d["encode_stats"];
    assert_eq!(stats["input_size_bytes"], source_size);
    assert_eq!(stats["output_size_bytes"], output_size);
    assert_eq!(stats["encoder"], "libx265");
    assert_eq!(stats["backend"], "cpu");
    assert!(stats["encode_time_seconds"].as_f64().unwrap() > 0.0);
    assert!(stats["encode_speed"].as_f64().unwrap() > 0.0);
    assert!(stats["avg_bitrate_kbps"].as_f64().unwrap() > 0.0);
    let expected_ratio = 1.0 - output_size as f64 / source_size as f64;
    assert!((stats["compression_ratio"].as_f64().unwrap() - expected_ratio).abs() < 1e-9);
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{d:#}");
    assert_eq!(attempts[0]["number"], 1);
    assert_eq!(attempts[0]["outcome"], "completed");
    assert_eq!(attempts[0]["encoder"], "libx265");
    assert!(attempts[0]["failure_code"].is_null());
    assert_eq!(attempts[0]["output_size_bytes"], output_size);
    let logs: Vec<&str> = d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert!(
        logs.iter().any(|l| l.starts_with("decision: transcode")),
        "{logs:#?}"
    );
    assert!(logs.iter().any(|l| l.starts_with("ffmpeg ")), "{logs:#?}");
    assert!(
        logs.iter().any(|l| l.starts_with("verified and saved")),
        "{logs:#?}"
    );
    assert!(d["queue_position"].is_null());

    // Statistics.
    let agg = server.get_json("/api/stats/aggregated", &token).await;
    assert_eq!(agg["total_input_bytes"], source_size);
    assert_eq!(agg["total_output_bytes"], output_size);
    assert_eq!(
        agg["total_savings_bytes"],
        source_size as i64 - output_size as i64
    );
    assert_eq!(agg["jobs"]["completed"], 1);
    assert_eq!(agg["jobs"]["queued"], 0);
    assert_eq!(agg["jobs"]["active"], 0);
    let daily = server.get_json("/api/stats/daily", &token).await;
    let daily = daily.as_array().unwrap();
    assert_eq!(daily.len(), 30);
    let today = daily.last().unwrap();
    assert_eq!(today["date"], today_utc());
    assert_eq!(today["jobs_completed"], 1);
    assert_eq!(today["jobs_failed"], 0);
    assert_eq!(
        today["bytes_saved"],
        source_size as i64 - output_size as i64
    );
    let savings = server.get_json("/api/stats/savings", &token).await;
    let by_codec = savings["by_codec"].as_array().unwrap();
    assert_eq!(by_codec.len(), 1, "{savings:#}");
    assert_eq!(by_codec[0]["codec"], "hevc");
    assert_eq!(by_codec[0]["jobs"], 1);
    assert_eq!(
        by_codec[0]["bytes_saved"],
        source_size as i64 - output_size as i64
    );
    assert_eq!(savings["largest"][0]["job_id"], id);

    // A second scan of the unchanged folder queues nothing and leaves the job alone.
    let before = details(&server, &token, id).await;
    start_scan(&server, &token).await;
    let (done, seen) = sse.until(PROMPT, |e| e.event == "scan_completed").await;
    assert_eq!(
        (
            done.data["found"].as_u64(),
            done.data["queued"].as_u64(),
            done.data["skipped"].as_u64()
        ),
        (Some(1), Some(0), Some(1)),
        "{}",
        done.data
    );
    assert!(
        seen.iter()
            .all(|e| e.event != "status" && e.event != "decision"),
        "nothing about the job happens on a rescan: {seen:#?}"
    );
    let after = details(&server, &token, id).await;
    assert_eq!(after["job"]["status"], "completed");
    assert_eq!(after["job"]["updated_at"], before["job"]["updated_at"]);
    assert_eq!(after["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(
        std::fs::metadata(&output).unwrap().modified().unwrap(),
        output_mtime,
        "the output is not rewritten"
    );
    let status = server.get_json("/api/engine/status", &token).await;
    assert_eq!(status["queued_jobs"], 0);
    assert_eq!(status["active_jobs"], 0);

    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hevc_source_is_skipped_and_nothing_is_written() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let source = copy_into(&lib, hevc_clip(), "already.mkv".as_ref());
    let source_sha = sha256(&source);
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    start_scan(&server, &token).await;

    let (queued, _) = sse.until(PROMPT, |e| e.event == "status").await;
    let id = queued.data["job_id"].as_u64().unwrap();
    let events = events_until_status(&mut sse, id, "skipped", SHORT_JOB).await;
    let decision = events
        .iter()
        .find(|e| e.event == "decision")
        .unwrap_or_else(|| panic!("decision event: {events:#?}"));
    assert_eq!(decision.data["job_id"], id);
    assert_eq!(decision.data["action"], "skip");
    assert_eq!(decision.data["explanation"]["code"], "already_target_codec");
    assert!(
        events.iter().all(|e| !is_status(e, id, "encoding")),
        "never encodes"
    );
    assert!(events.iter().all(|e| e.event != "progress"));
    let mut all = vec![queued];
    all.extend(events);
    assert_eq!(
        status_changes(&all, id),
        vec![
            ("queued".to_string(), Value::Null),
            ("analyzing".to_string(), json!("queued")),
            ("skipped".to_string(), json!("analyzing")),
        ]
    );

    let d = details(&server, &token, id).await;
    assert_eq!(d["job"]["status"], "skipped");
    assert_eq!(d["job"]["decision"]["code"], "already_target_codec");
    assert!(d["job"]["output_path"].is_null());
    assert!(d["job"]["output_size_bytes"].is_null());
    assert!(d["encode_stats"].is_null());
    assert_eq!(d["metadata"]["video"]["codec"], "hevc");
    assert_eq!(d["attempts"][0]["outcome"], "skipped");
    assert_eq!(
        dir_names(&lib),
        vec!["already.mkv"],
        "no output, no temp file"
    );
    assert_eq!(sha256(&source), source_sha);
    let agg = server.get_json("/api/stats/aggregated", &token).await;
    assert_eq!(agg["total_input_bytes"], 0);
    assert_eq!(agg["jobs"]["skipped"], 1);

    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_file_fails_once_and_directories_are_not_queued() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let text = lib.join("x.mkv");
    std::fs::write(&text, "this is a text file, not a Matroska file\n").unwrap();
    std::fs::create_dir(lib.join("x.mp4")).unwrap();
    std::fs::write(lib.join("x.mp4").join("notes.txt"), "not a video").unwrap();
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    start_scan(&server, &token).await;

    let (done, _) = sse.until(PROMPT, |e| e.event == "scan_completed").await;
    assert_eq!(done.data["found"], 1, "only the file counts: {}", done.data);
    assert_eq!(done.data["queued"], 1);
    let id = job_id_by_name(&server, &token, "x.mkv").await;
    let r = server
        .bearer(Method::GET, "/api/jobs?limit=200", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["x-total-count"],
        "1",
        "the directory is not a job"
    );

    events_until_status(&mut sse, id, "failed", SHORT_JOB).await;
    let d = details(&server, &token, id).await;
    let failure = &d["job"]["failure"];
    assert_eq!(failure["code"], "probe_failed", "{d:#}");
    assert!(
        failure["detail"].as_str().unwrap().contains("Invalid data"),
        "ffprobe's own words are kept: {failure:#}"
    );
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(d["attempts"][0]["outcome"], "failed");
    assert_eq!(d["attempts"][0]["failure_code"], "probe_failed");
    assert_eq!(d["job"]["attempt_count"], 1);
    assert!(
        d["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["level"] == "error" && l["message"].as_str().unwrap().starts_with("failed:")),
        "{d:#}"
    );

    // Not retried: a rescan finds it unchanged, and across a full dispatcher tick (2 s) with
    // a wake-up nothing about the job happens.
    start_scan(&server, &token).await;
    let (done, _) = sse.until(PROMPT, |e| e.event == "scan_completed").await;
    assert_eq!(
        (done.data["queued"].as_u64(), done.data["skipped"].as_u64()),
        (Some(0), Some(1))
    );
    let quiet_until = tokio::time::Instant::now() + Duration::from_millis(2500);
    loop {
        let left = quiet_until.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        if let Some(ev) = sse.next(left).await {
            assert!(
                ev.data["job_id"] != id,
                "the failed job was touched again: {ev:?}"
            );
        }
    }
    let d = details(&server, &token, id).await;
    assert_eq!(d["job"]["status"], "failed");
    assert_eq!(d["job"]["attempt_count"], 1);
    let status = server.get_json("/api/engine/status", &token).await;
    assert_eq!(
        (
            status["queued_jobs"].as_u64(),
            status["active_jobs"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let daily = server.get_json("/api/stats/daily", &token).await;
    assert_eq!(daily.as_array().unwrap().last().unwrap()["jobs_failed"], 1);
    assert_eq!(dir_names(&lib), vec!["x.mkv", "x.mp4"], "nothing written");

    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_event_id_replays_only_missed_events() {
    let server = TestServer::start().await;
    let token = server.login().await;

    let mut first = server.events(&token, None).await;
    let (paused, _) = post(&server, &token, "/api/engine/pause", json!({})).await;
    assert_eq!(paused, 200);
    let (seen, _) = first.until(PROMPT, |e| e.event == "engine").await;
    assert_eq!(seen.data["status"], "paused");
    let mark = seen.id.unwrap();
    drop(first);

    // Missed while disconnected.
    assert_eq!(
        post(&server, &token, "/api/engine/resume", json!({}))
            .await
            .0,
        200
    );
    let (code, _) = post(
        &server,
        &token,
        "/api/engine/mode",
        json!({"mode": "background"}),
    )
    .await;
    assert_eq!(code, 200);

    let mut again = server.events(&token, Some(mark)).await;
    let a = again.next(PROMPT).await.expect("replayed event");
    let b = again.next(PROMPT).await.expect("replayed event");
    assert_eq!(a.event, "engine");
    assert_eq!(
        a.id,
        Some(mark + 1),
        "replay starts right after Last-Event-ID"
    );
    assert_eq!(a.data["status"], "running");
    assert_eq!(b.event, "engine");
    assert_eq!(b.id, Some(mark + 2));
    assert_eq!(b.data["mode"], "background");
    // Then live events, without the replayed ones again.
    assert_eq!(
        post(&server, &token, "/api/engine/pause", json!({}))
            .await
            .0,
        200
    );
    let c = again.next(PROMPT).await.expect("live event");
    assert_eq!(c.id, Some(mark + 3));
    assert_eq!(c.data["status"], "paused");
    drop(again);

    // Resuming from the newest id replays nothing.
    let mut latest = server.events(&token, Some(mark + 3)).await;
    assert_eq!(
        post(&server, &token, "/api/engine/resume", json!({}))
            .await
            .0,
        200
    );
    let d = latest.next(PROMPT).await.expect("live event");
    assert_eq!(d.id, Some(mark + 4));
    assert_eq!(d.data["status"], "running");
    drop(latest);

    server.stop().await;
}
