//! Secrets stay secret when things fail: with notification targets and media servers whose
//! tokens, keys and passwords are distinctive strings, every delivery fails (a service
//! answering 500, an SMTP server and media servers that refuse the connection), and then
//! neither the server's own log (at debug), nor the targets' delivery logs, nor the answers of
//! the test actions hold any of them. Telegram's token and Discord's are part of the URL they
//! are sent to, and Plex and Jellyfin keys may travel in a query string: the places an error
//! message would carry them.

use reqwest::Method;
use serde_json::{Value, json};

use super::fakes::FakeHttp;
use super::quiet_summary_hour;
use crate::support::served::Served;
use crate::support::wait_until;

const SECRETS: [&str; 10] = [
    "GOTIFYSECRET7781",
    "TGSECRET4411",
    "POSECRET5521",
    "POUSER6631",
    "DISCORDSECRET9911",
    "SMTPSECRET3341",
    "PLEXSECRET2231",
    "JELLYSECRET1121",
    "TGCLOSED8812",
    "DISCORDCLOSED7713",
];

async fn send(served: &Served, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = served
        .http
        .request(method, format!("{}{path}", served.base))
        .bearer_auth(&served.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Every secret found in `text`, with where it was.
fn leaks(text: &str, place: &str) -> Vec<String> {
    let mut out = Vec::new();
    for secret in SECRETS {
        if let Some(line) = text.lines().find(|l| l.contains(secret)) {
            let line: String = line.chars().take(300).collect();
            out.push(format!("{secret} in {place}: {line}"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_and_tests_leave_no_secret_in_any_log_or_answer() {
    let broken = FakeHttp::start(500).await;
    // Debug in the log files (`[logs] level`) and on standard error (`ALCHEMIST_LOG`).
    let served = Served::start_logging("[logs]\nlevel = \"debug\"\n", "debug").await;
    let b = &broken.base;
    let hour = quiet_summary_hour();
    let targets = [
        json!({"name": "gotify", "kind": "gotify", "url": format!("{b}/gotify"),
               "token": SECRETS[0]}),
        json!({"name": "telegram", "kind": "telegram", "url": format!("{b}/telegram"),
               "token": format!("999:{}", SECRETS[1]), "chat_id": "-100"}),
        json!({"name": "pushover", "kind": "pushover", "url": format!("{b}/pushover"),
               "token": SECRETS[2], "user_key": SECRETS[3]}),
        json!({"name": "discord", "kind": "discord",
               "url": format!("{b}/discord/api/webhooks/1/{}", SECRETS[4])}),
        // The same two, at a closed port: a transport error is the one most likely to name
        // the URL, which carries their token.
        json!({"name": "telegram-closed", "kind": "telegram", "url": "http://127.0.0.1:9",
               "token": format!("999:{}", SECRETS[8]), "chat_id": "-100"}),
        json!({"name": "discord-closed", "kind": "discord",
               "url": format!("http://127.0.0.1:9/api/webhooks/1/{}", SECRETS[9])}),
        json!({"name": "mail", "kind": "email", "url": "",
               "email": {"host": "127.0.0.1", "port": 9, "tls": "none", "user": "box",
                         "password": SECRETS[5], "from": "box@example.test",
                         "to": ["owner@example.test"]}}),
    ];
    let mut ids = Vec::new();
    for mut t in targets {
        t["events"] = json!(["job_failed"]);
        t["summary_hour"] = json!(hour);
        let (status, body) = send(&served, Method::POST, "/api/settings/notifications", t).await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_u64().unwrap());
    }
    let mut answers = Vec::new();
    for id in &ids {
        let path = format!("/api/settings/notifications/{id}/test");
        let (status, body) = send(&served, Method::POST, &path, json!({})).await;
        assert_eq!(status, 202, "{body}");
        answers.push(body.to_string());
    }
    // Media servers that refuse the connection, tested and told of nothing.
    let integrations = json!({
        "plex": {"url": "http://127.0.0.1:9", "api_key": SECRETS[6]},
        "jellyfin": {"url": "http://127.0.0.1:9", "api_key": SECRETS[7]},
    });
    let (status, body) = send(
        &served,
        Method::PUT,
        "/api/settings/integrations",
        integrations,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    answers.push(body.to_string());
    for service in ["plex", "jellyfin"] {
        let path = format!("/api/settings/integrations/{service}/test");
        let (status, body) = send(&served, Method::POST, &path, json!({})).await;
        assert_eq!(status, 502, "{service} answered from a closed port: {body}");
        assert_eq!(body["code"], "INTEGRATION_UNREACHABLE", "{body}");
        answers.push(body.to_string());
    }
    // Every target's delivery ends logged as failed (after its retries).
    let mut listed = Value::Null;
    wait_until(
        std::time::Duration::from_secs(90),
        "every test delivery logged as failed",
        async || {
            let (_, all) = send(
                &served,
                Method::GET,
                "/api/settings/notifications",
                json!({}),
            )
            .await;
            listed = all.clone();
            let done = all.as_array().is_some_and(|a| {
                a.len() == ids.len()
                    && a.iter().all(|t| {
                        t["log"]
                            .as_array()
                            .is_some_and(|l| l.iter().any(|d| d["ok"] == false))
                    })
            });
            if done { Ok(()) } else { Err(all) }
        },
    )
    .await;
    assert!(
        !broken.to("/telegram").is_empty() && !broken.to("/discord").is_empty(),
        "the deliveries reached the failing service"
    );

    // Each delivery ends (its last retry) with our own debug line: debug reaches the files.
    wait_until(
        std::time::Duration::from_secs(60),
        "a debug \"notification done\" line per target in the log files",
        async || {
            let all = served.entries("level=debug&limit=5000").await;
            let done = all
                .iter()
                .filter(|e| e["level"] == "debug" && e["message"] == "notification done")
                .count();
            if done >= ids.len() { Ok(()) } else { Err(done) }
        },
    )
    .await;
    let mut found = leaks(&listed.to_string(), "the targets and their delivery logs");
    for (i, a) in answers.iter().enumerate() {
        found.extend(leaks(a, &format!("answer {i}")));
    }
    let logs = served.data_dir.join("logs");
    let mut files: Vec<_> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(served.stderr.clone());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        found.extend(leaks(&text, &path.display().to_string()));
    }
    assert!(found.is_empty(), "secrets leaked: {found:#?}");
}
