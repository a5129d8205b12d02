//! Every route of the API reference answers with the shape CONTRACT.md documents (names and
//! types of fields), and the job list honours every filter, sort and page. Jobs come from a
//! scan of tiny fake `.mkv` files with the engine paused, so nothing is ever encoded (the
//! analyser probes them ahead of dispatch; they are not media, so nothing is cached).

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::support::api::{header, problem, problem_any};
use crate::support::shapes::{T, check, check_engine_status, check_job, time_of};
use crate::support::wait::DETECTION;
use crate::support::{PROMPT, TestServer, wait_until};

/// GET with a Bearer token; 200 expected. Returns the response for header checks.
async fn get(server: &TestServer, path: &str, token: &str) -> Response {
    let r = server
        .bearer(Method::GET, path, token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r
}

async fn post_ok(server: &TestServer, path: &str, token: &str, body: Value) -> Value {
    let r = server.post_json(path, token, body).await;
    assert_eq!(r.status(), 200, "POST {path}");
    r.json().await.unwrap()
}

/// The job list: body and `X-Total-Count`.
async fn jobs(server: &TestServer, token: &str, query: &str) -> (Vec<Value>, u64) {
    let r = get(server, &format!("/api/jobs?{query}"), token).await;
    let total = header(&r, "x-total-count")
        .parse()
        .expect("X-Total-Count header");
    let body: Value = r.json().await.unwrap();
    let list = body
        .as_array()
        .unwrap_or_else(|| panic!("a bare array: {body}"))
        .clone();
    (list, total)
}

fn ids(list: &[Value]) -> Vec<u64> {
    list.iter().map(|j| j["id"].as_u64().unwrap()).collect()
}

/// A server with the engine paused and a library folder of fake video files, scanned.
struct Library {
    server: TestServer,
    token: String,
    dir: PathBuf,
}

/// Names (some in a sub-folder, mixed case) and distinct sizes of `n` fake files.
fn fake_files(n: usize) -> Vec<(String, u64)> {
    const WORDS: [&str; 6] = ["Alpha", "beta", "Gamma", "delta", "Epsilon", "zeta"];
    (0..n)
        .map(|i| {
            let dir = if i % 5 == 0 { "Season 1/" } else { "" };
            let name = format!("{dir}{} {:02}.mkv", WORDS[(i * 7) % 6], i);
            // 37 is coprime with 5 and 11: distinct sizes for up to 55 files, in an order
            // unrelated to the names.
            (name, 100 + ((i * 37) % 55) as u64 * 10)
        })
        .collect()
}

async fn paused_library(n: usize) -> Library {
    let server = TestServer::start().await;
    let token = server.login().await;
    let status = post_ok(&server, "/api/engine/pause", &token, json!({})).await;
    check_engine_status(&status);
    assert_eq!(status["status"], "paused");
    let dir = server.tmp.path().join("library");
    std::fs::create_dir_all(dir.join("Season 1")).unwrap();
    for (name, size) in fake_files(n) {
        std::fs::write(dir.join(name), vec![0u8; size as usize]).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), b"not a video").unwrap();
    server.add_folder(&token, &dir).await;
    let library = Library { server, token, dir };
    let (found, queued, _) = library.scan().await;
    assert_eq!((found, queued), (n as u64, n as u64));
    library
}

impl Library {
    /// Run a scan; returns scan_completed's (found, queued, skipped).
    async fn scan(&self) -> (u64, u64, u64) {
        let mut events = self.server.events(&self.token, None).await;
        let r = self
            .server
            .post_json("/api/library/scan", &self.token, json!({}))
            .await;
        assert_eq!(r.status(), 202);
        check(&r.json().await.unwrap(), "scan", &[("started", T::Bool)]);
        let (started, _) = events
            .until(Duration::from_secs(30), |e| e.event == "scan_started")
            .await;
        check(&started.data, "scan_started", &[("folder_count", T::Uint)]);
        let (done, _) = events
            .until(Duration::from_secs(30), |e| e.event == "scan_completed")
            .await;
        check(
            &done.data,
            "scan_completed",
            &[
                ("found", T::Uint),
                ("queued", T::Uint),
                ("skipped", T::Uint),
                ("seconds", T::Num),
            ],
        );
        let n = |k: &str| done.data[k].as_u64().unwrap();
        (n("found"), n("queued"), n("skipped"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_routes_return_the_status_object() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let s = server.get_json("/api/engine/status", &token).await;
    check_engine_status(&s);
    assert_eq!(s["status"], "running");
    assert!(s["paused_reason"].is_null());

    let s = post_ok(&server, "/api/engine/pause", &token, json!({})).await;
    check_engine_status(&s);
    assert_eq!(s["status"], "paused");
    assert!(s["paused_reason"].is_string());
    assert_eq!(server.get_json("/api/engine/status", &token).await, s);
    let s = post_ok(&server, "/api/engine/resume", &token, json!({})).await;
    assert_eq!(s["status"], "running");
    assert!(s["paused_reason"].is_null());

    // Drain with nothing active ends paused.
    let s = post_ok(&server, "/api/engine/drain", &token, json!({})).await;
    check_engine_status(&s);
    assert!(["draining", "paused"].contains(&s["status"].as_str().unwrap()));
    let s = wait_until(PROMPT, "the drain to end (paused)", async || {
        let s = server.get_json("/api/engine/status", &token).await;
        if s["status"] == "paused" {
            Ok(s)
        } else {
            Err(s)
        }
    })
    .await;
    assert!(s["paused_reason"].is_string());

    let s = post_ok(
        &server,
        "/api/engine/mode",
        &token,
        json!({"mode": "background"}),
    )
    .await;
    check_engine_status(&s);
    assert_eq!(s["mode"], "background");
    assert_eq!(s["concurrent_limit"], 1);
    assert_eq!(s["is_manual_override"], false);
    let s = post_ok(
        &server,
        "/api/engine/mode",
        &token,
        json!({"mode": "throughput", "concurrent_jobs_override": 3, "threads_override": 2}),
    )
    .await;
    assert_eq!(s["mode"], "throughput");
    assert_eq!(s["concurrent_limit"], 3);
    assert_eq!(s["threads"], 2);
    assert_eq!(s["is_manual_override"], true);
    let s = post_ok(
        &server,
        "/api/engine/mode",
        &token,
        json!({"mode": "balanced", "concurrent_jobs_override": 0, "threads_override": 0}),
    )
    .await;
    assert_eq!(s["is_manual_override"], false);
    assert_eq!(s["threads"], 0);
    assert!((1..=4).contains(&s["concurrent_limit"].as_u64().unwrap()));
    assert_eq!(server.get_json("/api/engine/status", &token).await, s);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_routes_have_the_documented_shapes() {
    let server = TestServer::start().await;
    let token = server.login().await;

    let a = server.get_json("/api/stats/aggregated", &token).await;
    check(
        &a,
        "aggregated",
        &[
            ("total_input_bytes", T::Uint),
            ("total_output_bytes", T::Uint),
            ("total_savings_bytes", T::Int),
            ("savings_percent", T::Num),
            ("total_encode_seconds", T::Num),
            ("jobs", T::Obj),
        ],
    );
    check(
        &a["jobs"],
        "aggregated.jobs",
        &[
            ("queued", T::Uint),
            ("active", T::Uint),
            ("completed", T::Uint),
            ("skipped", T::Uint),
            ("failed", T::Uint),
            ("cancelled", T::Uint),
        ],
    );

    let daily = server.get_json("/api/stats/daily", &token).await;
    let days = daily.as_array().expect("array");
    assert_eq!(days.len(), 30);
    let today = time::OffsetDateTime::now_utc().date();
    let format = time::macros::format_description!("[year]-[month]-[day]");
    for (i, d) in days.iter().enumerate() {
        check(
            d,
            "daily entry",
            &[
                ("date", T::Str),
                ("jobs_completed", T::Uint),
                ("jobs_failed", T::Uint),
                ("bytes_saved", T::Int),
                ("encode_seconds", T::Num),
            ],
        );
        // Oldest first, one per consecutive UTC day, ending today.
        let date = time::Date::parse(d["date"].as_str().unwrap(), &format).expect("YYYY-MM-DD");
        let expected = today - time::Duration::days(29 - i as i64);
        // Midnight may pass during the request: then the window ends tomorrow.
        assert!(
            date == expected || date == expected + time::Duration::days(1),
            "entry {i}: {date} (today {today})"
        );
        if i > 0 {
            let prev = time::Date::parse(days[i - 1]["date"].as_str().unwrap(), &format).unwrap();
            assert_eq!(date, prev + time::Duration::days(1));
        }
    }

    let s = server.get_json("/api/stats/savings", &token).await;
    check(
        &s,
        "savings",
        &[
            ("total_bytes_saved", T::Int),
            ("savings_percent", T::Num),
            ("by_codec", T::Arr),
            ("by_folder", T::Arr),
            ("largest", T::Arr),
        ],
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_routes_have_the_documented_shapes() {
    let server = TestServer::start().await;
    let token = server.login().await;

    // Detection runs in the background: wait until it has finished.
    let hw = wait_until(DETECTION, "hardware detection to finish", async || {
        let hw = server.get_json("/api/system/hardware", &token).await;
        check(
            &hw,
            "hardware",
            &[
                ("backends", T::Arr),
                ("selected", T::Obj),
                ("probed_at", T::OptTime),
            ],
        );
        if hw["probed_at"].is_null() {
            Err(hw)
        } else {
            Ok(hw)
        }
    })
    .await;
    let backends = hw["backends"].as_array().unwrap();
    assert!(!backends.is_empty(), "{hw}");
    for b in backends {
        check(
            b,
            "backend",
            &[
                ("kind", T::Str),
                ("device", T::OptStr),
                ("driver", T::OptStr),
                ("available", T::Bool),
                ("codecs", T::Arr),
            ],
        );
        assert!(["vaapi", "v4l2m2m", "cpu"].contains(&b["kind"].as_str().unwrap()));
        for c in b["codecs"].as_array().unwrap() {
            check(
                c,
                "codec",
                &[
                    ("codec", T::Str),
                    ("encoder", T::Str),
                    ("verified", T::Bool),
                ],
            );
        }
    }
    let kinds: Vec<&str> = backends.iter().filter_map(|b| b["kind"].as_str()).collect();
    for (codec, backend) in hw["selected"].as_object().unwrap() {
        let backend = backend.as_str().expect("backend kind");
        assert!(kinds.contains(&backend), "selected {codec} → {backend}");
    }

    let log = server
        .get_json("/api/system/hardware/probe-log", &token)
        .await;
    check(&log, "probe log", &[("entries", T::Arr)]);
    let entries = log["entries"].as_array().unwrap();
    assert!(!entries.is_empty(), "probed, so there is a log");
    for e in entries {
        check(
            e,
            "probe log entry",
            &[
                ("at", T::Time),
                ("backend", T::Str),
                ("device", T::OptStr),
                ("step", T::Str),
                ("command", T::Str),
                ("ok", T::Bool),
                ("output", T::Str),
            ],
        );
        assert!(!e["command"].as_str().unwrap().contains("-v quiet"), "{e}");
    }

    let r = server.get_json("/api/system/resources", &token).await;
    check(
        &r,
        "resources",
        &[
            ("cpu_percent", T::Num),
            ("load_average", T::Arr),
            ("memory_used_bytes", T::Uint),
            ("memory_total_bytes", T::Uint),
            ("gpu", T::Arr),
            ("temperatures", T::Arr),
            ("uptime_seconds", T::Uint),
            ("process_rss_bytes", T::Uint),
        ],
    );
    let load = r["load_average"].as_array().unwrap();
    assert_eq!(load.len(), 3);
    assert!(load.iter().all(Value::is_number));
    assert!(r["memory_total_bytes"].as_u64().unwrap() > 0);
    assert!(r["memory_used_bytes"].as_u64() <= r["memory_total_bytes"].as_u64());
    assert!(r["process_rss_bytes"].as_u64().unwrap() > 0);
    for g in r["gpu"].as_array().unwrap() {
        check(g, "gpu", &[("device", T::Str)]);
        assert!(g["busy_percent"].is_null() || g["busy_percent"].is_number());
    }
    for t in r["temperatures"].as_array().unwrap() {
        check(t, "temperature", &[("sensor", T::Str), ("celsius", T::Num)]);
    }

    // Health and readiness.
    let h: Value = server
        .http
        .get(server.url("/api/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check(&h, "health", &[("status", T::Str), ("version", T::Str)]);
    assert_eq!(h["status"], "ok");
    assert_eq!(h["version"], env!("CARGO_PKG_VERSION"));
    let r = server
        .http
        .get(server.url("/api/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_folders_and_scans() {
    let server = TestServer::start().await;
    let token = server.login().await;
    post_ok(&server, "/api/engine/pause", &token, json!({})).await;
    let root = server.tmp.path();
    let movies = root.join("movies");
    let shows = root.join("shows");
    std::fs::create_dir_all(movies.join("nested")).unwrap();
    std::fs::create_dir_all(&shows).unwrap();
    std::fs::write(movies.join("a.mkv"), b"a").unwrap();
    std::fs::write(movies.join("nested/b.mp4"), b"bb").unwrap();
    std::fs::write(shows.join("c.mkv"), b"ccc").unwrap();
    std::fs::write(shows.join("readme.txt"), b"x").unwrap();

    assert_eq!(
        server.get_json("/api/library/folders", &token).await,
        json!([])
    );
    let add = |path: &Path, recursive: Option<bool>| {
        let mut body = json!({"path": path.to_str().unwrap()});
        if let Some(r) = recursive {
            body["recursive"] = json!(r);
        }
        server.post_json("/api/library/folders", &token, body)
    };
    let r = add(&movies, None).await;
    assert_eq!(r.status(), 201);
    let m: Value = r.json().await.unwrap();
    check(
        &m,
        "folder",
        &[("id", T::Uint), ("path", T::Str), ("recursive", T::Bool)],
    );
    assert_eq!(m["recursive"], true, "recursive by default");
    assert_eq!(
        m["path"],
        std::fs::canonicalize(&movies).unwrap().to_str().unwrap()
    );
    let r = add(&shows, Some(false)).await;
    assert_eq!(r.status(), 201);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["recursive"], false);
    let listed = server.get_json("/api/library/folders", &token).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    for f in listed.as_array().unwrap() {
        check(
            f,
            "folder",
            &[("id", T::Uint), ("path", T::Str), ("recursive", T::Bool)],
        );
    }

    // Refusals.
    problem(add(&movies, None).await, 409, "FOLDER_EXISTS").await;
    let same = PathBuf::from(format!("{}/", movies.display()));
    problem(add(&same, None).await, 409, "FOLDER_EXISTS").await;
    problem(add(&root.join("nope"), None).await, 400, "FOLDER_INVALID").await;
    problem(
        add(&movies.join("a.mkv"), None).await,
        400,
        "FOLDER_INVALID",
    )
    .await;
    problem(
        add(Path::new("relative/dir"), None).await,
        400,
        "FOLDER_INVALID",
    )
    .await;
    let r = server
        .bearer(Method::DELETE, "/api/library/folders/999", &token)
        .send()
        .await
        .unwrap();
    problem(r, 404, "FOLDER_NOT_FOUND").await;

    // Scan status, then a scan: both folders, `shows` not recursed into, no .txt.
    let st = server.get_json("/api/library/scan", &token).await;
    check(
        &st,
        "scan status",
        &[
            ("running", T::Bool),
            ("files_seen", T::Uint),
            ("files_queued", T::Uint),
        ],
    );
    let library = Library {
        server,
        token,
        dir: movies.clone(),
    };
    assert_eq!(library.scan().await, (3, 3, 0));
    let (server, token) = (&library.server, &library.token);
    let st = wait_until(PROMPT, "the scan status to say it ended", async || {
        let st = server.get_json("/api/library/scan", token).await;
        if st["running"] == false {
            Ok(st)
        } else {
            Err(st)
        }
    })
    .await;
    assert_eq!(st["files_seen"], 3);
    assert_eq!(st["files_queued"], 3);
    // Unchanged files are skipped by a rescan.
    assert_eq!(library.scan().await, (3, 0, 3));

    // Removing a folder leaves its jobs.
    let id = s["id"].as_u64().unwrap();
    let r = server
        .bearer(Method::DELETE, &format!("/api/library/folders/{id}"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"ok": true}));
    let listed = server.get_json("/api/library/folders", token).await;
    assert_eq!(
        ids(listed.as_array().unwrap()),
        vec![m["id"].as_u64().unwrap()]
    );
    assert_eq!(jobs(server, token, "").await.1, 3);
    library.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_routes_have_the_documented_shapes() {
    let lib = paused_library(6).await;
    let (server, token) = (&lib.server, lib.token.as_str());
    let (list, total) = jobs(server, token, "").await;
    assert_eq!((list.len(), total), (6, 6));
    list.iter().for_each(check_job);
    let id = list[0]["id"].as_u64().unwrap();

    let d = server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await;
    check(
        &d,
        "details",
        &[
            ("job", T::Obj),
            ("attempts", T::Arr),
            ("logs", T::Arr),
            ("queue_position", T::OptUint),
        ],
    );
    for f in ["metadata", "encode_stats"] {
        assert!(d.get(f).is_some(), "details.{f} present: {d}");
    }
    check_job(&d["job"]);
    assert_eq!(d["job"]["id"], id);
    assert_eq!(d["job"]["status"], "queued");
    assert!(
        d["encode_stats"].is_null() && d["metadata"].is_null(),
        "never probed: {d}"
    );
    assert!(
        d["job"]["input_path"]
            .as_str()
            .unwrap()
            .starts_with(std::fs::canonicalize(&lib.dir).unwrap().to_str().unwrap())
    );

    // Priority: {id, priority}; the highest runs first.
    let p = post_ok(
        server,
        &format!("/api/jobs/{id}/priority"),
        token,
        json!({"priority": -5}),
    )
    .await;
    assert_eq!(p, json!({"id": id, "priority": -5}));
    let last = list[5]["id"].as_u64().unwrap();
    let p = post_ok(
        server,
        &format!("/api/jobs/{last}/priority"),
        token,
        json!({"priority": 100}),
    )
    .await;
    assert_eq!(p, json!({"id": last, "priority": 100}));
    let d = server
        .get_json(&format!("/api/jobs/{last}/details"), token)
        .await;
    assert_eq!(d["job"]["priority"], 100);
    assert_eq!(d["queue_position"], 1);
    let d = server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await;
    assert_eq!(d["queue_position"], 6);
    let r = server
        .post_json("/api/jobs/999/priority", token, json!({"priority": 1}))
        .await;
    problem(r, 404, "JOB_NOT_FOUND").await;

    // Cancel and restart: {"ok": true}; cancelled jobs have no queue position.
    assert_eq!(
        post_ok(server, &format!("/api/jobs/{id}/cancel"), token, json!({})).await,
        json!({"ok": true})
    );
    let d = server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await;
    assert_eq!(d["job"]["status"], "cancelled");
    assert!(d["queue_position"].is_null());
    // Cancel of a terminal job is a no-op.
    post_ok(server, &format!("/api/jobs/{id}/cancel"), token, json!({})).await;
    assert_eq!(
        post_ok(server, &format!("/api/jobs/{id}/restart"), token, json!({})).await,
        json!({"ok": true})
    );
    let d = server
        .get_json(&format!("/api/jobs/{id}/details"), token)
        .await;
    assert_eq!(d["job"]["status"], "queued");
    assert_eq!(d["job"]["progress"], 0.0);

    // Bulk actions answer {count}.
    let all = ids(&list);
    let c = post_ok(
        server,
        "/api/jobs/batch",
        token,
        json!({"action": "cancel", "ids": all[..3]}),
    )
    .await;
    assert_eq!(c, json!({"count": 3}));
    let c = post_ok(server, "/api/jobs/restart-failed", token, json!({})).await;
    assert_eq!(c, json!({"count": 3}));
    let c = post_ok(server, "/api/jobs/clear-completed", token, json!({})).await;
    assert_eq!(c, json!({"count": 0}));
    let (_, queued) = jobs(server, token, "status=queued").await;
    assert_eq!(queued, 6);

    // Enqueue: inside a library folder 200, outside 403 (also through `..` or a symlink).
    let inside = lib.dir.join("new one.mkv");
    std::fs::write(&inside, b"new").unwrap();
    let e = post_ok(
        server,
        "/api/jobs/enqueue",
        token,
        json!({"path": inside.to_str().unwrap()}),
    )
    .await;
    check(&e, "enqueued", &[("id", T::Uint), ("enqueued", T::Bool)]);
    assert_eq!(e["enqueued"], true);
    let again = post_ok(
        server,
        "/api/jobs/enqueue",
        token,
        json!({"path": inside.to_str().unwrap()}),
    )
    .await;
    assert_eq!(again, json!({"id": e["id"], "enqueued": false}));
    let outside_dir = server.tmp.path().join("elsewhere");
    std::fs::create_dir_all(&outside_dir).unwrap();
    let outside = outside_dir.join("secret.mkv");
    std::fs::write(&outside, b"x").unwrap();
    let dotdot = lib.dir.join("../elsewhere/secret.mkv");
    let link = lib.dir.join("link.mkv");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    for path in [&outside, &dotdot, &link] {
        let r = server
            .post_json(
                "/api/jobs/enqueue",
                token,
                json!({"path": path.to_str().unwrap()}),
            )
            .await;
        problem(r, 403, "ENQUEUE_PATH_FORBIDDEN").await;
    }
    let r = server
        .post_json(
            "/api/jobs/enqueue",
            token,
            json!({"path": lib.dir.join("notes.txt").to_str().unwrap()}),
        )
        .await;
    problem_any(r, 400, None).await;
    assert_eq!(jobs(server, token, "").await.1, 7);

    // /metrics: Prometheus text, behind authentication.
    let r = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    problem(r, 401, "AUTH_REQUIRED").await;
    let r = get(server, "/metrics", token).await;
    assert!(header(&r, "content-type").starts_with("text/plain"));
    let text = r.text().await.unwrap();
    assert!(text.contains("# TYPE alchemist_jobs gauge"), "{text}");
    assert!(
        text.contains("alchemist_jobs{status=\"queued\"} 7"),
        "{text}"
    );
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "sample line: {line}");
    }
    lib.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_list_filters_sorts_and_pages() {
    // More than the default page of 50.
    const N: usize = 55;
    let lib = paused_library(N).await;
    let (server, token) = (&lib.server, lib.token.as_str());
    let (all, total) = jobs(server, token, "limit=200").await;
    assert_eq!((all.len(), total), (N, N as u64));
    all.iter().for_each(check_job);
    let all_ids = ids(&all);

    // Varied priorities (which also moves updated_at) and some cancelled jobs.
    for (i, id) in all_ids.iter().enumerate().filter(|(i, _)| i % 4 == 0) {
        let priority = (i as i32 % 7) - 3;
        post_ok(
            server,
            &format!("/api/jobs/{id}/priority"),
            token,
            json!({"priority": priority}),
        )
        .await;
    }
    let cancelled: Vec<u64> = all_ids.iter().copied().filter(|id| id % 5 == 2).collect();
    let c = post_ok(
        server,
        "/api/jobs/batch",
        token,
        json!({"action": "cancel", "ids": cancelled}),
    )
    .await;
    assert_eq!(c["count"], cancelled.len());
    let (all, _) = jobs(server, token, "limit=200").await;

    // Status filter (comma list).
    let (list, total) = jobs(server, token, "status=cancelled&limit=200").await;
    let mut got = ids(&list);
    got.sort();
    assert_eq!(got, cancelled);
    assert_eq!(total, cancelled.len() as u64);
    assert!(list.iter().all(|j| j["status"] == "cancelled"));
    let (list, total) = jobs(server, token, "status=queued&limit=200").await;
    assert_eq!(total as usize, N - cancelled.len());
    assert!(list.iter().all(|j| j["status"] == "queued"));
    let (_, total) = jobs(server, token, "status=queued,cancelled").await;
    assert_eq!(total as usize, N);
    let (_, total) = jobs(server, token, "status=cancelled,%20queued").await;
    assert_eq!(total as usize, N);
    let (list, total) = jobs(server, token, "status=failed,completed").await;
    assert_eq!((list.len(), total), (0, 0));
    for bad in ["status=bogus", "status=queued,bogus"] {
        let r = server
            .bearer(Method::GET, &format!("/api/jobs?{bad}"), token)
            .send()
            .await
            .unwrap();
        problem(r, 400, "INVALID_JOB_STATUS_FILTER").await;
    }

    // Search: case-insensitive substring of the path.
    for needle in ["ALPHA", "season 1/", "BeTa 1", "zz-nothing"] {
        let (list, total) = jobs(
            server,
            token,
            &format!("search={}&limit=200", needle.replace(' ', "%20")),
        )
        .await;
        let mut expected: Vec<u64> = all
            .iter()
            .filter(|j| {
                j["input_path"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains(&needle.to_lowercase())
            })
            .map(|j| j["id"].as_u64().unwrap())
            .collect();
        expected.sort();
        let mut got = ids(&list);
        got.sort();
        assert_eq!(got, expected, "search {needle}");
        assert_eq!(total as usize, expected.len());
    }
    assert_eq!(jobs(server, token, "search=ALPHA").await.1, 10);

    // Every sort key, both directions: the whole order, ties broken by id.
    type Key = fn(&Value) -> (i128, String);
    let keys: [(&str, Key); 5] = [
        ("created_at", |j| (time_of(&j["created_at"]), String::new())),
        ("updated_at", |j| (time_of(&j["updated_at"]), String::new())),
        ("input_path", |j| {
            (0, j["input_path"].as_str().unwrap().to_lowercase())
        }),
        ("size", |j| {
            (
                j["input_size_bytes"].as_u64().unwrap() as i128,
                String::new(),
            )
        }),
        ("priority", |j| {
            (j["priority"].as_i64().unwrap() as i128, String::new())
        }),
    ];
    for (name, key) in keys {
        let mut sorted = all.clone();
        sorted.sort_by_key(|j| (key(j), j["id"].as_u64().unwrap()));
        let ascending = ids(&sorted);
        let distinct: std::collections::HashSet<_> = all.iter().map(key).collect();
        assert!(
            name == "created_at" || distinct.len() > 3,
            "{name}: the fixture must make the order meaningful"
        );
        for desc in [false, true] {
            let (list, total) = jobs(
                server,
                token,
                &format!("sort_by={name}&sort_desc={desc}&limit=200"),
            )
            .await;
            assert_eq!(total as usize, N);
            let mut expected = ascending.clone();
            if desc {
                expected.reverse();
            }
            assert_eq!(ids(&list), expected, "sort_by={name} sort_desc={desc}");
        }
    }
    // The default order is updated_at ascending.
    let (list, _) = jobs(server, token, "limit=200").await;
    let (by_updated, _) = jobs(server, token, "sort_by=updated_at&limit=200").await;
    assert_eq!(ids(&list), ids(&by_updated));

    // Pages do not overlap, cover everything in order, and the total stays the same.
    let (reference, _) = jobs(server, token, "sort_by=size&limit=200").await;
    let mut paged = Vec::new();
    let pages = N.div_ceil(7);
    for page in 1..=pages {
        let (list, total) = jobs(server, token, &format!("sort_by=size&limit=7&page={page}")).await;
        assert_eq!(total as usize, N, "page {page}");
        let expected = if page < pages { 7 } else { N - 7 * (pages - 1) };
        assert_eq!(list.len(), expected, "page {page}");
        paged.extend(ids(&list));
    }
    assert_eq!(paged, ids(&reference));
    let after = format!("sort_by=size&limit=7&page={}", pages + 1);
    let (list, total) = jobs(server, token, &after).await;
    assert_eq!((list.len(), total as usize), (0, N));
    // Filters, sort and pages combine.
    let queued: Vec<u64> = ids(&reference)
        .into_iter()
        .filter(|id| !cancelled.contains(id))
        .rev()
        .collect();
    let (list, total) = jobs(
        server,
        token,
        "status=queued&sort_by=size&sort_desc=true&limit=5&page=2",
    )
    .await;
    assert_eq!(total as usize, queued.len());
    assert_eq!(ids(&list), queued[5..10]);
    // The default page has 50 jobs; larger limits are capped, not refused.
    let (list, total) = jobs(server, token, "").await;
    assert_eq!((list.len(), total as usize), (50, N));
    assert_eq!(jobs(server, token, "limit=1000").await.0.len(), N);

    // Batch restart and delete are atomic: an unknown id blocks the whole batch.
    let victim = cancelled[0];
    let keep = *all_ids.iter().find(|id| !cancelled.contains(id)).unwrap();
    for (action, ids_) in [
        ("restart", vec![victim, 999_999]),
        ("delete", vec![keep, 999_999]),
    ] {
        let r = server
            .post_json(
                "/api/jobs/batch",
                token,
                json!({"action": action, "ids": ids_}),
            )
            .await;
        let p = problem_any(r, 409, None).await;
        assert_eq!(
            p["blocked"],
            json!([{"id": 999_999, "status": null}]),
            "{action}"
        );
    }
    let d = server
        .get_json(&format!("/api/jobs/{victim}/details"), token)
        .await;
    assert_eq!(
        d["job"]["status"], "cancelled",
        "restart batch changed nothing"
    );
    let d = server
        .get_json(&format!("/api/jobs/{keep}/details"), token)
        .await;
    assert_eq!(d["job"]["archived"], false, "delete batch changed nothing");

    // Delete archives: gone from the default list, listed with archived=true, still readable.
    let mut uncancelled = all_ids.iter().copied().filter(|id| !cancelled.contains(id));
    let gone = [
        uncancelled.next().unwrap(),
        uncancelled.next().unwrap(),
        victim,
    ];
    let c = post_ok(
        server,
        "/api/jobs/batch",
        token,
        json!({"action": "delete", "ids": gone}),
    )
    .await;
    assert_eq!(c, json!({"count": 3}));
    let (list, total) = jobs(server, token, "limit=200").await;
    assert_eq!((list.len(), total as usize), (N - 3, N - 3));
    assert!(ids(&list).iter().all(|id| !gone.contains(id)));
    let (list, total) = jobs(server, token, "archived=true&limit=200").await;
    let mut got = ids(&list);
    got.sort();
    let mut expected = gone.to_vec();
    expected.sort();
    assert_eq!((got, total), (expected, 3));
    assert!(list.iter().all(|j| j["archived"] == true));
    let (list, _) = jobs(server, token, "archived=true&status=cancelled").await;
    assert_eq!(ids(&list), vec![victim]);
    let d = server
        .get_json(&format!("/api/jobs/{victim}/details"), token)
        .await;
    assert_eq!(d["job"]["archived"], true);
    // The files are untouched.
    for (name, size) in fake_files(N) {
        assert_eq!(std::fs::metadata(lib.dir.join(name)).unwrap().len(), size);
    }
    lib.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_aliases_and_request_ids() {
    let server = TestServer::start().await;
    let token = server.login().await;

    // The /api/v1 alias answers like /api.
    for path in [
        "/engine/status",
        "/stats/aggregated",
        "/library/folders",
        "/library/scan",
        "/settings/api-tokens",
    ] {
        let a = server.get_json(&format!("/api{path}"), &token).await;
        let b = server.get_json(&format!("/api/v1{path}"), &token).await;
        assert_eq!(a, b, "{path}");
    }
    let r = get(&server, "/api/v1/jobs", &token).await;
    assert_eq!(header(&r, "x-total-count"), "0");
    let s = post_ok(&server, "/api/v1/engine/pause", &token, json!({})).await;
    assert_eq!(s["status"], "paused");
    assert_eq!(
        server.get_json("/api/engine/status", &token).await["status"],
        "paused"
    );
    let r = server
        .http
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": crate::support::ADMIN, "password": crate::support::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // X-Request-Id: a sane one is echoed, anything else replaced, and always present.
    let with_id = |id: &str| {
        server
            .bearer(Method::GET, "/api/engine/status", &token)
            .header("x-request-id", id)
    };
    let r = with_id("client-42.a_b:c").send().await.unwrap();
    assert_eq!(header(&r, "x-request-id"), "client-42.a_b:c");
    let long = "x".repeat(300);
    for bad in ["has space", "semi;colon", "<script>", long.as_str(), ""] {
        let r = with_id(bad).send().await.unwrap();
        let id = header(&r, "x-request-id");
        assert!(
            !id.is_empty() && id != bad && !id.contains(' '),
            "{bad:?} → {id:?}"
        );
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let r = server
            .http
            .get(server.url("/api/health"))
            .send()
            .await
            .unwrap();
        let id = header(&r, "x-request-id");
        assert!(id.len() >= 8, "{id}");
        assert!(seen.insert(id), "generated ids differ");
    }
    // Problems carry the same id, on every kind of failure.
    let r = server
        .http
        .get(server.url("/api/jobs"))
        .header("x-request-id", "trace-401")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(r, 401, "AUTH_REQUIRED").await["request_id"],
        "trace-401"
    );
    let r = server
        .bearer(Method::GET, "/api/nope", &token)
        .header("x-request-id", "trace-404")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(r, 404, "ROUTE_NOT_FOUND").await["request_id"],
        "trace-404"
    );
    server.stop().await;
}
