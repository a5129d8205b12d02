//! Notifications end to end: real failed jobs (files that are not videos, probed by the real
//! ffprobe) reach a fake of every HTTP service in the shape its documentation gives; the
//! daily summary is sent through the test action (`{"event": "daily_summary"}`) rather than
//! waiting for its hour; a target answering 500 is tried three times and logged failed while
//! the engine keeps working; a burst of failures arrives grouped and the queue running dry is
//! reported once; email reaches a loopback SMTP sink; secrets come back masked and the API
//! refuses a bad target with its field.

mod fakes;
mod held;
mod page;
mod paused;
mod secrets;
mod space;
mod summary;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::{ok, post, problem, send};
use crate::support::files::library;
use crate::support::jobs::start_scan;
use crate::support::{PROMPT, SHORT_JOB, TestServer, wait_until};
use fakes::{FakeHttp, SmtpSink};

const BASE: &str = "/api/settings/notifications";

async fn add_target(server: &TestServer, token: &str, target: Value) -> u64 {
    let r = send(server, token, Method::POST, BASE, target).await;
    ok(r, 201).await["id"].as_u64().unwrap()
}

async fn targets(server: &TestServer, token: &str) -> Vec<Value> {
    server
        .get_json(BASE, token)
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// Write `n` files that are not videos into a library folder and scan it: each job fails.
async fn failing_files(server: &TestServer, token: &str, n: usize) {
    let lib = library(server.tmp.path());
    for i in 0..n {
        std::fs::write(lib.join(format!("broken{i}.mkv")), b"not a video").unwrap();
    }
    server.add_folder(token, &lib).await;
    start_scan(server, token).await;
}

/// Half a day from the box's hour now (the owner's zone defaults to the system's). A target
/// wanting the daily summary at the default hour (8) sends it for real when the test runs in
/// that hour: a delivery the assertions do not expect (seen in CI at 08:20 and at 07:10).
pub fn quiet_summary_hour() -> i8 {
    (jiff::ZonedDateTime::now().hour() + 12) % 24
}

/// All six HTTP services on one fake, each under its own path prefix.
fn http_targets(fake: &FakeHttp) -> Vec<Value> {
    let b = &fake.base;
    let events = json!(["job_failed", "daily_summary"]);
    let hour = quiet_summary_hour();
    let targets = [
        json!({"name": "ntfy", "kind": "ntfy", "url": format!("{b}/ntfy/alchemist")}),
        json!({"name": "gotify", "kind": "gotify", "url": format!("{b}/gotify"),
               "token": "gotify-app-token"}),
        json!({"name": "discord", "kind": "discord", "url": format!("{b}/discord/api/webhooks/1/hooktok")}),
        json!({"name": "telegram", "kind": "telegram", "url": format!("{b}/telegram"),
               "token": "123:bot", "chat_id": "-100"}),
        json!({"name": "pushover", "kind": "pushover", "url": format!("{b}/pushover"),
               "token": "poapp", "user_key": "pouser"}),
        json!({"name": "webhook", "kind": "webhook", "url": format!("{b}/hook")}),
    ];
    targets
        .into_iter()
        .map(|mut t| {
            t["events"] = events.clone();
            t["summary_hour"] = json!(hour);
            t
        })
        .collect()
}

/// Each service's request as its documentation gives it, carrying `needle` in its text.
fn check_shapes(fake: &FakeHttp, needle: &str) {
    let has = |s: &str| s.contains(needle);
    let ntfy = fake.to("/ntfy/alchemist");
    assert!(
        ntfy.iter()
            .any(|r| has(&r.body) || r.header("Title").is_some_and(has)),
        "{ntfy:?}"
    );
    assert!(
        ntfy.iter()
            .all(|r| r.header("Priority").is_some() && r.header("Tags").is_some())
    );
    let gotify = fake.to("/gotify/message?token=gotify-app-token");
    assert!(
        gotify
            .iter()
            .any(|r| has(r.json()["message"].as_str().unwrap())),
        "{gotify:?}"
    );
    assert!(
        gotify
            .iter()
            .all(|r| r.json()["title"].is_string() && r.json()["priority"].is_number())
    );
    let discord = fake.to("/discord/api/webhooks/1/hooktok");
    assert!(
        discord
            .iter()
            .any(|r| has(r.json()["content"].as_str().unwrap())),
        "{discord:?}"
    );
    let tg = fake.to("/telegram/bot123:bot/sendMessage");
    assert!(
        tg.iter()
            .any(|r| r.json()["chat_id"] == "-100" && has(r.json()["text"].as_str().unwrap())),
        "{tg:?}"
    );
    let po = fake.to("/pushover/1/messages.json");
    assert!(
        po.iter()
            .any(|r| r.body.contains("token=poapp") && r.body.contains("user=pouser")),
        "{po:?}"
    );
    let hook = fake.to("/hook");
    assert!(
        hook.iter()
            .any(|r| has(r.json()["message"].as_str().unwrap())),
        "{hook:?}"
    );
}

#[tokio::test]
async fn every_service_gets_a_failed_job_and_the_daily_summary() {
    let fake = FakeHttp::start(200).await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let mut ids = Vec::new();
    for t in http_targets(&fake) {
        ids.push(add_target(&server, &token, t).await);
    }
    failing_files(&server, &token, 1).await;
    wait_until(
        SHORT_JOB,
        "a failure message at all six services",
        async || {
            let prefixes = [
                "/ntfy",
                "/gotify",
                "/discord",
                "/telegram",
                "/pushover",
                "/hook",
            ];
            prefixes.iter().all(|p| !fake.to(p).is_empty())
        },
    )
    .await;
    check_shapes(&fake, "broken0.mkv");
    let hook = &fake.to("/hook")[0].json();
    assert_eq!(hook["event"], "job_failed", "{hook}");
    assert!(
        hook["jobs"][0]["reason"].is_string(),
        "the failure's reason code: {hook}"
    );
    for id in &ids {
        let (status, body) = post(
            &server,
            &token,
            &format!("{BASE}/{id}/test"),
            json!({"event": "daily_summary"}),
        )
        .await;
        assert_eq!(status, 202, "{body}");
    }
    wait_until(
        PROMPT,
        "the daily summary at all six services",
        async || {
            fake.to("/hook")
                .iter()
                .any(|r| r.json()["event"] == "daily_summary")
                && ["/ntfy", "/gotify", "/discord", "/telegram", "/pushover"]
                    .iter()
                    .all(|p| fake.to(p).len() >= 2)
        },
    )
    .await;
    check_shapes(&fake, "Since yesterday: ");
    // Every delivery is logged as sent (the log is written once the answer is in).
    wait_until(
        PROMPT,
        "two deliveries logged as sent per target",
        async || {
            let all = targets(&server, &token).await;
            let done = all.iter().all(|t| {
                let log = t["log"].as_array().unwrap();
                log.len() >= 2 && log.iter().all(|d| d["ok"] == true)
            });
            if done { Ok(()) } else { Err(Value::Array(all)) }
        },
    )
    .await;
}

#[tokio::test]
async fn a_target_answering_500_is_retried_then_logged_failed_and_the_engine_goes_on() {
    let broken = FakeHttp::start(500).await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let url = format!("{}/hook", broken.base);
    let id = add_target(
        &server,
        &token,
        json!({"name": "down", "kind": "webhook", "url": url,
                                                "events": ["job_failed"]}),
    )
    .await;
    failing_files(&server, &token, 3).await;
    // The engine finishes all three jobs whatever the target does.
    wait_until(SHORT_JOB, "three failed jobs", async || {
        let jobs = server.get_json("/api/jobs?status=failed", &token).await;
        jobs.as_array().unwrap().len() == 3
    })
    .await;
    let log = wait_until(
        SHORT_JOB,
        "three failed attempts in the delivery log",
        async || {
            let t = targets(&server, &token)
                .await
                .into_iter()
                .find(|t| t["id"] == id)
                .unwrap();
            let log = t["log"].as_array().unwrap().clone();
            if log.len() >= 3 {
                Ok(log)
            } else {
                Err(Value::Array(log))
            }
        },
    )
    .await;
    let attempts: Vec<u64> = log
        .iter()
        .take(3)
        .map(|d| d["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(attempts, [3, 2, 1], "{log:?}");
    assert!(
        log.iter()
            .all(|d| d["ok"] == false && d["error"].as_str().unwrap().contains("500"))
    );
    assert_eq!(
        broken.to("/hook").len(),
        3,
        "three attempts for the first message"
    );
}

#[tokio::test]
async fn a_burst_of_failures_arrives_grouped() {
    let fake = FakeHttp::start(200).await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let url = format!("{}/hook", fake.base);
    add_target(
        &server,
        &token,
        json!({"name": "w", "kind": "webhook", "url": url,
                                       "events": ["job_failed"]}),
    )
    .await;
    let dry = format!("{}/dry", fake.base);
    add_target(
        &server,
        &token,
        json!({"name": "dry", "kind": "webhook", "url": dry,
                                       "events": ["queue_empty"]}),
    )
    .await;
    failing_files(&server, &token, 24).await;
    // The first failure goes at once, the rest wait for the grouping window (30 s).
    wait_until(SHORT_JOB * 2, "all 24 failures reported", async || {
        let count: u64 = fake
            .to("/hook")
            .iter()
            .map(|r| r.json()["count"].as_u64().unwrap())
            .sum();
        if count == 24 { Ok(()) } else { Err(count) }
    })
    .await;
    let messages = fake.to("/hook");
    assert!(
        messages.len() <= 4,
        "{} messages for 24 failures",
        messages.len()
    );
    assert!(
        messages
            .iter()
            .any(|m| m.json()["title"].as_str().unwrap().contains("jobs failed"))
    );
    // The queue ran dry once, with what happened while it was full.
    let dry = wait_until(PROMPT, "the queue-empty message", async || {
        fake.to("/dry").first().cloned()
    })
    .await;
    assert_eq!(dry.json()["event"], "queue_empty");
    let text = dry.json()["message"].as_str().unwrap().to_string();
    assert!(text.contains("24 failed"), "{text}");
    assert_eq!(fake.to("/dry").len(), 1);
}

#[tokio::test]
async fn email_reaches_a_local_smtp_sink() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let id = add_target(
        &server,
        &token,
        json!({"name": "mail", "kind": "email", "events": ["job_failed"],
        "email": {"host": "127.0.0.1", "port": sink.port, "tls": "none",
                  "from": "box@example.test", "to": ["owner@example.test"]}}),
    )
    .await;
    let (status, _) = post(&server, &token, &format!("{BASE}/{id}/test"), json!({})).await;
    assert_eq!(status, 202);
    let (envelope, data) = wait_until(PROMPT, "a mail at the sink", async || {
        sink.mails.lock().unwrap().first().cloned()
    })
    .await;
    assert!(
        envelope.iter().any(|l| l.contains("owner@example.test")),
        "{envelope:?}"
    );
    assert!(
        data.contains("Subject: Alchemist: Test from Alchemist"),
        "{data}"
    );
}

/// STARTTLS is required, never optional, and TLS means TLS from the first byte: a mail
/// server that offers no STARTTLS (or a man in the middle who strips the offer) gets neither
/// the mail nor the login; one that speaks no TLS gets only the client's hello. The delivery
/// is logged as failed.
#[tokio::test]
async fn a_server_without_tls_gets_neither_the_mail_nor_the_password() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start().await;
    let token = server.login().await;
    // With a login and without one: a mail server may take mail without a login, so only
    // the required STARTTLS stops the second one.
    for (n, tls, login) in [
        (0, "starttls", true),
        (1, "starttls", false),
        (2, "tls", true),
    ] {
        let mut email = json!({"host": "127.0.0.1", "port": sink.port, "tls": tls,
            "from": "box@example.test", "to": ["owner@example.test"]});
        if login {
            email["user"] = json!("box");
            email["password"] = json!("mail-secret-77");
        }
        let id = add_target(
            &server,
            &token,
            json!({"name": format!("mail-{n}"), "kind": "email", "events": ["job_failed"],
                   "email": email}),
        )
        .await;
        let (status, _) = post(&server, &token, &format!("{BASE}/{id}/test"), json!({})).await;
        assert_eq!(status, 202);
    }
    wait_until(
        PROMPT,
        "the three deliveries logged as failed",
        async || {
            let all = targets(&server, &token).await;
            let failed = all.iter().all(|t| {
                (t["log"].as_array())
                    .is_some_and(|l| !l.is_empty() && l.iter().all(|d| d["ok"] == false))
            });
            if failed {
                Ok(())
            } else {
                Err(Value::Array(all))
            }
        },
    )
    .await;
    let heard = sink.commands.lock().unwrap().clone();
    assert!(
        heard.iter().any(|l| l.starts_with("EHLO")),
        "the STARTTLS target spoke to the sink: {heard:?}"
    );
    for verb in ["AUTH", "MAIL", "RCPT", "DATA"] {
        assert!(
            !heard
                .iter()
                .any(|l| l.to_ascii_uppercase().starts_with(verb)),
            "{verb} sent without TLS: {heard:?}"
        );
    }
    assert!(
        !heard.iter().any(|l| l.contains("mail-secret-77")),
        "{heard:?}"
    );
    assert!(sink.mails.lock().unwrap().is_empty());
}

#[tokio::test]
async fn secrets_come_back_masked_and_bad_targets_name_their_field() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let id = add_target(
        &server,
        &token,
        json!({"name": "p", "kind": "pushover", "events": ["queue_empty"],
                                                 "token": "app-secret", "user_key": "user-secret"}),
    )
    .await;
    let listed = server.get_json(BASE, &token).await.to_string();
    assert!(!listed.contains("secret"), "{listed}");
    // Sending the mask back keeps the secret: the target still validates and is unchanged.
    let mut t = targets(&server, &token).await[0].clone();
    t.as_object_mut().unwrap().remove("log");
    t["name"] = json!("renamed");
    let r = send(&server, &token, Method::PUT, format!("{BASE}/{id}"), t).await;
    assert_eq!(ok(r, 200).await["token"], "********");
    let (_tmp, data_dir) = server.stop().await;
    let store = alchemist::store::Store::open(&data_dir).unwrap();
    let saved = store.setting("notifications").unwrap().unwrap();
    assert_eq!(saved["targets"][0]["token"], "app-secret", "{saved}");
    assert_eq!(saved["targets"][0]["name"], "renamed");
    let server = TestServer::start().await;
    let token = server.login().await;
    let r = send(
        &server,
        &token,
        Method::POST,
        BASE,
        json!({"name": "t", "kind": "telegram", "events": ["job_failed"], "token": "1:x"}),
    )
    .await;
    let p = problem(r, 400, "VALIDATION_FAILED").await;
    assert_eq!(p["field"], "chat_id", "{p}");
}
