//! Every route of the API reference answers with the shape CONTRACT.md documents (names and
//! types of fields): engine, statistics, system and health, the `/api/v1` aliases and request
//! ids. The job routes are in `jobs`, the library's in `library`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::{get_ok, header, post_ok, problem};
use crate::support::shapes::{T, check, check_engine_status};
use crate::support::wait::DETECTION;
use crate::support::{PROMPT, TestServer, wait_until};

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
    let r = get_ok(&server, "/api/v1/jobs", &token).await;
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
