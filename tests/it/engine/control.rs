//! Engine control through the HTTP API with real ffmpeg: pause really stops the encoder
//! process (SIGSTOP, seen in /proc) and resume continues it; cancel kills ffmpeg and removes
//! the partial output; active jobs refuse restart and atomic batches; dispatch follows
//! priority then age; drain lets the active job finish and then pauses; modes, overrides and
//! their validation; the engine state survives a restart.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::post;
use crate::support::clips::{copy_into, h264_clip, long_h264_clip};
use crate::support::files::{dir_names, library, sha256, temp_files, video_codec};
use crate::support::jobs::{
    details, enqueue, in_flight, job_id_by_name, scan_long_clip, start_scan,
};
use crate::support::procs::{is_running, is_stopped, proc_nice, proc_state};
use crate::support::sse::{SseReader, events_until_status, is_about, is_status, status_changes};
use crate::support::wait::DISPATCH_TICK;
use crate::support::{LONG_JOB, PROMPT, SHORT_JOB, TestServer, wait_until};

async fn engine_status(server: &TestServer, token: &str) -> Value {
    server.get_json("/api/engine/status", token).await
}

/// Read events for `window`; return the progress events of job `id` among them.
async fn progress_during(sse: &mut SseReader, id: u64, window: Duration) -> Vec<f64> {
    sse.during(window)
        .await
        .into_iter()
        .filter(|e| e.event == "progress" && e.data["job_id"] == id)
        .map(|e| e.data["percent"].as_f64().unwrap())
        .collect()
}

fn assert_problem(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{body:#}");
    assert_eq!(body["code"], code, "{body:#}");
    assert_eq!(body["status"], expected_status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_ffmpeg_and_resume_continues_it() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let mut sse = server.events(&token, None).await;
    let job = scan_long_clip(&server, &token, &mut sse).await;
    let source_sha = sha256(&job.source);
    assert_ne!(proc_state(job.pid), Some('T'));

    let (code, body) = post(&server, &token, "/api/engine/pause", json!({})).await;
    assert_eq!(code, 200);
    assert_eq!(body["status"], "paused");
    assert_eq!(body["active_jobs"], 1);
    assert!(body["paused_reason"].is_string(), "{body}");
    wait_until(PROMPT, "ffmpeg to be stopped (state T)", async || {
        is_stopped(job.pid)
    })
    .await;

    // Whatever ffmpeg wrote before it stopped is parsed within moments; after that there is
    // no progress at all while paused.
    wait_until(
        Duration::from_secs(15),
        "a second without progress events",
        async || {
            progress_during(&mut sse, job.id, Duration::from_secs(1))
                .await
                .is_empty()
        },
    )
    .await;
    let before = details(&server, &token, job.id).await["job"]["progress"]
        .as_f64()
        .unwrap();
    let size_before = std::fs::metadata(&job.temp).unwrap().len();
    let during = progress_during(&mut sse, job.id, Duration::from_millis(1500)).await;
    assert!(during.is_empty(), "progress while paused: {during:?}");
    let d = details(&server, &token, job.id).await;
    assert_eq!(d["job"]["status"], "encoding");
    assert_eq!(d["job"]["progress"].as_f64().unwrap(), before);
    assert!(before < 100.0);
    assert_eq!(std::fs::metadata(&job.temp).unwrap().len(), size_before);
    assert_eq!(proc_state(job.pid), Some('T'));
    let status = engine_status(&server, &token).await;
    assert_eq!(status["status"], "paused");
    assert_eq!(status["active_jobs"], 1);

    let (code, body) = post(&server, &token, "/api/engine/resume", json!({})).await;
    assert_eq!(code, 200);
    assert_eq!(body["status"], "running");
    assert!(body["paused_reason"].is_null());
    wait_until(PROMPT, "ffmpeg to run again", async || is_running(job.pid)).await;
    let (next, _) = sse
        .until(LONG_JOB, |e| {
            e.event == "progress"
                && e.data["job_id"] == job.id
                && e.data["percent"].as_f64().unwrap() > before
        })
        .await;
    assert!(next.data["percent"].as_f64().unwrap() > before);
    events_until_status(&mut sse, job.id, "completed", LONG_JOB).await;

    let output = job.source.with_file_name("long.alchemist.mp4");
    assert_eq!(video_codec(&output), "hevc");
    assert_eq!(sha256(&job.source), source_sha);
    assert!(temp_files(job.source.parent().unwrap()).is_empty());
    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_kills_ffmpeg_and_removes_the_partial_output() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let mut sse = server.events(&token, None).await;
    let job = scan_long_clip(&server, &token, &mut sse).await;
    let lib = job.source.parent().unwrap().to_path_buf();
    let source_sha = sha256(&job.source);
    assert!(job.temp.exists());

    let (code, body) = post(
        &server,
        &token,
        &format!("/api/jobs/{}/cancel", job.id),
        json!({}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(body, json!({"ok": true}));
    let events = events_until_status(&mut sse, job.id, "cancelled", PROMPT).await;
    assert_eq!(
        status_changes(&events, job.id).last().unwrap().1,
        "encoding",
        "cancelled from encoding"
    );
    wait_until(PROMPT, "ffmpeg to be gone", async || {
        proc_state(job.pid).is_none()
    })
    .await;
    assert!(!job.temp.exists(), "the partial output is removed");
    assert_eq!(dir_names(&lib), vec!["long.mp4"], "no output, no temp file");
    assert_eq!(sha256(&job.source), source_sha);

    let d = details(&server, &token, job.id).await;
    assert_eq!(d["job"]["status"], "cancelled");
    assert!(d["job"]["output_size_bytes"].is_null());
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(d["attempts"][0]["outcome"], "cancelled");
    // The run frees its slot just after it records the end.
    wait_until(PROMPT, "the run's slot to be free", async || {
        engine_status(&server, &token).await["active_jobs"] == 0
    })
    .await;

    // Cancelling a finished job is a no-op.
    let (code, body) = post(
        &server,
        &token,
        &format!("/api/jobs/{}/cancel", job.id),
        json!({}),
    )
    .await;
    assert_eq!((code, body), (200, json!({"ok": true})));
    let again = details(&server, &token, job.id).await;
    assert_eq!(again["job"]["status"], "cancelled");
    assert_eq!(again["job"]["updated_at"], d["job"]["updated_at"]);
    let (code, body) = post(&server, &token, "/api/jobs/999999/cancel", json!({})).await;
    assert_problem(code, &body, 404, "JOB_NOT_FOUND");
    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_of_a_queued_job_is_immediate() {
    let server = TestServer::start().await;
    let token = server.login().await;
    assert_eq!(
        post(&server, &token, "/api/engine/pause", json!({}))
            .await
            .0,
        200
    );
    let lib = library(server.tmp.path());
    copy_into(&lib, h264_clip(), "q.mp4".as_ref());
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    start_scan(&server, &token).await;
    sse.until(PROMPT, |e| e.event == "scan_completed").await;
    let id = job_id_by_name(&server, &token, "q.mp4").await;
    let d = details(&server, &token, id).await;
    assert_eq!(d["job"]["status"], "queued");
    assert_eq!(d["queue_position"], 1);

    let (code, body) = post(
        &server,
        &token,
        &format!("/api/jobs/{id}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!((code, body), (200, json!({"ok": true})));
    let d = details(&server, &token, id).await;
    assert_eq!(d["job"]["status"], "cancelled", "no waiting for a worker");
    assert!(d["queue_position"].is_null());
    assert!(d["attempts"].as_array().unwrap().is_empty(), "it never ran");
    let events = events_until_status(&mut sse, id, "cancelled", PROMPT).await;
    assert_eq!(status_changes(&events, id).last().unwrap().1, "queued");

    // Resuming does not run it.
    let (code, body) = post(&server, &token, "/api/engine/resume", json!({})).await;
    assert_eq!(code, 200);
    assert_eq!(body["queued_jobs"], 0);
    let d2 = details(&server, &token, id).await;
    assert_eq!(d2["job"]["status"], "cancelled");
    assert_eq!(d2["job"]["attempt_count"], 0);
    let (code, _) = post(
        &server,
        &token,
        &format!("/api/jobs/{id}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        details(&server, &token, id).await["job"]["updated_at"],
        d["job"]["updated_at"]
    );
    assert_eq!(dir_names(&lib), vec!["q.mp4"]);
    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_jobs_refuse_restart_and_atomic_batches() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;

    // One finished job...
    copy_into(&lib, h264_clip(), "done.mp4".as_ref());
    let done = enqueue(&server, &token, &lib.join("done.mp4")).await;
    events_until_status(&mut sse, done, "completed", SHORT_JOB).await;
    let done_before = details(&server, &token, done).await["job"].clone();
    // ...and one encoding.
    let source = copy_into(&lib, long_h264_clip(), "long.mp4".as_ref());
    let long = enqueue(&server, &token, &source).await;
    let job = in_flight(&mut sse, long, &source).await;

    let r = server
        .bearer(Method::POST, &format!("/api/jobs/{long}/restart"), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let (code, body) = (r.status().as_u16(), r.json::<Value>().await.unwrap());
    assert_problem(code, &body, 409, "JOB_ACTIVE");

    for action in ["restart", "delete"] {
        let (code, body) = post(
            &server,
            &token,
            "/api/jobs/batch",
            json!({"action": action, "ids": [done, long]}),
        )
        .await;
        assert_problem(code, &body, 409, "JOB_ACTIVE");
        assert_eq!(
            body["blocked"],
            json!([{"id": long, "status": "encoding"}]),
            "{action}: {body:#}"
        );
        let now = details(&server, &token, done).await["job"].clone();
        assert_eq!(now, done_before, "{action} changed nothing");
    }
    let d = details(&server, &token, long).await;
    assert_eq!(d["job"]["status"], "encoding");
    assert_eq!(d["job"]["archived"], false);
    assert!(proc_state(job.pid).is_some(), "the encode goes on");

    // Cancel through a batch (the finished job is left out), then both can be archived.
    let (code, body) = post(
        &server,
        &token,
        "/api/jobs/batch",
        json!({"action": "cancel", "ids": [done, long]}),
    )
    .await;
    assert_eq!((code, body), (200, json!({"count": 1})));
    events_until_status(&mut sse, long, "cancelled", PROMPT).await;
    let (code, body) = post(
        &server,
        &token,
        "/api/jobs/batch",
        json!({"action": "delete", "ids": [done, long]}),
    )
    .await;
    assert_eq!((code, body), (200, json!({"count": 2})));
    let r = server
        .bearer(Method::GET, "/api/jobs", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-total-count"], "0");
    let r = server
        .bearer(Method::GET, "/api/jobs?archived=true", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-total-count"], "2");
    assert_eq!(
        dir_names(&lib),
        vec!["done.alchemist.mp4", "done.mp4", "long.mp4"],
        "archiving never removes media"
    );
    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_start_in_priority_then_age_order() {
    let server = TestServer::start().await;
    let token = server.login().await;
    assert_eq!(
        post(&server, &token, "/api/engine/pause", json!({}))
            .await
            .0,
        200
    );
    let lib = library(server.tmp.path());
    server.add_folder(&token, &lib).await;
    let mut ids = Vec::new();
    for name in ["a.mp4", "b.mp4", "c.mp4"] {
        let path = copy_into(&lib, h264_clip(), name.as_ref());
        ids.push(enqueue(&server, &token, &path).await);
    }
    let [a, b, c] = ids[..] else { unreachable!() };
    let (code, body) = post(
        &server,
        &token,
        &format!("/api/jobs/{c}/priority"),
        json!({"priority": 10}),
    )
    .await;
    assert_eq!((code, body), (200, json!({"id": c, "priority": 10})));
    for (id, position) in [(c, 1), (a, 2), (b, 3)] {
        assert_eq!(
            details(&server, &token, id).await["queue_position"],
            position
        );
    }

    let mut sse = server.events(&token, None).await;
    let (code, body) = post(
        &server,
        &token,
        "/api/engine/mode",
        json!({"mode": "background"}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(body["concurrent_limit"], 1);
    assert_eq!(
        post(&server, &token, "/api/engine/resume", json!({}))
            .await
            .0,
        200
    );
    let mut events = Vec::new();
    for id in [c, a, b] {
        events.extend(events_until_status(&mut sse, id, "completed", SHORT_JOB).await);
    }
    let started: Vec<u64> = events
        .iter()
        .filter(|e| e.event == "status" && e.data["status"] == "analyzing")
        .map(|e| e.data["job_id"].as_u64().unwrap())
        .collect();
    assert_eq!(started, vec![c, a, b], "priority first, then the oldest");
    // One at a time: each job starts only after the previous one completed.
    let pos = |id: u64, status: &str| {
        events
            .iter()
            .position(|e| is_status(e, id, status))
            .unwrap()
    };
    assert!(pos(c, "completed") < pos(a, "analyzing"));
    assert!(pos(a, "completed") < pos(b, "analyzing"));
    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_finishes_the_active_job_then_pauses() {
    let server = TestServer::start().await;
    let token = server.login().await;
    assert_eq!(
        post(&server, &token, "/api/engine/pause", json!({}))
            .await
            .0,
        200
    );
    let (code, body) = post(
        &server,
        &token,
        "/api/engine/mode",
        json!({"mode": "background", "threads_override": 1}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let lib = library(server.tmp.path());
    server.add_folder(&token, &lib).await;
    let long_src = copy_into(&lib, long_h264_clip(), "long.mp4".as_ref());
    let long = enqueue(&server, &token, &long_src).await;
    let short = enqueue(
        &server,
        &token,
        &copy_into(&lib, h264_clip(), "short.mp4".as_ref()),
    )
    .await;
    let mut sse = server.events(&token, None).await;
    assert_eq!(
        post(&server, &token, "/api/engine/resume", json!({}))
            .await
            .0,
        200
    );
    let job = in_flight(&mut sse, long, &long_src).await;

    // Background mode: the lowest CPU priority, and the thread override reaches ffmpeg.
    assert_eq!(proc_nice(job.pid), Some(19));
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", job.pid)).unwrap();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    assert!(
        args.windows(2)
            .any(|w| w == [b"-threads".as_slice(), b"1".as_slice()])
    );

    let (code, body) = post(&server, &token, "/api/engine/drain", json!({})).await;
    assert_eq!(code, 200);
    assert_eq!(body["status"], "draining");
    assert_eq!(body["active_jobs"], 1);
    assert!(body["paused_reason"].is_string());
    assert_eq!(engine_status(&server, &token).await["status"], "draining");
    assert_ne!(
        proc_state(job.pid),
        Some('T'),
        "draining does not stop the encode"
    );

    // Paused meanwhile, a drain lets the suspended encode finish too.
    let (code, body) = post(&server, &token, "/api/engine/pause", json!({})).await;
    assert_eq!((code, &body["status"]), (200, &json!("paused")));
    wait_until(PROMPT, "ffmpeg to be stopped", async || is_stopped(job.pid)).await;
    let (code, body) = post(&server, &token, "/api/engine/drain", json!({})).await;
    assert_eq!(code, 200);
    assert_eq!(body["status"], "draining");
    wait_until(PROMPT, "ffmpeg to run again", async || is_running(job.pid)).await;

    let events = events_until_status(&mut sse, long, "completed", LONG_JOB).await;
    assert!(
        events.iter().all(|e| e.data["job_id"] != short),
        "nothing new starts while draining: {events:#?}"
    );
    let (paused, between) = sse
        .until(PROMPT, |e| {
            e.event == "engine" && e.data["status"] == "paused"
        })
        .await;
    assert!(between.iter().all(|e| e.data["job_id"] != short));
    assert_eq!(paused.data["active_jobs"], 0);
    assert_eq!(paused.data["queued_jobs"], 1);
    let status = engine_status(&server, &token).await;
    assert_eq!(status["status"], "paused");
    assert!(status["paused_reason"].is_string());
    assert_eq!(video_codec(&lib.join("long.alchemist.mp4")), "hevc");

    // The queued job stays queued across a dispatcher tick.
    sse.assert_quiet(DISPATCH_TICK, "the queued job was touched", |e| {
        is_about(e, short)
    })
    .await;
    let d = details(&server, &token, short).await;
    assert_eq!(d["job"]["status"], "queued");
    assert_eq!(d["job"]["attempt_count"], 0);
    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modes_overrides_and_their_persistence() {
    let cores = std::thread::available_parallelism().unwrap().get() as u64;
    let half = (cores / 2).max(1);
    let server = TestServer::start().await;
    let token = server.login().await;

    let s = engine_status(&server, &token).await;
    assert_eq!(s["status"], "running");
    assert_eq!(s["mode"], "balanced");
    assert_eq!(s["concurrent_limit"], half.clamp(1, 4));
    assert_eq!(s["threads"], 0);
    assert_eq!(s["is_manual_override"], false);
    assert!(s["paused_reason"].is_null());

    let mut sse = server.events(&token, None).await;
    // No hardware encoder sessions on a CPU-only machine: throughput is half the cores.
    for (mode, limit) in [
        ("background", 1),
        ("throughput", half),
        ("balanced", half.clamp(1, 4)),
    ] {
        let (code, body) = post(&server, &token, "/api/engine/mode", json!({"mode": mode})).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["mode"], mode);
        assert_eq!(body["concurrent_limit"], limit, "{mode} on {cores} cores");
        assert_eq!(body["is_manual_override"], false);
        assert_eq!(
            body,
            engine_status(&server, &token).await,
            "the response is the new status"
        );
        let (event, _) = sse.until(PROMPT, |e| e.event == "engine").await;
        assert_eq!(event.data, body, "an engine event after every change");
    }

    let (code, body) = post(
        &server,
        &token,
        "/api/engine/mode",
        json!({"mode": "background", "concurrent_jobs_override": 3, "threads_override": 2}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        body["concurrent_limit"], 3,
        "the override wins over the mode"
    );
    assert_eq!(body["threads"], 2);
    assert_eq!(body["is_manual_override"], true);

    // Negative overrides and unknown modes are 400 problems.
    for (bad, expected) in [
        (
            json!({"mode": "balanced", "concurrent_jobs_override": -1}),
            400,
        ),
        (json!({"mode": "balanced", "threads_override": -4}), 400),
        (json!({"mode": "turbo"}), 400),
    ] {
        let (code, problem) = post(&server, &token, "/api/engine/mode", bad.clone()).await;
        assert_problem(code, &problem, expected, "VALIDATION_FAILED");
        assert_eq!(
            engine_status(&server, &token).await,
            body,
            "{bad} changed nothing"
        );
    }

    // 0 means "no override".
    let (code, body) = post(
        &server,
        &token,
        "/api/engine/mode",
        json!({"mode": "throughput", "concurrent_jobs_override": 0, "threads_override": 0}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(body["concurrent_limit"], half);
    assert_eq!(body["threads"], 0);
    assert_eq!(body["is_manual_override"], false);

    // Paused, throughput with overrides: all of it survives a restart.
    let (code, _) = post(
        &server,
        &token,
        "/api/engine/mode",
        json!({"mode": "throughput", "concurrent_jobs_override": 2, "threads_override": 3}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        post(&server, &token, "/api/engine/pause", json!({}))
            .await
            .0,
        200
    );
    drop(sse);
    let (tmp, data_dir) = server.stop().await;
    let server = TestServer::start_in(tmp, data_dir, |_| {}).await;
    let token = server.login().await;
    let s = engine_status(&server, &token).await;
    assert_eq!(s["status"], "paused");
    assert!(s["paused_reason"].is_string(), "{s}");
    assert_eq!(s["mode"], "throughput");
    assert_eq!(s["concurrent_limit"], 2);
    assert_eq!(s["threads"], 3);
    assert_eq!(s["is_manual_override"], true);
    server.stop().await;
}
