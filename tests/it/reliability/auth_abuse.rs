//! Attacks on authentication: expired sessions (written into the store already expired),
//! revoked API tokens, forged tokens (right prefix and random bytes, one character off, wrong
//! length or charset, another instance's valid tokens), tampered cookies, concurrent login
//! brute force (held to the contract's limit of 10 failures, then 429 with Retry-After even for
//! the right password, on the API and the login form alike), token guessing, and read-only
//! tokens against the HTML pages' mutations and method-override tricks.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::files::library;
use crate::support::jobs::enqueue;
use crate::support::openapi::{document, operations};
use crate::support::raw::assert_problem;
use crate::support::rng::Rng;
use crate::support::{ADMIN, PASSWORD, TestServer, create_admin};

/// Status, content type and body of an answer.
async fn answer(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, r.text().await.unwrap())
}

/// The credential is refused with 401 on the API and sent to the login page by the pages.
async fn refused(server: &TestServer, what: &str, token: &str) -> usize {
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut n = 0;
    for (method, path) in [
        (Method::GET, "/api/jobs"),
        (Method::GET, "/api/events"),
        (Method::POST, "/api/engine/pause"),
        (Method::GET, "/metrics"),
    ] {
        for via_cookie in [false, true] {
            let req = if via_cookie {
                server.cookie(method.clone(), path, token)
            } else {
                server.bearer(method.clone(), path, token)
            };
            let (status, ct, text) = answer(req.send().await.unwrap()).await;
            assert_eq!(
                status, 401,
                "{what} ({method} {path}, cookie {via_cookie}): {text}"
            );
            let p = assert_problem(what, &ct, status, &text);
            assert!(
                ["AUTH_INVALID_TOKEN", "AUTH_REQUIRED"].contains(&p["code"].as_str().unwrap()),
                "{what}: {p}"
            );
            n += 1;
        }
    }
    let r = no_redirect
        .get(server.url("/jobs"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection(), "{what}: page {}", r.status());
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("/login"), "{what}: {location}");
    n + 1
}

fn flip(token: &str, at: usize) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    chars[at] = if chars[at] == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_revoked_forged_and_foreign_credentials_are_refused() {
    // An expired session, written into the store before the server opens it.
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let expired = "expiredsessiontoken0123456789abcdefghijklmnopqrstu";
    let ended_yesterday = "expiredyesterday0123456789abcdefghijklmnopqrstuvwx";
    {
        let dir = data_dir.clone();
        tokio::task::spawn_blocking(move || {
            create_admin(&dir);
            let store = alchemist::store::Store::open(&dir).unwrap();
            let hash = |t: &str| alchemist::sha256(t);
            store.create_session(&hash(expired), ADMIN, -1).unwrap();
            store
                .create_session(&hash(ended_yesterday), ADMIN, -86_400_000)
                .unwrap();
        })
        .await
        .unwrap();
    }
    let server = TestServer::start_in(tmp, data_dir, |_| {}).await;
    let session = server.login().await;
    let mut probes = 0;
    probes += refused(&server, "expired session", expired).await;
    probes += refused(&server, "session ended yesterday", ended_yesterday).await;

    // Revoked tokens stop at once, whatever their access level.
    let mut tokens = Vec::new();
    for level in ["full_access", "read_only"] {
        let r = server
            .post_json(
                "/api/settings/api-tokens",
                &session,
                json!({"name": level, "access_level": level}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        tokens.push((
            body["token"]["id"].as_u64().unwrap(),
            body["plaintext_token"].as_str().unwrap().to_string(),
        ));
    }
    let (full_id, full) = tokens[0].clone();
    let ro = tokens[1].1.clone();
    for (id, _) in &tokens {
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
    }
    probes += refused(&server, "revoked full-access token", &full).await;
    probes += refused(&server, "revoked read-only token", &ro).await;
    // Revoking again is harmless and does not bring it back.
    let r = server
        .bearer(
            Method::DELETE,
            &format!("/api/settings/api-tokens/{full_id}"),
            &session,
        )
        .send()
        .await
        .unwrap();
    assert!(r.status().as_u16() < 500);
    probes += refused(&server, "revoked twice", &full).await;

    // Forged tokens: right prefix and random characters, one character off, wrong length,
    // wrong charset, the two kinds mixed up.
    let live = {
        let r = server
            .post_json(
                "/api/settings/api-tokens",
                &session,
                json!({"name": "live", "access_level": "full_access"}),
            )
            .await;
        let body: Value = r.json().await.unwrap();
        body["plaintext_token"].as_str().unwrap().to_string()
    };
    let mut rng = Rng::new(99);
    let alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let random_alnum =
        |rng: &mut Rng, n: usize| -> String { (0..n).map(|_| *rng.pick(alnum) as char).collect() };
    let mut forged = vec![
        format!("alc_{}", random_alnum(&mut rng, 64)),
        format!("alc_{}", random_alnum(&mut rng, 64)),
        flip(&live, live.len() - 1),
        flip(&live, 4),
        flip(&session, 0),
        live.to_uppercase(),
        live[..live.len() - 1].to_string(),
        format!("{live}x"),
        format!("{live}{live}"),
        format!("alc_{session}"),
        session.trim_start_matches("alc_").to_string() + "=",
        live.trim_start_matches("alc_").to_string(),
        "alc_".to_string(),
        format!("alc_{}", "a".repeat(253)),
        format!("alc_{}", "ä".repeat(64)),
        format!("alc_{}", random_alnum(&mut rng, 32)),
        "alc_../../etc/passwd".to_string(),
        "null".to_string(),
        "undefined".to_string(),
    ];
    forged.push(format!("alc_{}", "0".repeat(64)));
    for f in &forged {
        probes += refused(&server, &format!("forged {f:.40}"), f).await;
    }

    // Valid credentials of another instance.
    let other = TestServer::start().await;
    let other_session = other.login().await;
    let r = other
        .post_json(
            "/api/settings/api-tokens",
            &other_session,
            json!({"name": "elsewhere", "access_level": "full_access"}),
        )
        .await;
    let other_token = r.json::<Value>().await.unwrap()["plaintext_token"]
        .as_str()
        .unwrap()
        .to_string();
    probes += refused(&server, "another instance's session", &other_session).await;
    probes += refused(&server, "another instance's token", &other_token).await;
    other.stop().await;

    // Tampered cookies.
    let cookie_cases = [
        format!("alchemist_session=\"{session}\""),
        format!("alchemist_session={}", flip(&session, 10)),
        format!("Alchemist_Session={session}"),
        format!("alchemist_session ={session}"),
        format!("xalchemist_session={session}"),
        format!(
            "alchemist_session={session}; alchemist_session={}",
            flip(&session, 3)
        ),
        format!(
            "alchemist_session={}; alchemist_session={session}",
            flip(&session, 3)
        ),
        format!("alchemist_session={session}%00"),
        format!("alchemist_session={}", "a".repeat(10_000)),
    ];
    let mut cookie_accepted = 0;
    for c in &cookie_cases {
        let r = server
            .http
            .get(server.url("/api/jobs"))
            .header("cookie", c)
            .send()
            .await
            .unwrap();
        let (status, ct, text) = answer(r).await;
        match status {
            200 => cookie_accepted += 1,
            401 => {
                assert_problem(c, &ct, status, &text);
            }
            other => panic!("cookie {c:.60}: {other} {text}"),
        }
        probes += 1;
    }
    // Only the case with the genuine session cookie first may pass.
    assert!(
        cookie_accepted <= 1,
        "{cookie_accepted} tampered cookies accepted"
    );

    // The genuine credentials were never disturbed.
    for t in [&session, &live] {
        let r = server
            .bearer(Method::GET, "/api/engine/status", t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    eprintln!(
        "auth_abuse: {} forged tokens, {probes} refused credential probes",
        forged.len()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_brute_force_is_held_to_the_limit() {
    let server = TestServer::start().await;
    let session = server.login().await;
    // 40 wrong passwords at once from one client: only the first 10 may be checked.
    const ATTEMPTS: usize = 40;
    let tasks: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let http = server.http.clone();
            let url = server.url("/api/auth/login");
            tokio::spawn(async move {
                let r = http
                    .post(url)
                    .json(&json!({"username": ADMIN, "password": format!("guess number {i}")}))
                    .send()
                    .await
                    .unwrap();
                let retry = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                let (status, ct, text) = answer(r).await;
                (status, ct, text, retry)
            })
        })
        .collect();
    let (mut checked, mut limited) = (0, 0);
    for t in tasks {
        let (status, ct, text, retry) = t.await.unwrap();
        let p = assert_problem("brute force", &ct, status, &text);
        match status {
            401 => {
                assert_eq!(p["code"], "AUTH_INVALID_CREDENTIALS");
                checked += 1;
            }
            429 => {
                assert_eq!(p["code"], "AUTH_RATE_LIMITED");
                let secs: u64 = retry.expect("Retry-After").parse().unwrap();
                assert!((1..=15 * 60).contains(&secs));
                limited += 1;
            }
            other => panic!("login answered {other}: {text}"),
        }
    }
    assert!(
        checked <= 10,
        "{checked} of {ATTEMPTS} concurrent guesses were checked; the limit is 10"
    );
    assert_eq!(checked + limited, ATTEMPTS);

    // While throttled, the right password is refused too: on the API and the login form.
    let r = server
        .http
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": ADMIN, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("set-cookie").is_none());
    let r = server
        .http
        .post(server.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "username={ADMIN}&password=correct+horse+battery&next=%2F"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the form shares the limit"
    );
    assert!(r.headers().get("set-cookie").is_none());

    // Guessing tokens instead: no throttle is promised, but every guess is refused.
    let mut rng = Rng::new(4242);
    let guesses = 200;
    for _ in 0..guesses {
        let guess: String = format!("alc_{}", hex::encode(rng.bytes(32)));
        let r = server
            .bearer(Method::GET, "/api/engine/status", &guess)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    // The session opened before the attack still works.
    assert_eq!(
        server.get_json("/api/engine/status", &session).await["status"],
        "running"
    );
    eprintln!(
        "auth_abuse: {ATTEMPTS} concurrent login guesses ({checked} checked, {limited} \
         throttled), {guesses} token guesses"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_tokens_cannot_mutate_through_pages_or_method_tricks() {
    let server = TestServer::start().await;
    let session = server.login().await;
    let r = server
        .post_json(
            "/api/settings/api-tokens",
            &session,
            json!({"name": "ro", "access_level": "read_only"}),
        )
        .await;
    let ro = r.json::<Value>().await.unwrap()["plaintext_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = server
        .post_json("/api/engine/pause", &session, json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let lib = library(server.tmp.path());
    std::fs::write(lib.join("a.mkv"), b"fake").unwrap();
    server.add_folder(&session, &lib).await;
    let id = enqueue(&server, &session, &lib.join("a.mkv")).await;
    assert_eq!(id, 1);

    // The HTML pages' form actions (not in the OpenAPI document).
    let page_posts = [
        ("/engine/resume", ""),
        ("/engine/drain", ""),
        ("/engine/pause", ""),
        ("/jobs/batch", "action=delete&ids=1"),
        ("/jobs/restart-failed", ""),
        ("/jobs/clear-completed", ""),
        ("/jobs/1/cancel", ""),
        ("/jobs/1/restart", ""),
        ("/jobs/1/priority", "priority=9"),
        ("/library/folders", "path=%2Ftmp"),
        ("/library/folders/1/remove", ""),
        ("/library/scan", ""),
        ("/tokens", "name=x&access_level=full_access"),
        ("/tokens/1/revoke", ""),
    ];
    let mut refused = 0;
    for (path, form) in page_posts {
        let r = server
            .bearer(Method::POST, path, &ro)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!(
            status == 403 || status == 404 || status == 405,
            "read-only POST {path}: {status}"
        );
        refused += 1;
    }
    // Method overrides and other verbs on every documented mutation.
    let doc = document(&server).await;
    for op in operations(&doc)
        .iter()
        .filter(|o| !o.is_public() && o.method != Method::GET)
    {
        for header in [
            "x-http-method-override",
            "x-method-override",
            "x-http-method",
        ] {
            let r = server
                .bearer(op.method.clone(), &op.path, &ro)
                .header(header, "GET")
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let (status, ct, text) = answer(r).await;
            assert_eq!(
                status, 403,
                "{} {} with {header}: {text}",
                op.method, op.path
            );
            assert_problem(&op.path, &ct, status, &text);
            refused += 1;
        }
        for verb in [Method::PUT, Method::PATCH, Method::OPTIONS, Method::TRACE] {
            let r = server
                .bearer(verb.clone(), &op.path, &ro)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            assert!(
                (400..500).contains(&status),
                "{verb} {} answered {status}",
                op.path
            );
            refused += 1;
        }
    }
    // Reads that show credentials are full access only: a notification target's URL may be
    // one (an ntfy topic, a webhook id).
    for path in ["/api/settings/notifications", "/notifications"] {
        let r = server.bearer(Method::GET, path, &ro).send().await.unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    // A read-only token is no cookie either.
    let r = server
        .cookie(Method::POST, "/api/engine/resume", &ro)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Nothing changed.
    let status = server.get_json("/api/engine/status", &session).await;
    assert_eq!(status["status"], "paused");
    let d = server.get_json("/api/jobs/1/details", &session).await;
    assert_eq!(d["job"]["status"], "queued");
    assert_eq!(d["job"]["priority"], 0);
    assert_eq!(d["job"]["archived"], false);
    let folders = server.get_json("/api/library/folders", &session).await;
    assert_eq!(folders.as_array().unwrap().len(), 1);
    let tokens = server.get_json("/api/settings/api-tokens", &session).await;
    assert_eq!(tokens.as_array().unwrap().len(), 1);
    assert!(tokens[0]["revoked_at"].is_null());
    eprintln!("auth_abuse: {refused} read-only mutation attempts refused");
    server.stop().await;
}

/// Signed-out forms are small and every form's field count is capped: a 1 MiB `a&a&a…` body
/// cost about 38 MB of memory, held while the login waited for a hashing thread. Signing out
/// with a token never issued changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_forms_are_small_and_form_fields_are_capped() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let origin = crate::support::pages::same_origin(&server);
    let post = |path: &'static str, body: String| {
        server
            .http
            .post(server.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", origin.clone())
            .body(body)
    };
    let padded = format!("username=admin&password=x&pad={}", "a".repeat(9000));
    // (`/logout` reads no body at all.)
    for path in ["/login", "/setup"] {
        let r = post(path, padded.clone()).send().await.unwrap();
        assert_eq!(r.status(), 413, "{path}");
    }
    let many = format!("username=admin&password=x{}", "&a".repeat(1000));
    let r = post("/login", many.clone()).send().await.unwrap();
    assert_eq!(r.status(), 413, "fields");
    // An authenticated page form has the whole body limit, and the same field cap.
    let r = post("/jobs/batch", many)
        .header("cookie", format!("alchemist_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413, "fields on a signed-in form");
    // A sign-out with a made-up token answers as a sign-out does, and the session still works.
    let r = server
        .http
        .post(server.url("/api/auth/logout"))
        .bearer_auth("made-up-token")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = server
        .http
        .get(server.url("/api/jobs"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.stop().await;
}
