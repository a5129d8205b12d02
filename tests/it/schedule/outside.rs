//! A window closing during a real encode, once per `outside_window` choice, and the owner's
//! pause and resume winning over the schedule. Each test closes the window by saving a
//! schedule whose window is hours away and opens it again by saving one around now.

use serde_json::json;

use super::{closed, engine_status, one_at_a_time, open, put_schedule, scheduler};
use crate::support::api::post;
use crate::support::clips::{copy_into, h264_clip};
use crate::support::files::{temp_files, video_codec};
use crate::support::jobs::{details, enqueue, scan_long_clip};
use crate::support::procs::{is_running, is_stopped, proc_state};
use crate::support::sse::events_until_status;
use crate::support::{LONG_JOB, PROMPT, SHORT_JOB, TestServer, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_lets_the_running_job_complete_and_starts_nothing_new() {
    let server = TestServer::start().await;
    let token = server.login().await;
    one_at_a_time(&server, &token).await;
    let mut sse = server.events(&token, None).await;
    let job = scan_long_clip(&server, &token, &mut sse).await;
    let lib = job.source.parent().unwrap().to_path_buf();
    let waiting = enqueue(
        &server,
        &token,
        &copy_into(&lib, h264_clip(), "next.mp4".as_ref()),
    )
    .await;
    assert_eq!(
        details(&server, &token, waiting).await["job"]["status"],
        "queued"
    );

    put_schedule(&server, &token, closed("finish")).await;
    wait_until(PROMPT, "the engine to drain for the schedule", async || {
        let s = engine_status(&server, &token).await;
        (s["status"] != "running")
            .then_some(())
            .ok_or(s.to_string())
    })
    .await;
    assert!(is_running(job.pid), "finish does not stop ffmpeg");
    events_until_status(&mut sse, job.id, "completed", LONG_JOB).await;
    let status = wait_until(PROMPT, "the drain to end in a pause", async || {
        let s = engine_status(&server, &token).await;
        (s["status"] == "paused")
            .then(|| s.clone())
            .ok_or(s.to_string())
    })
    .await;
    assert_eq!(status["schedule"]["in_window"], false, "{status}");
    assert!(
        status["paused_reason"]
            .as_str()
            .unwrap()
            .contains("schedule"),
        "{status}"
    );
    let d = details(&server, &token, waiting).await;
    assert_eq!(d["job"]["status"], "queued", "nothing new started: {d:#}");
    assert!(d["attempts"].as_array().unwrap().is_empty(), "{d:#}");

    // The next window starts the waiting job.
    put_schedule(&server, &token, open("finish")).await;
    events_until_status(&mut sse, waiting, "completed", SHORT_JOB).await;
    assert_eq!(engine_status(&server, &token).await["status"], "running");
    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_stops_ffmpeg_until_the_next_window() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let mut sse = server.events(&token, None).await;
    let job = scan_long_clip(&server, &token, &mut sse).await;

    put_schedule(&server, &token, closed("suspend")).await;
    wait_until(PROMPT, "ffmpeg to be stopped (state T)", async || {
        is_stopped(job.pid)
    })
    .await;
    let status = engine_status(&server, &token).await;
    assert_eq!(status["status"], "paused", "{status}");
    assert_eq!(status["schedule"]["in_window"], false, "{status}");
    assert_eq!(
        details(&server, &token, job.id).await["job"]["status"],
        "encoding"
    );

    put_schedule(&server, &token, open("suspend")).await;
    wait_until(PROMPT, "ffmpeg to run again", async || is_running(job.pid)).await;
    events_until_status(&mut sse, job.id, "completed", LONG_JOB).await;
    let d = details(&server, &token, job.id).await;
    let outcomes: Vec<_> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        vec![json!("completed")],
        "one attempt, never stopped"
    );
    assert_eq!(
        video_codec(&job.source.with_file_name("long.alchemist.mp4")),
        "hevc"
    );
    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requeue_stops_the_job_and_queues_it_without_a_failed_attempt() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let mut sse = server.events(&token, None).await;
    let job = scan_long_clip(&server, &token, &mut sse).await;
    let lib = job.source.parent().unwrap().to_path_buf();

    put_schedule(&server, &token, closed("requeue")).await;
    events_until_status(&mut sse, job.id, "queued", PROMPT).await;
    wait_until(PROMPT, "ffmpeg to be gone", async || {
        proc_state(job.pid).is_none()
    })
    .await;
    assert!(temp_files(&lib).is_empty(), "the partial output is removed");
    let d = details(&server, &token, job.id).await;
    assert_eq!(d["job"]["status"], "queued", "{d:#}");
    assert!(d["job"]["failure"].is_null(), "{d:#}");
    assert!(d["job"]["retry_at"].is_null(), "{d:#}");
    assert_eq!(d["attempts"][0]["outcome"], "interrupted", "{d:#}");
    let status = engine_status(&server, &token).await;
    assert_eq!(status["status"], "paused", "{status}");
    // The run frees its slot just after it records the end (the `queued` event above).
    wait_until(PROMPT, "the run's slot to be free", async || {
        engine_status(&server, &token).await["active_jobs"] == 0
    })
    .await;

    put_schedule(&server, &token, open("requeue")).await;
    events_until_status(&mut sse, job.id, "completed", LONG_JOB).await;
    let d = details(&server, &token, job.id).await;
    let outcomes: Vec<_> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].clone())
        .collect();
    assert_eq!(
        outcomes,
        vec![json!("interrupted"), json!("completed")],
        "{d:#}"
    );
    drop(sse);
    server.stop().await;
}

/// The schedule acts only at its edges: an owner's pause survives a window opening, and an
/// owner's resume outside a window is not undone when the scheduler runs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owners_pause_and_resume_win_over_the_schedule() {
    let server = TestServer::start().await;
    let token = server.login().await;

    // Paused by the owner inside a window: saving (and so applying) the schedule again keeps
    // the owner's pause.
    put_schedule(&server, &token, open("suspend")).await;
    assert_eq!(
        post(&server, &token, "/api/engine/pause", json!({}))
            .await
            .0,
        200
    );
    put_schedule(&server, &token, open("suspend")).await;
    wait_until(
        PROMPT,
        "the scheduler to apply the second save",
        async || {
            let (_, line) = scheduler(&server, &token).await;
            line.ends_with("(schedule rev. 2)")
                .then_some(())
                .ok_or(line)
        },
    )
    .await;
    let status = engine_status(&server, &token).await;
    assert_eq!(status["status"], "paused", "{status}");
    assert_eq!(status["paused_reason"], "paused by the user", "{status}");
    assert_eq!(
        post(&server, &token, "/api/engine/resume", json!({}))
            .await
            .0,
        200
    );

    // Held by the schedule, resumed by the owner: the encode runs on to the end although the
    // window is closed, and the scheduler, woken by the resume, leaves it running.
    let mut sse = server.events(&token, None).await;
    let job = scan_long_clip(&server, &token, &mut sse).await;
    put_schedule(&server, &token, closed("suspend")).await;
    wait_until(PROMPT, "ffmpeg to be stopped (state T)", async || {
        is_stopped(job.pid)
    })
    .await;
    let (steps, _) = scheduler(&server, &token).await;
    let (code, body) = post(&server, &token, "/api/engine/resume", json!({})).await;
    assert_eq!((code, &body["status"]), (200, &json!("running")), "{body}");
    wait_until(PROMPT, "the scheduler to see the resume", async || {
        scheduler(&server, &token).await.0 > steps
    })
    .await;
    let status = engine_status(&server, &token).await;
    if status["status"] != "running" || !is_running(job.pid) {
        // A stopped ffmpeg would keep the failing test from ending: kill it first.
        let state = proc_state(job.pid);
        let _ = std::process::Command::new("kill")
            .args(["-9", &job.pid.to_string()])
            .status();
        panic!("the schedule undid the owner's resume: {status}, ffmpeg state {state:?}");
    }
    assert_eq!(status["schedule"]["in_window"], false, "{status}");
    events_until_status(&mut sse, job.id, "completed", LONG_JOB).await;
    assert_eq!(engine_status(&server, &token).await["status"], "running");
    drop(sse);
    server.stop().await;
}
