//! Hostile input to every route of the OpenAPI document (iterated, so new routes are covered
//! without editing this file) and to the HTML pages: fuzzed JSON bodies (wrong types, deep
//! nesting, huge strings, invalid UTF-8, NaN-like numbers, duplicate and extra fields), path
//! traversal in path segments, query parameters and every path-like body field, huge and
//! numerous headers, oversized bodies. Nothing may answer 5xx, API errors are problem+json, and
//! nothing outside the test's temp dirs is read into a job or touched. Symlinks out of a
//! library folder are neither followed by a scan nor accepted by an enqueue.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::files::{library, sha256};
use crate::support::jobs::{job_id_by_name, start_scan};
use crate::support::openapi::{document, operations};
use crate::support::raw::{RawAnswer, assert_problem, raw};
use crate::support::rng::Rng;
use crate::support::{ADMIN, PASSWORD, TestServer};

/// Path segments put where a path parameter goes.
const SEGMENTS: &[&str] = &[
    "..",
    "%2e%2e",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%5c..%5cwindows",
    "%00",
    "1%00",
    "-1",
    "0",
    "18446744073709551616",
    "1e3",
    "0x10",
    "%ff%fe",
    "%20",
    "1;id",
    "%0d%0aX-Injected:%201",
];

/// Query values.
const QUERY_VALUES: &[&str] = &[
    "%00",
    "%ff",
    "-1",
    "99999999999999999999999999",
    "..%2f..%2fetc%2fpasswd",
    "%27%20OR%201=1--",
    "[]",
    "true",
    "",
];

/// JSON values of every type, for any field.
fn wrong_values() -> Vec<Value> {
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!([deep]);
    }
    vec![
        json!("x"),
        json!(-1),
        json!(1.5),
        json!(1e300),
        json!(-0.0),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(true),
        json!(null),
        json!([]),
        json!({}),
        json!([1, "two", null]),
        json!({"nested": {"deeper": [1]}}),
        json!("x".repeat(200_000)),
        json!("\u{0}\u{1}\u{7f}\u{202e}"),
        deep,
    ]
}

/// Values for fields that hold a file system path.
fn path_values(inside: &Path, outside: &Path) -> Vec<String> {
    let inside = inside.to_str().unwrap();
    let outside = outside.to_str().unwrap();
    vec![
        "../../etc/passwd".into(),
        "/etc/passwd".into(),
        "/etc/shadow".into(),
        "/proc/self/environ".into(),
        "//etc/passwd".into(),
        "/./etc/../etc/passwd".into(),
        "\\..\\..\\etc\\passwd".into(),
        format!("{inside}/../../../../etc/passwd"),
        format!("{inside}/%2e%2e/%2e%2e/etc/passwd"),
        format!("{inside}/..%2f..%2fetc%2fpasswd"),
        format!("{inside}/real.mkv\u{0}/../../etc/passwd"),
        format!("{outside}/secret.mkv"),
        format!(
            "{inside}/../{}/secret.mkv",
            Path::new(outside).file_name().unwrap().to_str().unwrap()
        ),
        format!("{inside}/{}", "a/".repeat(3000)),
        format!("{inside}/\n/../x.mkv"),
        "/nonexistent/../../etc".into(),
    ]
}

/// Raw bodies that are not (valid) JSON objects.
fn raw_bodies() -> Vec<Vec<u8>> {
    vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"[".repeat(100_000),
        format!("{}1{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        format!("{}{}", "{\"a\":".repeat(5000), "}".repeat(5000)).into_bytes(),
        br#"{"x": NaN}"#.to_vec(),
        br#"{"x": Infinity}"#.to_vec(),
        br#"{"x": -Infinity}"#.to_vec(),
        br#"{"x": 1e999}"#.to_vec(),
        br#"{"x": 0x10}"#.to_vec(),
        b"{\"name\": \"\xff\xfe\", \"path\": \"/\xc0\xaf\"}".to_vec(),
        b"\xef\xbb\xbf{}".to_vec(),
        b"null".to_vec(),
        b"\"string\"".to_vec(),
        b"12345".to_vec(),
        b"[]".to_vec(),
        br#"{"priority": 1, "priority": 2}"#.to_vec(),
        br#"{"zzz_unknown": 1}"#.to_vec(),
        format!("{{\"{}\": 1}}", "k".repeat(500_000)).into_bytes(),
        b"{\"a\":1}\x00garbage".to_vec(),
    ]
}

/// No 5xx; an API error is a problem document, a page error is HTML.
fn check(what: &str, path: &str, a: &RawAnswer) {
    assert!(a.status < 500, "{what}: {} {}", a.status, a.text());
    if a.status >= 400 {
        if path.starts_with("/api") || path.starts_with("/metrics") {
            assert_problem(what, a.header("content-type"), a.status, &a.text());
        } else if a
            .header("content-type")
            .starts_with("application/problem+json")
        {
            // The pages share the API's path extractor, so a malformed id in a page URL is
            // answered with the API's problem document rather than an HTML error page.
            assert_problem(what, a.header("content-type"), a.status, &a.text());
        } else if !(a.status == 405 && a.body.is_empty()) {
            assert!(
                a.header("content-type").starts_with("text/html"),
                "{what}: {} {:?}",
                a.status,
                a.headers
            );
        }
    }
    let text = a.text();
    assert!(
        !text.contains("root:x:0:0") && !text.contains("[package]"),
        "{what}: a file's content leaked: {text:.200}"
    );
}

async fn send_raw(
    server: &TestServer,
    method: &str,
    target: &str,
    token: &str,
    extra: &[u8],
    body: &[u8],
) -> RawAnswer {
    let mut head = format!("{method} {target} HTTP/1.1\r\n").into_bytes();
    if !token.is_empty() {
        head.extend_from_slice(format!("Authorization: Bearer {token}\r\n").as_bytes());
    }
    head.extend_from_slice(extra);
    if method != "GET" && method != "HEAD" {
        head.extend_from_slice(
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
            .as_bytes(),
        );
    }
    raw(server, &head, body)
        .await
        .unwrap_or_else(|| panic!("{method} {target}: connection closed without an answer"))
}

/// A server with the engine paused, a library with one file queued, and a directory outside
/// every library holding a video file and a sentinel.
struct Setup {
    server: TestServer,
    token: String,
    lib: PathBuf,
    outside: tempfile::TempDir,
    outside_state: Vec<(String, String)>,
}

async fn setup() -> Setup {
    let server = TestServer::start().await;
    let token = server.login().await;
    let r = server
        .post_json("/api/engine/pause", &token, json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let lib = library(server.tmp.path());
    std::fs::write(lib.join("real.mkv"), b"not really a video").unwrap();
    std::fs::create_dir(lib.join("sub")).unwrap();
    std::fs::write(lib.join("sub/inner.mkv"), b"not a video either").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.mkv"), b"outside the library").unwrap();
    std::fs::create_dir(outside.path().join("dir")).unwrap();
    std::fs::write(outside.path().join("dir/secret2.mkv"), b"also outside").unwrap();
    std::fs::write(outside.path().join("sentinel.txt"), b"do not touch").unwrap();
    let outside_state = tree(outside.path());
    server.add_folder(&token, &lib).await;
    Setup {
        server,
        token,
        lib,
        outside,
        outside_state,
    }
}

/// (relative path, sha256) of every file under `dir`, and the names of directories.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in walk(dir) {
        let rel = e.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        let sum = if e.is_file() {
            sha256(&e)
        } else {
            "dir".into()
        };
        out.push((rel, sum));
    }
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        out.push(p.clone());
        if meta.is_dir() {
            out.extend(walk(&p));
        }
    }
    out
}

impl Setup {
    /// Nothing outside the library was touched or became a job or a folder.
    async fn assert_contained(&self) {
        assert_eq!(
            tree(self.outside.path()),
            self.outside_state,
            "outside dir changed"
        );
        let jobs = self
            .server
            .get_json("/api/jobs?limit=200&archived=false", &self.token)
            .await;
        let archived = self
            .server
            .get_json("/api/jobs?limit=200&archived=true", &self.token)
            .await;
        for j in jobs
            .as_array()
            .unwrap()
            .iter()
            .chain(archived.as_array().unwrap())
        {
            let p = j["input_path"].as_str().unwrap();
            assert!(
                p.starts_with(self.lib.to_str().unwrap()),
                "job outside: {j}"
            );
        }
        let folders = self
            .server
            .get_json("/api/library/folders", &self.token)
            .await;
        for f in folders.as_array().unwrap() {
            assert_eq!(f["path"], self.lib.to_str().unwrap(), "{folders}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_survives_hostile_paths_queries_bodies_and_headers() {
    let started = std::time::Instant::now();
    let s = setup().await;
    let (server, token) = (&s.server, s.token.as_str());
    let doc = document(server).await;
    let ops = operations(&doc);
    let mut sent = 0usize;
    let mut rng = Rng::new(7);

    for op in &ops {
        let method = op.method.as_str();
        // The session must survive the run: logout is sent without credentials.
        let auth = if op.template.ends_with("/auth/logout") {
            ""
        } else {
            token
        };
        // Event streams stay open while the client listens: their answers are read as far
        // as the status line, never to the end.
        let is_stream = matches!(
            op.template.as_str(),
            "/api/events" | "/api/system/logs/stream"
        );

        // 1. Hostile path parameters (and traversal inserted into fixed paths).
        let mut targets = Vec::new();
        if op.template.contains('{') {
            for seg in SEGMENTS {
                let t: Vec<&str> = op
                    .template
                    .split('/')
                    .map(|p| if p.starts_with('{') { *seg } else { p })
                    .collect();
                targets.push(t.join("/"));
            }
            targets.push(op.path.replacen('1', &"9".repeat(5000), 1));
        }
        targets.push(format!("{}/../../../etc/passwd", op.path));
        targets.push(format!("{}/%2e%2e/%2e%2e/etc/passwd", op.path));
        targets.push(op.path.replacen("/api/", "/api/../api/", 1));
        targets.push(op.path.replacen("/api/", "/api/%2e%2e/", 1));
        targets.push(format!("{}?{}", op.path, "x=1&".repeat(2000)));
        for target in &targets {
            if is_stream && !target.contains("..") && !target.contains('%') {
                continue; // the stream itself stays open; its headers are checked below
            }
            let a = send_raw(server, method, target, auth, b"", b"{}").await;
            let what = format!("{method} {target:.120}");
            if !(is_stream && a.status == 200) {
                check(&what, target, &a);
            }
            sent += 1;
        }

        // 2. Hostile query values for every documented query parameter.
        let params: Vec<String> = doc["paths"][&op.template][method.to_lowercase()]["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "query")
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        for name in &params {
            for v in QUERY_VALUES {
                let target = format!("{}?{name}={v}", op.path);
                if is_stream {
                    // A value the stream takes opens it: the status is all there is to check.
                    let r = server
                        .bearer(Method::GET, &target, token)
                        .send()
                        .await
                        .unwrap_or_else(|e| panic!("GET {target}: {e}"));
                    assert!(
                        r.status().is_success() || r.status().is_client_error(),
                        "GET {target}: {}",
                        r.status()
                    );
                    sent += 1;
                    continue;
                }
                let a = send_raw(server, method, &target, auth, b"", b"").await;
                check(&format!("{method} {target}"), &target, &a);
                sent += 1;
            }
        }
        if is_stream {
            for v in [
                "-1",
                "abc",
                "18446744073709551615",
                "99999999999999999999",
                "\u{0}",
            ] {
                let r = server
                    .bearer(Method::GET, &op.path, token)
                    .header("last-event-id", v.replace('\u{0}', ""))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200, "Last-Event-ID {v:?}");
                sent += 1;
            }
            continue;
        }
        if op.method == Method::GET {
            continue;
        }

        // 3. Fuzzed JSON: every documented field with values of every type, path-like
        // fields with traversal, then raw bodies that are not JSON objects at all.
        let schema = &doc["paths"][&op.template][method.to_lowercase()]["requestBody"]["content"]["application/json"]
            ["schema"]["$ref"];
        let fields: Vec<String> = schema
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .and_then(|name| doc["components"]["schemas"][name]["properties"].as_object())
            .map(|props| props.keys().cloned().collect())
            .unwrap_or_default();
        let mut bodies: Vec<Vec<u8>> = raw_bodies();
        for field in &fields {
            for v in wrong_values() {
                bodies.push(serde_json::to_vec(&json!({ field.as_str(): v })).unwrap());
            }
            if field.contains("path") {
                for p in path_values(&s.lib, s.outside.path()) {
                    bodies.push(serde_json::to_vec(&json!({ field.as_str(): p })).unwrap());
                }
            }
            // Every documented field at once, plus one that is not.
            let mut all = serde_json::Map::new();
            for f in &fields {
                all.insert(f.clone(), json!(rng.below(3)));
            }
            all.insert("__proto__".into(), json!({"admin": true}));
            bodies.push(serde_json::to_vec(&all).unwrap());
        }
        for body in &bodies {
            let a = send_raw(server, method, &op.path, auth, b"", body).await;
            let what = format!(
                "{method} {} with {:.80}",
                op.path,
                String::from_utf8_lossy(body)
            );
            check(&what, &op.path, &a);
            sent += 1;
        }

        // 4. An announced body over the limit. The update upload takes bundles up to
        // `MAX_BUNDLE_BYTES` (1 GiB): announce more than that. Off the appliance it first says
        // updates are unavailable here (409), which also writes nothing.
        // A backup to restore may be up to `MAX_ARCHIVE_BYTES` (4 GiB): announce more.
        let bundle = op.path.ends_with("/system/update");
        let archive = op.path.ends_with("/system/restore");
        let announced: u64 = if bundle {
            (1 << 30) + 1
        } else if archive {
            (4 << 30) + 1
        } else {
            3 << 20
        };
        let head = format!(
            "{method} {} HTTP/1.1\r\nAuthorization: Bearer {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: {announced}\r\n",
            op.path,
        );
        let a = raw(server, head.as_bytes(), b"").await.expect("413 answer");
        let want: &[u16] = if bundle { &[409, 413] } else { &[413] };
        assert!(
            want.contains(&a.status),
            "{method} {}: {}",
            op.path,
            a.status
        );
        check(
            &format!("{method} {} {announced} bytes", op.path),
            &op.path,
            &a,
        );
        sent += 1;
    }

    // 5. Headers: huge, many, binary, in the places the server reads.
    let big = "a".repeat(64 * 1024);
    let many: String = (0..300).map(|i| format!("X-Many-{i}: {i}\r\n")).collect();
    let header_cases: Vec<(String, Vec<u8>)> = vec![
        (
            "64 KiB header".into(),
            format!("X-Big: {big}\r\n").into_bytes(),
        ),
        (
            "1 MiB header".into(),
            format!("X-Big: {}\r\n", "b".repeat(1 << 20)).into_bytes(),
        ),
        ("300 headers".into(), many.into_bytes()),
        (
            "64 KiB cookie".into(),
            format!("Cookie: alchemist_session={big}\r\n").into_bytes(),
        ),
        (
            "1000 cookies".into(),
            format!(
                "Cookie: {}\r\n",
                (0..1000)
                    .map(|i| format!("c{i}=v"))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
            .into_bytes(),
        ),
        (
            "64 KiB request id".into(),
            format!("X-Request-Id: {big}\r\n").into_bytes(),
        ),
        (
            "binary request id".into(),
            b"X-Request-Id: \xff\xfe\x01\r\n".to_vec(),
        ),
        (
            "64 KiB content type".into(),
            format!("X-Ct: {big}\r\n").into_bytes(),
        ),
        (
            "64 KiB origin".into(),
            format!("Origin: http://{big}\r\n").into_bytes(),
        ),
        (
            "64 KiB last-event-id".into(),
            format!("Last-Event-ID: {big}\r\n").into_bytes(),
        ),
    ];
    let mut header_answers = std::collections::BTreeMap::new();
    for (name, extra) in &header_cases {
        for (method, path) in [
            ("GET", "/api/jobs"),
            ("POST", "/api/jobs/batch"),
            ("GET", "/jobs"),
        ] {
            let mut head = format!("{method} {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\n")
                .into_bytes();
            head.extend_from_slice(extra);
            head.extend_from_slice(b"Content-Type: application/json\r\nContent-Length: 2\r\n");
            // Refusing to parse a head this large by closing the connection is fine too.
            let outcome = match raw(server, &head, b"{}").await {
                None => "closed".to_string(),
                Some(a) => {
                    assert!(a.status < 500, "{name} {method} {path}: {}", a.status);
                    // hyper refuses heads it will not parse with a bare 431/400 of its own.
                    let bare = matches!(a.status, 400 | 431) && a.header("content-type").is_empty();
                    if !bare {
                        check(&format!("{name} {method} {path}"), path, &a);
                    }
                    assert!(
                        a.header("x-request-id").len() <= 128,
                        "{name}: a huge request id is not echoed"
                    );
                    a.status.to_string()
                }
            };
            *header_answers
                .entry(format!("{name}: {outcome}"))
                .or_insert(0) += 1;
            sent += 1;
        }
    }
    // Credentials in odd shapes: never a 5xx, never accepted.
    let auth_cases: Vec<Vec<u8>> = vec![
        format!("Authorization: Bearer {big}\r\n").into_bytes(),
        format!("Authorization: Bearer alc_{big}\r\n").into_bytes(),
        b"Authorization: Bearer \xff\xfe\xfd\r\n".to_vec(),
        b"Authorization: Bearer\r\n".to_vec(),
        b"Authorization: \r\n".to_vec(),
        format!("Authorization: Basic {big}\r\n").into_bytes(),
    ];
    for extra in &auth_cases {
        let a = send_raw(server, "GET", "/api/jobs", "", extra, b"").await;
        assert_eq!(
            a.status,
            401,
            "{}",
            String::from_utf8_lossy(&extra[..40.min(extra.len())])
        );
        check("odd credentials", "/api/jobs", &a);
        sent += 1;
    }

    // 6. The pages and static files: traversal in every path segment.
    for target in [
        "/static/../../../../etc/passwd",
        "/static/..%2f..%2f..%2fCargo.toml",
        "/static/%2e%2e/%2e%2e/Cargo.toml",
        "/jobs/..%2f..%2fetc%2fpasswd",
        "/jobs/%00",
        "/jobs/1/..%2f..%2fetc",
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/login?next=..%2f..%2f",
        "/tokens/1/revoke/../../../etc/passwd",
    ] {
        for method in ["GET", "POST"] {
            let a = send_raw(server, method, target, token, b"", b"").await;
            check(&format!("{method} {target}"), target, &a);
            sent += 1;
        }
    }

    // The server is well, and nothing outside the library was touched.
    let r = server
        .http
        .get(server.url("/api/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.assert_contained().await;
    eprintln!(
        "hostile: {} documented operations, {sent} hostile requests, header answers \
         {header_answers:?}, in {:.1} s",
        ops.len(),
        started.elapsed().as_secs_f64()
    );
    s.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_and_traversal_cannot_leave_the_library() {
    use std::os::unix::fs::symlink;
    let s = setup().await;
    let (server, token, lib) = (&s.server, s.token.as_str(), &s.lib);
    let outside = s.outside.path();
    symlink(outside.join("secret.mkv"), lib.join("link.mkv")).unwrap();
    symlink(outside, lib.join("linkdir")).unwrap();
    symlink(outside.join("dir"), lib.join("sub/linkdir2")).unwrap();
    symlink(lib.join("real.mkv"), lib.join("alias.mkv")).unwrap();
    symlink(lib, lib.join("sub/loop")).unwrap();
    symlink("/nonexistent/x.mkv", lib.join("dangling.mkv")).unwrap();
    symlink("/etc/passwd", lib.join("passwd.mkv")).unwrap();
    symlink("../../../../../../etc/passwd", lib.join("relative.mkv")).unwrap();

    // A scan sees the two real files only: no symlink is queued or followed, and the loop
    // does not hang it.
    let mut sse = server.events(token, None).await;
    start_scan(server, token).await;
    let (done, _) = sse
        .until(std::time::Duration::from_secs(30), |e| {
            e.event == "scan_completed"
        })
        .await;
    assert_eq!(done.data["found"], 2, "{}", done.data);
    let jobs = server.get_json("/api/jobs?limit=200", token).await;
    let mut paths: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["input_path"].as_str().unwrap())
        .collect();
    paths.sort();
    let real = lib.join("real.mkv");
    let inner = lib.join("sub/inner.mkv");
    assert_eq!(paths, vec![real.to_str().unwrap(), inner.to_str().unwrap()]);
    let real_id = job_id_by_name(server, token, "real.mkv").await;

    // Enqueue: the real path decides. Whatever resolves outside is refused (403; 404 for what
    // does not exist inside); a symlink inside the library to a file inside it is the same job.
    let outside_name = outside.file_name().unwrap().to_str().unwrap();
    let refused = [
        outside.join("secret.mkv"),
        lib.join("link.mkv"),
        lib.join("linkdir/secret.mkv"),
        lib.join("linkdir/dir/secret2.mkv"),
        lib.join("sub/linkdir2/secret2.mkv"),
        lib.join("passwd.mkv"),
        lib.join("relative.mkv"),
        lib.join(format!("../{outside_name}/secret.mkv")),
        lib.join("sub/../../../../etc/passwd"),
        lib.join("sub/loop/link.mkv"),
        lib.join("sub/loop/sub/loop/linkdir/secret.mkv"),
        PathBuf::from("/etc/passwd"),
        PathBuf::from("/proc/self/environ"),
    ];
    for p in &refused {
        let r = server
            .post_json(
                "/api/jobs/enqueue",
                token,
                json!({"path": p.to_str().unwrap()}),
            )
            .await;
        let status = r.status().as_u16();
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        let text = r.text().await.unwrap();
        assert_eq!(status, 403, "{p:?}: {text}");
        let body = assert_problem(&format!("enqueue {p:?}"), &ct, status, &text);
        assert!(
            !text.contains("root:") && !body["detail"].as_str().unwrap().contains("secret2"),
            "{text}"
        );
    }
    for p in [
        lib.join("dangling.mkv"),
        lib.join("missing.mkv"),
        lib.join("%2e%2e/%2e%2e/etc/passwd"),
    ] {
        let r = server
            .post_json(
                "/api/jobs/enqueue",
                token,
                json!({"path": p.to_str().unwrap()}),
            )
            .await;
        let status = r.status().as_u16();
        // ENQUEUE_PATH_NOT_FOUND is a 400; what exists outside is 403 as above.
        assert!(matches!(status, 400 | 403 | 404), "{p:?}: {status}");
    }
    for p in [
        lib.join("alias.mkv"),
        lib.join("sub/loop/real.mkv"),
        lib.join("sub/../real.mkv"),
    ] {
        let r = server
            .post_json(
                "/api/jobs/enqueue",
                token,
                json!({"path": p.to_str().unwrap()}),
            )
            .await;
        assert_eq!(r.status(), 200, "{p:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["id"], real_id,
            "{p:?} resolves to the real file: {body}"
        );
        assert_eq!(body["enqueued"], false, "{body}");
    }
    // NUL bytes and other unrepresentable paths are refused without a 5xx.
    for p in [
        format!("{}/real.mkv\u{0}.mkv", lib.display()),
        format!("{}/\u{0}/../../etc/passwd", lib.display()),
        format!("{}/{}.mkv", lib.display(), "n".repeat(5000)),
    ] {
        let r = server
            .post_json("/api/jobs/enqueue", token, json!({ "path": p }))
            .await;
        let status = r.status().as_u16();
        assert!((400..500).contains(&status), "{p:.80}: {status}");
    }
    // A second scan agrees, and the symlink targets are untouched.
    start_scan(server, token).await;
    let (done, _) = sse
        .until(std::time::Duration::from_secs(30), |e| {
            e.event == "scan_completed"
        })
        .await;
    assert_eq!(
        (done.data["found"].as_u64(), done.data["queued"].as_u64()),
        (Some(2), Some(0))
    );
    s.assert_contained().await;
    eprintln!(
        "symlinks: 8 symlinks ignored by the scan, {} escaping paths refused",
        refused.len() + 6
    );
    drop(sse);
    s.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_form_redirects_only_to_local_pages() {
    let server = TestServer::start().await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Browsers drop tabs and newlines from URLs, so `/\t/evil` is `//evil`: another site.
    let targets = [
        "//evil.example/",
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\r\nSet-Cookie: injected=1",
        "/\\evil.example",
        "https://evil.example/",
        "/%2F%2Fevil.example",
        "/jobs?page=2",
    ];
    for next in targets {
        let form = form_body(&[("username", ADMIN), ("password", PASSWORD), ("next", next)]);
        let r = no_redirect
            .post(server.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!(status < 500, "next {next:?}: {status}");
        assert!(r.headers().get("injected").is_none());
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let as_browser: String = location
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        assert!(
            as_browser.starts_with('/')
                && !as_browser.starts_with("//")
                && !as_browser.contains('\\')
                && !location.chars().any(|c| c.is_control()),
            "next {next:?} redirected to {location:?}"
        );
        for c in r.headers().get_all("set-cookie") {
            assert!(!c.to_str().unwrap().contains("injected"), "{c:?}");
        }
    }
    server.stop().await;
}

/// `application/x-www-form-urlencoded`: everything but unreserved characters percent-encoded.
fn form_body(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
