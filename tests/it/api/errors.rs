//! Error responses: whatever rejects a request (the JSON, path and query extractors, the
//! router's fallbacks, authentication, handlers), the answer is an `application/problem+json`
//! document with every member and a stable code, never a 5xx and never a plain-text rejection,
//! and no detail mentions the data dir.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::{Answer, check_problem, header, problem};

/// One HTTP/1.1 exchange on a fresh connection, written by hand so the test controls exactly
/// what is sent (a `Content-Length` without its body, a chunked body cut short). Returns the
/// answer and its headers (lower-cased names).
async fn raw_exchange(
    server: &TestServer,
    head: &str,
    body: &[u8],
) -> (Answer, Vec<(String, String)>) {
    use std::io::{Read, Write};
    let addr = server.base.strip_prefix("http://").unwrap().to_string();
    let request = [format!("{head}Host: {addr}\r\n\r\n").as_bytes(), body].concat();
    // Plain blocking I/O on a thread: a read timeout fails the test if the server waits for
    // the body it was told about instead of answering.
    let buf = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream.write_all(&request).unwrap();
        let mut buf = Vec::new();
        loop {
            let mut chunk = [0u8; 8192];
            let n = stream
                .read(&mut chunk)
                .expect("an answer without waiting for the body");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            let Some(end) = text.find("\r\n\r\n") else {
                assert!(n > 0, "connection closed before an answer");
                continue;
            };
            let length = text[..end].lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            });
            if n == 0 || length.is_some_and(|len| buf.len() >= end + 4 + len) {
                return buf;
            }
        }
    })
    .await
    .unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let answer = Answer {
        status,
        content_type: get("content-type"),
        request_id: get("x-request-id"),
        text: body.to_string(),
    };
    (answer, headers)
}

/// Send `body` as JSON (or raw bytes with `content_type`) with a Bearer token.
async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Response {
    let mut req = server.bearer(method, path, token).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.unwrap()
}

const JSON: Option<&str> = Some("application/json");

/// Collects every problem body of a test so the leak check sees them all.
struct Seen(Vec<Value>);

impl Seen {
    async fn expect(&mut self, resp: Response, status: u16, code: &str) -> Value {
        let body = problem(resp, status, code).await;
        self.0.push(body.clone());
        body
    }

    /// None of the bodies mentions the data dir or internal machinery.
    fn assert_no_leaks(&self, server: &TestServer) {
        let data_dir = server.data_dir.to_str().unwrap();
        for body in &self.0 {
            let text = body.to_string();
            for needle in [
                data_dir,
                "redb",
                "panicked",
                "alchemist.redb",
                "RUST_BACKTRACE",
            ] {
                assert!(!text.contains(needle), "problem leaks `{needle}`: {text}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_body_rejections_are_problems() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let mut seen = Seen(Vec::new());
    let prio = "/api/jobs/1/priority";

    // Malformed JSON.
    for bad in ["{\"priority\":", "not json", "{\"priority\": 1,}", ""] {
        let r = send(&server, Method::POST, prio, &token, JSON, bad).await;
        seen.expect(r, 400, "MALFORMED_JSON").await;
    }
    let r = send(&server, Method::POST, "/api/engine/mode", &token, JSON, "[").await;
    seen.expect(r, 400, "MALFORMED_JSON").await;

    // Well-formed JSON of the wrong shape: wrong types, out of range, missing or unknown
    // fields, unknown enum values. All 400 VALIDATION_FAILED (never 422, never 5xx).
    let wrong: &[(&str, Value)] = &[
        (prio, json!({"priority": "high"})),
        (prio, json!({"priority": 1.5})),
        (prio, json!({"priority": 3_000_000_000u64})),
        (prio, json!({"priority": null})),
        (prio, json!({})),
        (prio, json!({"priority": 1, "bogus": true})),
        ("/api/engine/mode", json!({"mode": "turbo"})),
        (
            "/api/engine/mode",
            json!({"mode": "balanced", "threads_override": "2"}),
        ),
        (
            "/api/engine/mode",
            json!({"mode": "balanced", "concurrent_jobs_override": 1e30}),
        ),
        ("/api/engine/mode", json!({"mode": "balanced", "extra": 1})),
        ("/api/jobs/batch", json!({"action": "explode", "ids": [1]})),
        ("/api/jobs/batch", json!({"action": "cancel", "ids": [-1]})),
        ("/api/jobs/batch", json!({"action": "cancel", "ids": "1,2"})),
        (
            "/api/jobs/batch",
            json!({"action": "cancel", "ids": [], "x": 0}),
        ),
        ("/api/jobs/enqueue", json!({"path": 5})),
        (
            "/api/jobs/enqueue",
            json!({"path": "/x.mkv", "priority": 1}),
        ),
        (
            "/api/library/folders",
            json!({"path": "/tmp", "recursive": "yes"}),
        ),
        ("/api/library/folders", json!({"path": "/tmp", "glob": "*"})),
        (
            "/api/settings/api-tokens",
            json!({"name": "x", "access_level": "admin"}),
        ),
        (
            "/api/settings/api-tokens",
            json!({"name": "x", "access_level": "read_only", "expires": 1}),
        ),
        ("/api/auth/login", json!({"username": "admin"})),
        (
            "/api/auth/login",
            json!({"username": "admin", "password": "x", "remember": true}),
        ),
    ];
    for (path, body) in wrong {
        let r = server.post_json(path, &token, body.clone()).await;
        let p = seen.expect(r, 400, "VALIDATION_FAILED").await;
        assert!(!p["detail"].as_str().unwrap().is_empty(), "{path} {body}");
    }

    // A wrong or missing content type: 415.
    let body = r#"{"priority": 1}"#;
    let r = send(&server, Method::POST, prio, &token, None, body).await;
    seen.expect(r, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    let r = send(
        &server,
        Method::POST,
        prio,
        &token,
        Some("text/plain"),
        body,
    )
    .await;
    seen.expect(r, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    let form = Some("application/x-www-form-urlencoded");
    let r = send(
        &server,
        Method::POST,
        "/api/engine/mode",
        &token,
        form,
        "mode=x",
    )
    .await;
    seen.expect(r, 415, "UNSUPPORTED_MEDIA_TYPE").await;
    // ...while a charset parameter is fine (the job does not exist: 404, after parsing).
    let utf8 = Some("application/json; charset=utf-8");
    let r = send(&server, Method::POST, prio, &token, utf8, body).await;
    seen.expect(r, 404, "JOB_NOT_FOUND").await;

    // Bodies over 1 MiB: 413. Announced by Content-Length, the answer comes at once, on every
    // route (public ones, routes that read no body), and nothing happens. The connection is
    // closed after it, since the body was never read.
    let auth = format!("Authorization: Bearer {token}\r\nContent-Type: application/json\r\n");
    for path in [
        "/api/jobs/1/priority",
        "/api/auth/login",
        "/api/engine/pause",
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\n{auth}Content-Length: {}\r\n",
            2 << 20
        );
        let (answer, headers) = raw_exchange(&server, &head, b"").await;
        seen.0
            .push(check_problem(path, answer, 413, Some("BODY_TOO_LARGE")));
        assert!(
            headers
                .iter()
                .any(|(k, v)| k == "connection" && v == "close"),
            "{path}: {headers:?}"
        );
    }
    let status = server.get_json("/api/engine/status", &token).await;
    assert_eq!(status["status"], "running", "the refused pause did nothing");
    // A chunked body is cut off by the JSON extractor once it passes the limit.
    let head = format!("POST {prio} HTTP/1.1\r\n{auth}Transfer-Encoding: chunked\r\n");
    let over = (1 << 20) + 1;
    let mut body = format!("{over:x}\r\n").into_bytes();
    body.resize(body.len() + over, b' ');
    let (answer, _) = raw_exchange(&server, &head, &body).await;
    seen.0
        .push(check_problem(prio, answer, 413, Some("BODY_TOO_LARGE")));
    // Just under the limit is parsed (and then refused for its unknown field, not its size).
    let under = format!(
        r#"{{"priority": 1, "pad": "{}"}}"#,
        "x".repeat((1 << 20) - 64)
    );
    let r = send(&server, Method::POST, prio, &token, JSON, under).await;
    seen.expect(r, 400, "VALIDATION_FAILED").await;

    seen.assert_no_leaks(&server);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_and_parameter_errors_are_problems() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let mut seen = Seen(Vec::new());

    // Bad path parameters: 400 before anything else happens.
    let bad_paths = [
        (Method::GET, "/api/jobs/abc/details"),
        (Method::GET, "/api/jobs/-1/details"),
        (Method::GET, "/api/jobs/1.5/details"),
        (Method::GET, "/api/jobs/99999999999999999999999/details"),
        (Method::GET, "/api/v1/jobs/abc/details"),
        (Method::POST, "/api/jobs/abc/cancel"),
        (Method::POST, "/api/jobs/abc/restart"),
        (Method::DELETE, "/api/library/folders/x"),
        (Method::DELETE, "/api/settings/api-tokens/%20"),
    ];
    for (method, path) in bad_paths {
        let r = server.bearer(method, path, &token).send().await.unwrap();
        seen.expect(r, 400, "INVALID_PATH_PARAMETER").await;
    }
    let r = server
        .post_json("/api/jobs/x/priority", &token, json!({"priority": 1}))
        .await;
    seen.expect(r, 400, "INVALID_PATH_PARAMETER").await;

    // Unknown routes under /api: 404 problem, with or without credentials, any method.
    for path in [
        "/api/nope",
        "/api",
        "/api/",
        "/api/v1",
        "/api/v1/nope",
        "/api/jobs/1",
        "/api/jobs/1/details/more",
        "/api/v2/jobs",
        "/api/engine/status/",
    ] {
        let r = server
            .bearer(Method::GET, path, &token)
            .send()
            .await
            .unwrap();
        seen.expect(r, 404, "ROUTE_NOT_FOUND").await;
        let r = server.http.get(server.url(path)).send().await.unwrap();
        seen.expect(r, 404, "ROUTE_NOT_FOUND").await;
    }
    let r = server.post_json("/api/nope", &token, json!({})).await;
    seen.expect(r, 404, "ROUTE_NOT_FOUND").await;

    // A known route with the wrong method: 405 problem with an Allow header.
    let wrong_methods = [
        (Method::DELETE, "/api/engine/status", "GET"),
        (Method::GET, "/api/engine/pause", "POST"),
        (Method::PUT, "/api/jobs", "GET"),
        (Method::POST, "/api/health", "GET"),
        (Method::GET, "/api/auth/login", "POST"),
        (Method::PATCH, "/api/library/folders", "GET"),
        (Method::GET, "/api/jobs/1/cancel", "POST"),
        (Method::POST, "/api/v1/engine/status", "GET"),
        (Method::POST, "/metrics", "GET"),
        (Method::DELETE, "/metrics", "GET"),
    ];
    for (method, path, allowed) in wrong_methods {
        let r = server
            .bearer(method.clone(), path, &token)
            .send()
            .await
            .unwrap();
        let allow = header(&r, "allow");
        assert!(
            allow.split(',').any(|m| m.trim() == allowed),
            "{method} {path}: Allow header `{allow}` lacks {allowed}"
        );
        let p = seen.expect(r, 405, "METHOD_NOT_ALLOWED").await;
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("{method} is not allowed on {path}.")),
            "the detail names the path as sent: {detail}"
        );
    }

    // Query parameters of the job list.
    for (query, code) in [
        ("status=done", "INVALID_JOB_STATUS_FILTER"),
        ("status=queued,", "INVALID_JOB_STATUS_FILTER"),
        ("status=QUEUED", "INVALID_JOB_STATUS_FILTER"),
        ("sort_by=name", "INVALID_QUERY"),
        ("sort_desc=maybe", "INVALID_QUERY"),
        ("archived=2", "INVALID_QUERY"),
        ("limit=ten", "INVALID_QUERY"),
        ("limit=-1", "INVALID_QUERY"),
        ("page=1.5", "INVALID_QUERY"),
        ("page=99999999999999999999999", "INVALID_QUERY"),
        ("limit=1&limit=2", "INVALID_QUERY"),
    ] {
        let r = server
            .bearer(Method::GET, &format!("/api/jobs?{query}"), &token)
            .send()
            .await
            .unwrap();
        seen.expect(r, 400, code).await;
    }
    // Extreme but valid numbers do not overflow into a 5xx.
    let r = server
        .bearer(
            Method::GET,
            "/api/jobs?page=18446744073709551615&limit=200",
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]));

    // Handler-level validation.
    for body in [
        json!({"mode": "balanced", "concurrent_jobs_override": -1}),
        json!({"mode": "balanced", "threads_override": -4}),
        json!({"mode": "throughput", "concurrent_jobs_override": 100000}),
    ] {
        let r = server.post_json("/api/engine/mode", &token, body).await;
        seen.expect(r, 400, "VALIDATION_FAILED").await;
    }
    let status = server.get_json("/api/engine/status", &token).await;
    assert_eq!(
        status["is_manual_override"], false,
        "refused modes change nothing"
    );
    for body in [json!({"path": "relative/x.mkv"}), json!({"path": ""})] {
        let r = server.post_json("/api/jobs/enqueue", &token, body).await;
        seen.expect(r, 400, "VALIDATION_FAILED").await;
    }
    for name in ["", "   ", &"n".repeat(101)] {
        let r = server
            .post_json(
                "/api/settings/api-tokens",
                &token,
                json!({"name": name, "access_level": "read_only"}),
            )
            .await;
        seen.expect(r, 400, "VALIDATION_FAILED").await;
    }
    // Unknown resources.
    let r = server
        .bearer(Method::GET, "/api/jobs/424242/details", &token)
        .send()
        .await
        .unwrap();
    seen.expect(r, 404, "JOB_NOT_FOUND").await;
    for path in ["/api/jobs/424242/cancel", "/api/jobs/424242/restart"] {
        let r = server.post_json(path, &token, json!({})).await;
        seen.expect(r, 404, "JOB_NOT_FOUND").await;
    }

    // Authentication failures.
    let r = server
        .http
        .get(server.url("/api/jobs"))
        .send()
        .await
        .unwrap();
    seen.expect(r, 401, "AUTH_REQUIRED").await;
    let r = server
        .bearer(Method::GET, "/api/jobs", "not-a-token")
        .send()
        .await
        .unwrap();
    seen.expect(r, 401, "AUTH_INVALID_TOKEN").await;
    let r = server
        .http
        .get(server.url("/api/jobs"))
        .header("authorization", "Basic YWRtaW46eA==")
        .send()
        .await
        .unwrap();
    seen.expect(r, 401, "AUTH_REQUIRED").await;

    // Folders that cannot be added: details name the offending path, not the data dir.
    let missing = server.tmp.path().join("missing-folder");
    let r = server
        .post_json(
            "/api/library/folders",
            &token,
            json!({"path": missing.to_str().unwrap()}),
        )
        .await;
    seen.expect(r, 400, "FOLDER_INVALID").await;

    seen.assert_no_leaks(&server);
    server.stop().await;
}
