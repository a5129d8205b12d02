//! Concurrent API load while real encodes run: a scan queues H.264 and MPEG-4 clips (encoded
//! to HEVC by ffmpeg), an HEVC clip (skipped) and fake files (failed), and while the engine
//! works through them 16 clients hammer the job list (filters, search, sort, pages), job
//! details, engine status, statistics, system resources, metrics and the HTML pages, with
//! priority changes, pause/resume and rescans mixed in, and SSE subscribers read the stream.
//! Every answer must be a success of its documented shape: no 5xx, no transport error.

use std::ffi::OsStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::support::clips::{copy_into, h264_clip, hevc_clip, mpeg4_clip};
use crate::support::files::{library, sha256};
use crate::support::rng::Rng;
use crate::support::shapes::{check_engine_status, check_job};
use crate::support::{TestServer, wait_until};

const CLIENTS: usize = 16;
const SUBSCRIBERS: usize = 4;
const REAL_CLIPS: usize = 6;
const FAKES: usize = 30;
/// The run ends when every job is terminal, at the latest after this.
const LIMIT: Duration = Duration::from_secs(240);

/// Shared between the clients.
struct Shared {
    server: TestServer,
    token: String,
    session: String,
    stop: AtomicBool,
    requests: AtomicU64,
    by_kind: [AtomicU64; 4],
}

/// What a client asks for; the answer is checked against the documented shape.
const READS: &[&str] = &[
    "/api/jobs",
    "/api/jobs?limit=10&sort_by=priority&sort_desc=true",
    "/api/jobs?status=queued,analyzing,encoding&sort_by=created_at",
    "/api/jobs?status=completed,skipped,failed&sort_by=size&page=2&limit=5",
    "/api/jobs?search=CLIP&sort_by=input_path",
    "/api/jobs?search=%C3%A9t%C3%A9&archived=true",
    "/api/jobs?sort_by=updated_at&sort_desc=false&limit=200",
    "/api/engine/status",
    "/api/stats/aggregated",
    "/api/stats/daily",
    "/api/stats/savings",
    "/api/system/resources",
    "/api/library/scan",
    "/api/library/folders",
    "/metrics",
];
const PAGES: &[&str] = &["/", "/jobs", "/library", "/system", "/hardware", "/tokens"];

async fn ok(r: Result<Response, reqwest::Error>, what: &str) -> Response {
    let r = r.unwrap_or_else(|e| panic!("{what}: transport error {e}"));
    let status = r.status().as_u16();
    if !(200..300).contains(&status) {
        let body = r.text().await.unwrap_or_default();
        panic!("{what}: {status}: {body}");
    }
    r
}

async fn json_of(r: Response, what: &str) -> Value {
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("application/json"), "{what}: {ct}");
    r.json()
        .await
        .unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}"))
}

fn check_read(path: &str, v: &Value, total: Option<&str>) {
    let route = path.split('?').next().unwrap();
    match route {
        "/api/jobs" => {
            let list = v.as_array().unwrap_or_else(|| panic!("{path}: {v}"));
            list.iter().for_each(check_job);
            let total: usize = total
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("{path}: X-Total-Count"));
            assert!(total >= list.len(), "{path}");
        }
        "/api/engine/status" => check_engine_status(v),
        "/api/stats/aggregated" => {
            assert!(
                v["jobs"].is_object() && v["total_input_bytes"].is_u64(),
                "{v}"
            );
        }
        "/api/stats/daily" => assert_eq!(v.as_array().map(Vec::len), Some(30), "{v}"),
        "/api/stats/savings" => assert!(v["by_codec"].is_array() && v["largest"].is_array()),
        "/api/system/resources" => assert!(v["uptime_seconds"].is_number(), "{v}"),
        "/api/library/scan" => assert!(v["running"].is_boolean(), "{v}"),
        "/api/library/folders" => assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}"),
        other => panic!("no shape for {other}"),
    }
}

/// Job ids currently listed (the clients pick details and priority targets from them).
async fn some_ids(s: &Shared) -> Vec<u64> {
    let r = s
        .server
        .bearer(Method::GET, "/api/jobs?limit=200", &s.token)
        .send()
        .await;
    let v = json_of(ok(r, "job ids").await, "job ids").await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_u64().unwrap())
        .collect()
}

async fn client(s: Arc<Shared>, n: u64) {
    let mut rng = Rng::new(0x5eed + n);
    let mut ids = Vec::new();
    while !s.stop.load(Ordering::SeqCst) {
        if ids.is_empty() || rng.below(50) == 0 {
            ids = some_ids(&s).await;
        }
        let kind = rng.below(10);
        match kind {
            // Reads of the JSON API.
            0..=5 => {
                let path = *rng.pick(READS);
                let r = ok(
                    s.server.bearer(Method::GET, path, &s.token).send().await,
                    path,
                )
                .await;
                if path == "/metrics" {
                    assert!(r.text().await.unwrap().contains("alchemist_jobs"));
                } else {
                    let total = r
                        .headers()
                        .get("x-total-count")
                        .map(|v| v.to_str().unwrap().to_string());
                    let v = json_of(r, path).await;
                    check_read(path, &v, total.as_deref());
                }
            }
            // Job details.
            6 if !ids.is_empty() => {
                let id = *rng.pick(&ids);
                let path = format!("/api/jobs/{id}/details");
                let r = s.server.bearer(Method::GET, &path, &s.token).send().await;
                let v = json_of(ok(r, &path).await, &path).await;
                check_job(&v["job"]);
                assert!(v["attempts"].is_array() && v["logs"].is_array(), "{v}");
            }
            // HTML pages, with the session cookie as a browser sends it.
            7 => {
                let page = if !ids.is_empty() && rng.below(4) == 0 {
                    format!("/jobs/{}", rng.pick(&ids))
                } else {
                    rng.pick(PAGES).to_string()
                };
                let r = s.server.cookie(Method::GET, &page, &s.session).send().await;
                let r = ok(r, &page).await;
                let ct = r.headers()["content-type"].to_str().unwrap().to_string();
                assert!(ct.starts_with("text/html"), "{page}: {ct}");
                assert!(r.text().await.unwrap().contains("</html>"), "{page}");
            }
            // Priority changes.
            8 if !ids.is_empty() => {
                let id = *rng.pick(&ids);
                let priority = rng.below(200) as i32 - 100;
                let path = format!("/api/jobs/{id}/priority");
                let r = s
                    .server
                    .post_json(&path, &s.token, json!({ "priority": priority }))
                    .await;
                let v = json_of(ok(Ok(r), &path).await, &path).await;
                assert_eq!(v, json!({"id": id, "priority": priority}));
            }
            // Rescans (unchanged files cost no probe) and their status.
            _ => {
                let r = s
                    .server
                    .post_json("/api/library/scan", &s.token, json!({}))
                    .await;
                let v = json_of(ok(Ok(r), "scan").await, "scan").await;
                assert!(v["started"].is_boolean(), "{v}");
            }
        }
        s.requests.fetch_add(1, Ordering::Relaxed);
        let bucket = match kind {
            0..=5 => 0,
            6 => 1,
            7 => 2,
            _ => 3,
        };
        s.by_kind[bucket].fetch_add(1, Ordering::Relaxed);
    }
}

/// Pause and resume now and then (the encoder is suspended and continued under the load).
async fn toggler(s: Arc<Shared>) {
    while !s.stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(700)).await;
        for action in ["pause", "resume"] {
            let path = format!("/api/engine/{action}");
            let r = s.server.post_json(&path, &s.token, json!({})).await;
            let v = json_of(ok(Ok(r), &path).await, &path).await;
            check_engine_status(&v);
            s.requests.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}

/// An SSE subscriber: every event has a known name and JSON data. Returns how many it read.
async fn subscriber(s: Arc<Shared>) -> u64 {
    const NAMES: &[&str] = &[
        "status",
        "progress",
        "decision",
        "log",
        "config_updated",
        "scan_started",
        "scan_completed",
        "engine",
    ];
    let mut sse = s.server.events(&s.token, None).await;
    let mut n = 0;
    while !s.stop.load(Ordering::SeqCst) {
        if let Some(ev) = sse.next(Duration::from_millis(500)).await {
            assert!(NAMES.contains(&ev.event.as_str()), "{ev:?}");
            assert!(ev.data.is_object(), "{ev:?}");
            assert!(ev.id.is_some(), "{ev:?}");
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_under_concurrent_load_during_encodes_never_fails() {
    let started = Instant::now();
    let server = TestServer::start().await;
    let token = server.login().await;
    let session = server.login().await;
    let lib = library(server.tmp.path());
    let mut originals = Vec::new();
    for i in 0..REAL_CLIPS {
        let (clip, ext) = match i {
            0 => (hevc_clip(), "mkv"),
            1 => (mpeg4_clip(), "mkv"),
            _ => (h264_clip(), "mp4"),
        };
        let p = copy_into(&lib, clip, OsStr::new(&format!("clip {i}.{ext}")));
        originals.push((sha256(&p), p));
    }
    for i in 0..FAKES {
        std::fs::write(
            lib.join(format!("fake {i:02} été.mkv")),
            vec![b'x'; 100 + i],
        )
        .unwrap();
    }
    server.add_folder(&token, &lib).await;
    let shared = Arc::new(Shared {
        server,
        token,
        session,
        stop: AtomicBool::new(false),
        requests: AtomicU64::new(0),
        by_kind: Default::default(),
    });
    let subscribers: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| tokio::spawn(subscriber(shared.clone())))
        .collect();
    let clients: Vec<_> = (0..CLIENTS as u64)
        .map(|n| tokio::spawn(client(shared.clone(), n)))
        .collect();
    let toggle = tokio::spawn(toggler(shared.clone()));
    let r = shared
        .server
        .post_json("/api/library/scan", &shared.token, json!({}))
        .await;
    assert_eq!(r.status(), 202);

    // Wait for every job to end (watching from outside the load).
    let total = (REAL_CLIPS + FAKES) as u64;
    let left = LIMIT.saturating_sub(started.elapsed());
    wait_until(left, "every job to end under load", async || {
        let status = shared
            .server
            .get_json("/api/engine/status", &shared.token)
            .await;
        let agg = shared
            .server
            .get_json("/api/stats/aggregated", &shared.token)
            .await;
        let jobs = &agg["jobs"];
        let ended: u64 = ["completed", "skipped", "failed", "cancelled"]
            .iter()
            .map(|k| jobs[k].as_u64().unwrap())
            .sum();
        // A client that ended early failed: its panic is reported below.
        let any_dead = clients.iter().any(|t| t.is_finished())
            || subscribers.iter().any(|t| t.is_finished())
            || toggle.is_finished();
        if (ended == total && status["active_jobs"] == 0) || any_dead {
            Ok(())
        } else {
            Err(agg)
        }
    })
    .await;
    shared.stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.await.expect("a load client failed");
    }
    toggle.await.expect("the pause/resume client failed");
    let mut events = 0;
    for s in subscribers {
        events += s.await.expect("an SSE subscriber failed");
    }

    // The work itself came out right under the load.
    let s = &shared.server;
    let agg = s.get_json("/api/stats/aggregated", &shared.token).await;
    assert_eq!(agg["jobs"]["completed"], REAL_CLIPS as u64 - 1, "{agg}");
    assert_eq!(agg["jobs"]["skipped"], 1, "{agg}");
    assert_eq!(agg["jobs"]["failed"], FAKES as u64, "{agg}");
    for (sum, path) in &originals {
        assert_eq!(&sha256(path), sum, "{path:?} untouched");
    }
    let status = s.get_json("/api/engine/status", &shared.token).await;
    assert_eq!(status["status"], "running", "the toggler always resumes");
    let requests = shared.requests.load(Ordering::Relaxed);
    let kinds: Vec<u64> = shared
        .by_kind
        .iter()
        .map(|k| k.load(Ordering::Relaxed))
        .collect();
    eprintln!(
        "load: {requests} requests from {CLIENTS} clients + pause/resume ({kinds:?} as API reads, \
         details, pages, mutations and scans), {events} SSE events to {SUBSCRIBERS} \
         subscribers, {} jobs, 0 errors, in {:.1} s",
        total,
        started.elapsed().as_secs_f64()
    );
    assert!(requests > 500, "{requests}");
    let shared = Arc::into_inner(shared).expect("no client holds the server");
    shared.server.stop().await;
}
