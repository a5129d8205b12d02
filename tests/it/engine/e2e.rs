//! The engine end to end through the HTTP API with real ffmpeg: a scan queues a 2-second H.264
//! clip, the SSE stream shows every step (scan, decision, status changes, progress), and the
//! result is checked on disk (HEVC output, untouched source, no temp files), in the job details
//! and in the statistics. Also: unchanged rescans, already-HEVC sources, files ffprobe cannot
//! read, directories with video names and `Last-Event-ID` replay.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::post;
use crate::support::clips::{copy_into, h264_clip, hevc_clip};
use crate::support::files::{dir_names, library, sha256, temp_files, video_codec};
use crate::support::jobs::{details, job_id_by_name, start_scan};
use crate::support::sse::{SseEvent, events_until_status, is_about, is_status, status_changes};
use crate::support::wait::DISPATCH_TICK;
use crate::support::{PROMPT, SHORT_JOB, TestServer, wait_until};

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
    // The run frees its slot just after it records the end.
    wait_until(PROMPT, "the run's slot to be free", async || {
        server.get_json("/api/engine/status", &token).await["active_jobs"] == 0
    })
    .await;

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
    // ffprobe's own words are kept, in `measured`, out of the sentence a person reads.
    assert!(
        failure["measured"]["stderr_tail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("Invalid data")),
        "ffprobe's own words are kept: {failure:#}"
    );
    assert!(
        !failure["detail"].as_str().unwrap().contains("0x"),
        "no memory addresses in the sentence: {failure:#}"
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
    sse.assert_quiet(DISPATCH_TICK, "the failed job was touched again", |ev| {
        is_about(ev, id)
    })
    .await;
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
