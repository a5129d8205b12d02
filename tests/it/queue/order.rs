//! Dispatch follows the queue order: with the engine paused, files of three sizes are queued
//! in an order that is none of the orders' own, the order is set, and with one slot the jobs
//! start (their `analyzing` events) smallest first, or largest saving first, once the analyser
//! has probed all three. Also the setting's default, round trip, refusals and that it
//! survives a restart.

use reqwest::Method;
use serde_json::json;

use super::{engine, mpeg4_seconds, one_slot, put_order, size};
use crate::support::api::{problem, send};
use crate::support::clips::copy_into;
use crate::support::files::library;
use crate::support::jobs::enqueue;
use crate::support::{PROMPT, SHORT_JOB, TestServer, wait_until};

/// Queue 2 s, 4 s and 1 s clips (in that order) while paused, set `order`, resume with one
/// slot; returns the input sizes in the order the jobs started.
async fn start_order(order: &str) -> Vec<u64> {
    let server = TestServer::start().await;
    let token = server.login().await;
    // The mode change comes first: an override counts as the owner's word and resumes.
    one_slot(&server, &token).await;
    engine(&server, &token, "pause").await;
    let lib = library(server.tmp.path());
    server.add_folder(&token, &lib).await;
    let mut jobs = Vec::new();
    for (seconds, name) in [(2, "middle.mkv"), (4, "large.mkv"), (1, "small.mkv")] {
        let path = copy_into(&lib, &mpeg4_seconds(seconds), name.as_ref());
        jobs.push((enqueue(&server, &token, &path).await, size(&path)));
    }
    assert_eq!(
        put_order(&server, &token, order).await,
        json!({"order": order})
    );
    // The analyser probes them while paused; the order compares predictions with predictions
    // (a file not probed yet counts at a stated fraction of its size, so a mix of probed and
    // unprobed files is an estimate, not the order under test).
    wait_until(PROMPT, "the queued clips to be probed", async || {
        let e = server.get_json("/api/stats/queue-eta", &token).await;
        e["queued"] == 3 && !e["basis_detail"].as_str().unwrap().contains("not probed")
    })
    .await;
    let mut sse = server.events(&token, None).await;
    engine(&server, &token, "resume").await;
    // Until all three completed, in whatever order they run.
    let mut events = Vec::new();
    let mut completed = 0;
    while completed < jobs.len() {
        let (hit, seen) = sse
            .until(SHORT_JOB, |e| {
                e.event == "status" && e.data["status"] == "completed"
            })
            .await;
        events.extend(seen);
        events.push(hit);
        completed += 1;
    }
    let started: Vec<u64> = events
        .iter()
        .filter(|e| e.event == "status" && e.data["status"] == "analyzing")
        .map(|e| e.data["job_id"].as_u64().unwrap())
        .map(|id| jobs.iter().find(|(j, _)| *j == id).unwrap().1)
        .collect();
    drop(sse);
    server.stop().await;
    started
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smallest_first_starts_the_smallest_file_first() {
    let started = start_order("smallest_first").await;
    let mut sorted = started.clone();
    sorted.sort();
    assert_eq!(started.len(), 3);
    assert_eq!(started, sorted, "smallest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn largest_saving_first_starts_the_biggest_saving_first() {
    // The clips differ only in length: the longest saves the most, predicted or not.
    let started = start_order("largest_saving_first").await;
    let mut sorted = started.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(started.len(), 3);
    assert_eq!(started, sorted, "largest saving first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_setting_round_trip_refusals_and_restart() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let default = server.get_json("/api/settings/queue", &token).await;
    assert_eq!(default, json!({"order": "oldest_first"}));
    for order in ["largest_saving_first", "oldest_first", "smallest_first"] {
        assert_eq!(put_order(&server, &token, order).await["order"], order);
        let read = server.get_json("/api/v1/settings/queue", &token).await;
        assert_eq!(read["order"], order);
    }
    for body in [
        json!({"order": "random"}),
        json!({}),
        json!({"order": "smallest_first", "extra": 1}),
    ] {
        let r = send(&server, &token, Method::PUT, "/api/settings/queue", body).await;
        problem(r, 400, "VALIDATION_FAILED").await;
    }
    let (tmp, data) = server.stop().await;
    let server = TestServer::start_in(tmp, data, |_| {}).await;
    let token = server.login().await;
    let read = server.get_json("/api/settings/queue", &token).await;
    assert_eq!(read, json!({"order": "smallest_first"}));
    server.stop().await;
}
