//! Watch folders with real inotify (and a forced poll): files are queued once settled, renames
//! move jobs, deletions retire queued ones, and our own files never queue. The servers here turn
//! `[watch]` on (the shared test server has it off) with a short settle time.

mod intake;
mod paths;
mod settings;

use std::path::Path;
use std::time::Duration;

use alchemist::config::Config;
use serde_json::Value;

use crate::support::{PROMPT, TestServer, wait_until};

/// Settle time of these tests: long enough to show a file is held while it changes.
const SETTLE: u64 = 2;

/// A server that watches its folders, settling files after [`SETTLE`] seconds.
async fn watching(edit: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start_with(|c| {
        c.watch.enabled = true;
        c.watch.settle = Duration::from_secs(SETTLE);
        edit(c);
    })
    .await
}

/// Folder `id` as `GET /api/library/folders` shows it.
async fn folder(server: &TestServer, token: &str, id: u64) -> Value {
    let all = server.get_json("/api/library/folders", token).await;
    all.as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("folder {id} in {all:#}"))
}

/// Wait until folder `id` is watched in `mode`; returns the folder.
async fn wait_mode(server: &TestServer, token: &str, id: u64, mode: &str) -> Value {
    wait_until(
        PROMPT,
        format!("folder {id} to be watched by {mode}"),
        async || {
            let f = folder(server, token, id).await;
            if f["watch_mode"] == mode {
                Ok(f)
            } else {
                Err(f)
            }
        },
    )
    .await
}

/// Every job, archived or not.
async fn all_jobs(server: &TestServer, token: &str) -> Vec<Value> {
    let mut jobs = Vec::new();
    for archived in ["false", "true"] {
        let page = server
            .get_json(&format!("/api/jobs?limit=200&archived={archived}"), token)
            .await;
        jobs.extend(page.as_array().unwrap().iter().cloned());
    }
    jobs
}

/// The jobs whose input is `path`.
async fn jobs_at(server: &TestServer, token: &str, path: &Path) -> Vec<Value> {
    let path = path.to_str().unwrap();
    all_jobs(server, token)
        .await
        .into_iter()
        .filter(|j| j["input_path"] == path)
        .collect()
}

/// Wait until a job for `path` exists; returns it.
async fn wait_job_at(server: &TestServer, token: &str, path: &Path, within: Duration) -> Value {
    wait_until(
        within,
        format!("a job for {}", path.display()),
        async || {
            let jobs = jobs_at(server, token, path).await;
            assert!(jobs.len() <= 1, "one job per file: {jobs:#?}");
            jobs.into_iter().next()
        },
    )
    .await
}

/// The watcher's line on the system page.
async fn watcher_status(server: &TestServer, token: &str) -> String {
    let workers = server.get_json("/api/system/workers", token).await;
    workers
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "watcher")
        .map(|w| w["detail"].as_str().unwrap().to_string())
        .unwrap_or_default()
}
