//! Authentication and authorization as CONTRACT.md describes them: login and its cookie,
//! indistinguishable failures, per-client throttling, logout, cookie and Bearer credentials,
//! public and protected routes (enumerated from the OpenAPI document), API tokens and their
//! access levels, and the same-origin rule for cookie-authenticated mutations.

use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::support::api::{header, problem};
use crate::support::openapi::{document, operations};
use crate::support::shapes::{T, check, time_of};
use crate::support::{ADMIN, PASSWORD, TestServer};

async fn login_as(server: &TestServer, username: &str, password: &str) -> Response {
    server
        .http
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

/// Create an API token with the session `token`; returns (id, plaintext).
async fn create_token(server: &TestServer, token: &str, name: &str, level: &str) -> (u64, String) {
    let r = server
        .post_json(
            "/api/settings/api-tokens",
            token,
            json!({"name": name, "access_level": level}),
        )
        .await;
    assert_eq!(r.status(), 201, "create token");
    let body: Value = r.json().await.unwrap();
    check(
        &body,
        "created token",
        &[("token", T::Obj), ("plaintext_token", T::Str)],
    );
    check_token_view(&body["token"]);
    assert_eq!(body["token"]["name"], name);
    assert_eq!(body["token"]["access_level"], level);
    assert!(body["token"]["last_used_at"].is_null());
    assert!(body["token"]["revoked_at"].is_null());
    let plaintext = body["plaintext_token"].as_str().unwrap().to_string();
    let secret = plaintext.strip_prefix("alc_").expect("alc_ prefix");
    assert!(
        secret.len() >= 43 && secret.chars().all(|c| c.is_ascii_alphanumeric()),
        "256-bit random token: {plaintext}"
    );
    (body["token"]["id"].as_u64().unwrap(), plaintext)
}

/// Exactly the documented token fields: nothing secret, no hash.
fn check_token_view(v: &Value) {
    check(
        v,
        "token",
        &[
            ("id", T::Uint),
            ("name", T::Str),
            ("access_level", T::Str),
            ("created_at", T::Time),
            ("last_used_at", T::OptTime),
            ("revoked_at", T::OptTime),
        ],
    );
    assert_eq!(
        v.as_object().unwrap().len(),
        6,
        "no extra token fields: {v}"
    );
}

async fn engine_state(server: &TestServer, token: &str) -> String {
    let s = server.get_json("/api/engine/status", token).await;
    s["status"].as_str().unwrap().to_string()
}

/// GET routes a read-only token may not use.
const FULL_ACCESS_READS: [&str; 6] = [
    "/api/settings/api-tokens",
    "/api/settings/notifications",
    "/api/system/backup",
    "/api/system/logs",
    "/api/system/logs/stream",
    "/api/system/logs/download",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_sets_a_strict_cookie_and_failures_are_indistinguishable() {
    let server = TestServer::start().await;

    let r = login_as(&server, ADMIN, PASSWORD).await;
    assert_eq!(r.status(), 200);
    let cookie = header(&r, "set-cookie");
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let mut parts = cookie.split(';').map(str::trim);
    let token = parts
        .next()
        .unwrap()
        .strip_prefix("alchemist_session=")
        .expect("alchemist_session cookie")
        .to_string();
    assert!(
        token.len() >= 43 && token.chars().all(|c| c.is_ascii_alphanumeric()),
        "opaque 256-bit token: {token}"
    );
    let attrs: Vec<&str> = parts.collect();
    for wanted in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(
            attrs.iter().any(|a| a.eq_ignore_ascii_case(wanted)),
            "cookie lacks {wanted}: {cookie}"
        );
    }
    assert!(
        !attrs.iter().any(|a| a.eq_ignore_ascii_case("Secure")),
        "no Secure over plain HTTP (the cookie would never come back): {cookie}"
    );
    // The cookie works on a read route.
    let r = server
        .cookie(Method::GET, "/api/engine/status", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Wrong password and unknown user: the same problem, word for word.
    let wrong_password = problem(
        login_as(&server, ADMIN, "wrong password!").await,
        401,
        "AUTH_INVALID_CREDENTIALS",
    )
    .await;
    let unknown_user = problem(
        login_as(&server, "nobody", PASSWORD).await,
        401,
        "AUTH_INVALID_CREDENTIALS",
    )
    .await;
    for member in ["type", "title", "status", "detail", "code"] {
        assert_eq!(wrong_password[member], unknown_user[member], "{member}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_throttled_after_ten_failures() {
    let server = TestServer::start().await;
    let session = server.login().await;
    for attempt in 0..10 {
        let user = if attempt % 2 == 0 { ADMIN } else { "ghost" };
        let r = login_as(&server, user, &format!("wrong {attempt}")).await;
        problem(r, 401, "AUTH_INVALID_CREDENTIALS").await;
    }
    // The 11th attempt is refused before the password is even looked at.
    for _ in 0..2 {
        let r = login_as(&server, ADMIN, PASSWORD).await;
        let retry_after: u64 = header(&r, "retry-after")
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
        let p = problem(r, 429, "AUTH_RATE_LIMITED").await;
        assert!(p["detail"].as_str().unwrap().contains("retry"));
    }
    // Sessions opened before are not affected.
    assert_eq!(engine_state(&server, &session).await, "running");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session_server_side_and_clears_the_cookie() {
    let server = TestServer::start().await;
    let a = server.login().await;
    let b = server.login().await;
    assert_ne!(a, b);
    // Cookie and Bearer both authenticate (the scheme in any case), and another scheme in
    // `Authorization` (a reverse proxy's Basic auth) does not hide the cookie.
    for r in [
        server.cookie(Method::GET, "/api/jobs", &a),
        server.bearer(Method::GET, "/api/jobs", &a),
        server
            .http
            .get(server.url("/api/jobs"))
            .header("authorization", format!("bearer {a}")),
        server
            .cookie(Method::GET, "/api/jobs", &a)
            .header("authorization", "Basic YWRtaW46cHJveHk="),
    ] {
        assert_eq!(r.send().await.unwrap().status(), 200);
    }

    let r = server
        .cookie(Method::POST, "/api/auth/logout", &a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cleared = header(&r, "set-cookie");
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    assert!(
        cleared.starts_with("alchemist_session=;"),
        "cookie emptied: {cleared}"
    );
    assert!(
        cleared.contains("Max-Age=0") || cleared.contains("Expires=Thu, 01 Jan 1970"),
        "cookie expired: {cleared}"
    );
    assert!(
        cleared.contains("Path=/"),
        "same path as the cookie: {cleared}"
    );

    // The token is dead whichever way it is presented; the other session lives on.
    let r = server
        .cookie(Method::GET, "/api/jobs", &a)
        .send()
        .await
        .unwrap();
    problem(r, 401, "AUTH_INVALID_TOKEN").await;
    let r = server
        .bearer(Method::GET, "/api/jobs", &a)
        .send()
        .await
        .unwrap();
    problem(r, 401, "AUTH_INVALID_TOKEN").await;
    assert_eq!(engine_state(&server, &b).await, "running");

    // Logout with a Bearer session token ends that session too.
    let r = server
        .bearer(Method::POST, "/api/auth/logout", &b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = server
        .bearer(Method::GET, "/api/engine/status", &b)
        .send()
        .await
        .unwrap();
    problem(r, 401, "AUTH_INVALID_TOKEN").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_public_routes_answer_without_credentials() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    let ops = operations(&doc);
    let mut protected = 0;
    for op in &ops {
        for path in [op.path.clone(), op.path.replacen("/api/", "/api/v1/", 1)] {
            let mut req = server.http.request(op.method.clone(), server.url(&path));
            if op.method != Method::GET {
                req = req.json(&json!({}));
            }
            let r = req.send().await.unwrap();
            if op.is_public() {
                assert_ne!(r.status(), 401, "{} {path} is public", op.method);
                assert!(r.status().as_u16() < 500, "{} {path}", op.method);
            } else {
                protected += 1;
                problem(r, 401, "AUTH_REQUIRED").await;
            }
        }
    }
    assert!(protected > 40, "{protected} protected operations probed");
    // The public reads answer 200 to anyone.
    for path in ["/api/health", "/api/ready", "/api/openapi.json"] {
        let r = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let health: Value = server
        .http
        .get(server.url("/api/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    check(
        &health,
        "health",
        &[("status", T::Str), ("version", T::Str)],
    );
    assert_eq!(health["status"], "ok");
    // An empty cookie or a garbage one is no credential either.
    let r = server
        .http
        .get(server.url("/api/jobs"))
        .header("cookie", "alchemist_session=")
        .send()
        .await
        .unwrap();
    problem(r, 401, "AUTH_REQUIRED").await;
    let r = server
        .cookie(Method::GET, "/api/jobs", "forged")
        .send()
        .await
        .unwrap();
    problem(r, 401, "AUTH_INVALID_TOKEN").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_tokens_are_created_listed_used_and_revoked() {
    let server = TestServer::start().await;
    let session = server.login().await;
    let (ro_id, ro) = create_token(&server, &session, "Prometheus", "read_only").await;
    let (full_id, full) = create_token(&server, &session, "Scripts", "full_access").await;
    assert_ne!(ro_id, full_id);
    assert_ne!(ro, full);

    // The list shows metadata only: the plaintext never appears again.
    let r = server
        .bearer(Method::GET, "/api/settings/api-tokens", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains(&ro) && !text.contains(&full), "{text}");
    assert!(
        !text.contains("alc_") && !text.contains("plaintext"),
        "{text}"
    );
    let list: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(list.len(), 2);
    for t in &list {
        check_token_view(t);
        assert!(t["last_used_at"].is_null(), "unused so far: {t}");
    }

    // A full-access token can mutate and manage tokens.
    let r = server
        .post_json("/api/engine/pause", &full, json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(engine_state(&server, &session).await, "paused");
    let (tmp_id, _) = create_token(&server, &full, "made by a token", "read_only").await;

    // Use marks last_used_at.
    let r = server
        .bearer(Method::GET, "/api/engine/status", &ro)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list = server.get_json("/api/settings/api-tokens", &session).await;
    let find = |id: u64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("token {id} listed"))
    };
    for id in [ro_id, full_id] {
        let t = find(id);
        let used = time_of(&t["last_used_at"]);
        assert!(used >= time_of(&t["created_at"]), "{t}");
    }
    assert!(find(tmp_id)["last_used_at"].is_null());

    // Revoking stops a token at once; the list keeps it, marked.
    let r = server
        .bearer(
            Method::DELETE,
            &format!("/api/settings/api-tokens/{ro_id}"),
            &full,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"ok": true}));
    let r = server
        .bearer(Method::GET, "/api/engine/status", &ro)
        .send()
        .await
        .unwrap();
    problem(r, 401, "AUTH_INVALID_TOKEN").await;
    let list = server.get_json("/api/settings/api-tokens", &session).await;
    let revoked = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == ro_id)
        .unwrap();
    time_of(&revoked["revoked_at"]);
    // The full-access token still works; unknown ids are 404.
    let r = server
        .bearer(Method::DELETE, "/api/settings/api-tokens/999", &full)
        .send()
        .await
        .unwrap();
    problem(r, 404, "API_TOKEN_NOT_FOUND").await;

    // An API token is not a session: it does not work as the session cookie.
    let r = server
        .cookie(Method::GET, "/api/engine/status", &full)
        .send()
        .await
        .unwrap();
    problem(r, 401, "AUTH_INVALID_TOKEN").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_tokens_may_read_everything_and_change_nothing() {
    let server = TestServer::start().await;
    let session = server.login().await;
    // Something for every `{id}` = 1 to point at: token 1, folder 1, job 1, profile `1`.
    let (ro_id, ro) = create_token(&server, &session, "dashboard", "read_only").await;
    assert_eq!(ro_id, 1);
    let r = server
        .post_json("/api/engine/pause", &session, json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let lib = server.tmp.path().join("library");
    std::fs::create_dir_all(&lib).unwrap();
    let file = lib.join("Movie.mkv");
    std::fs::write(&file, b"not really a movie").unwrap();
    assert_eq!(server.add_folder(&session, &lib).await, 1);
    let r = server
        .post_json(
            "/api/profiles",
            &session,
            json!({"name": "1", "base": "balanced"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = server
        .post_json(
            "/api/jobs/enqueue",
            &session,
            json!({"path": file.to_str().unwrap()}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["id"], 1);

    let doc = document(&server).await;
    let ops = operations(&doc);
    let (mut mutations, mut reads) = (0, 0);
    for op in ops.iter().filter(|o| !o.is_public()) {
        let req = server.bearer(op.method.clone(), &op.path, &ro);
        if op.method == Method::GET {
            reads += 1;
            let r = req.send().await.unwrap();
            // Reads that hand out secrets or the whole state: the tokens, the notification
            // targets (a URL may be a credential), a backup (key hashes, integration keys)
            // and the server log.
            if FULL_ACCESS_READS.contains(&op.template.as_str()) {
                problem(r, 403, "TOKEN_FORBIDDEN").await;
                continue;
            }
            // Readable, but no self-test has run yet: past the access check, nothing to show.
            if op.template == "/api/system/selftest" {
                problem(r, 404, "SELFTEST_NONE").await;
                continue;
            }
            assert_eq!(r.status(), 200, "GET {}", op.path);
            let ct = header(&r, "content-type");
            match op.path.as_str() {
                // The stream stays open: the headers are enough.
                "/api/events" => assert!(ct.starts_with("text/event-stream"), "{ct}"),
                "/metrics" => {
                    assert!(ct.starts_with("text/plain"), "{ct}");
                    assert!(r.text().await.unwrap().contains("alchemist_jobs"));
                }
                _ => {
                    assert!(ct.starts_with("application/json"), "{}: {ct}", op.path);
                    r.json::<Value>().await.unwrap();
                }
            }
        } else {
            mutations += 1;
            let r = req.json(&json!({})).send().await.unwrap();
            problem(r, 403, "TOKEN_FORBIDDEN").await;
            // A valid body changes nothing either.
            let body = match op.template.as_str() {
                "/api/engine/mode" => json!({"mode": "background"}),
                "/api/jobs/{id}/priority" => json!({"priority": 9}),
                "/api/jobs/batch" => json!({"action": "delete", "ids": [1]}),
                "/api/library/folders" => json!({"path": lib.to_str().unwrap()}),
                "/api/library/folders/{id}" => json!({"profile": "compatible"}),
                "/api/profiles" => json!({"name": "x", "encoder": "libx265"}),
                "/api/profiles/{name}" => json!({"encoder": "libx264"}),
                "/api/settings/api-tokens" => json!({"name": "x", "access_level": "full_access"}),
                "/api/jobs/enqueue" => json!({"path": file.to_str().unwrap()}),
                _ => continue,
            };
            let r = server
                .bearer(op.method.clone(), &op.path, &ro)
                .json(&body)
                .send()
                .await
                .unwrap();
            problem(r, 403, "TOKEN_FORBIDDEN").await;
        }
    }
    assert!(mutations >= 15 && reads >= 12, "{mutations} {reads}");
    // HEAD is a read.
    let r = server
        .bearer(Method::HEAD, "/api/jobs", &ro)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Nothing changed: engine paused in balanced mode, folder, job and tokens as they were.
    let status = server.get_json("/api/engine/status", &session).await;
    assert_eq!(status["status"], "paused");
    assert_eq!(status["mode"], "balanced");
    let folders = server.get_json("/api/library/folders", &session).await;
    assert_eq!(folders.as_array().unwrap().len(), 1);
    assert!(folders[0]["profile"].is_null());
    let profiles = server.get_json("/api/profiles", &session).await;
    assert_eq!(profiles.as_array().unwrap().len(), 5);
    assert_eq!(profiles[4]["encoder"], "libx265");
    let job = server.get_json("/api/jobs/1/details", &session).await;
    assert_eq!(job["job"]["status"], "queued");
    assert_eq!(job["job"]["priority"], 0);
    assert_eq!(job["job"]["archived"], false);
    let tokens = server.get_json("/api/settings/api-tokens", &session).await;
    assert_eq!(tokens.as_array().unwrap().len(), 1);
    assert!(tokens[0]["revoked_at"].is_null());
    assert_eq!(engine_state(&server, &ro).await, "paused");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_cookie_mutations_are_refused() {
    let server = TestServer::start().await;
    let session = server.login().await;
    let own_origin = server.base.clone(); // http://127.0.0.1:<port>
    let pause = "/api/engine/pause";

    // A browser on another site: by Origin (the Host is ours) or by Sec-Fetch-Site.
    let hostile: [(&str, &str); 4] = [
        ("origin", "http://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ];
    for (name, value) in hostile {
        let r = server
            .cookie(Method::POST, pause, &session)
            .header(name, value)
            .send()
            .await
            .unwrap();
        problem(r, 403, "CROSS_ORIGIN_FORBIDDEN").await;
    }
    let r = server
        .cookie(Method::POST, "/api/engine/mode", &session)
        .header("origin", "http://evil.example")
        .json(&json!({"mode": "background"}))
        .send()
        .await
        .unwrap();
    problem(r, 403, "CROSS_ORIGIN_FORBIDDEN").await;
    // A port is part of the origin.
    let other_port = format!("{own_origin}1");
    let r = server
        .cookie(Method::POST, pause, &session)
        .header("origin", &other_port)
        .send()
        .await
        .unwrap();
    problem(r, 403, "CROSS_ORIGIN_FORBIDDEN").await;
    // Nothing happened.
    let status = server.get_json("/api/engine/status", &session).await;
    assert_eq!(status["status"], "running");
    assert_eq!(status["mode"], "balanced");
    // Cross-site logout with the cookie is refused too, and the session survives.
    let r = server
        .cookie(Method::POST, "/api/auth/logout", &session)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    problem(r, 403, "CROSS_ORIGIN_FORBIDDEN").await;
    // Reads are not mutations.
    let r = server
        .cookie(Method::GET, "/api/engine/status", &session)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Same origin passes, by Origin or by Sec-Fetch-Site.
    let r = server
        .cookie(Method::POST, pause, &session)
        .header("origin", &own_origin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "paused");
    let r = server
        .cookie(Method::POST, "/api/engine/resume", &session)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "running");
    // Bearer requests are exempt: the cookie is not involved.
    let r = server
        .bearer(Method::POST, pause, &session)
        .header("origin", "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, token) = create_token(&server, &session, "ci", "full_access").await;
    let r = server
        .bearer(Method::POST, "/api/engine/resume", &token)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(engine_state(&server, &session).await, "running");
    server.stop().await;
}

/// The contract says a revoked token stops working at once: that includes an event stream it
/// already opened. Logging out ends the session's streams too; other streams stay open.
#[tokio::test]
async fn revoking_a_token_or_logging_out_ends_its_event_streams() {
    let server = TestServer::start().await;
    let session = server.login().await;
    let other_session = server.login().await;
    let (id, token) = create_token(&server, &session, "stream reader", "read_only").await;
    let mut by_token = server.events(&token, None).await;
    let mut by_other_session = server.events(&other_session, None).await;
    let mut unaffected = server.events(&session, None).await;

    let r = server
        .bearer(
            Method::DELETE,
            &format!("/api/settings/api-tokens/{id}"),
            &session,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        by_token.ended(Duration::from_secs(10)).await,
        "the revoked token's stream is still open"
    );

    let r = server
        .bearer(Method::POST, "/api/auth/logout", &other_session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        by_other_session.ended(Duration::from_secs(10)).await,
        "the logged-out session's stream is still open"
    );

    // The remaining stream still delivers.
    let r = server
        .bearer(Method::POST, "/api/engine/pause", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    unaffected
        .until(Duration::from_secs(10), |e| e.event == "engine")
        .await;
    server.stop().await;
}
