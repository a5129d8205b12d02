//! `GET /api/system/logs`, its download and the page's level filter on log files the test
//! writes into an in-process server's `<data>/logs/` (the in-process server keeps no log of
//! its own, so these lines are all there is): the newest lines come back oldest first, `level`,
//! `since` and `limit` filter, bad parameters are 400 problems, read-only tokens are refused,
//! `/api/v1` answers too.

use std::io::Write;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::problem;
use crate::support::pages::{get_page, select};

/// Lines as the JSON formatter writes them: one a second from 10:00:00 today (UTC) minus a
/// day, so they are inside a one-day download; every tenth a warning, every 25th an error.
fn write_fixture(server: &TestServer) -> String {
    let dir = server.data_dir.join("logs");
    std::fs::create_dir_all(&dir).unwrap();
    let day = time::OffsetDateTime::now_utc() - time::Duration::hours(12);
    let date = day.date();
    let mut n = 0u32;
    for name in ["alchemist.log.1", "alchemist.log"] {
        let mut f = std::fs::File::create(dir.join(name)).unwrap();
        for _ in 0..150 {
            let level = match n {
                _ if n.is_multiple_of(25) => "ERROR",
                _ if n.is_multiple_of(10) => "WARN",
                _ if n.is_multiple_of(2) => "DEBUG",
                _ => "INFO",
            };
            let line = json!({
                "timestamp": format!("{date}T10:{:02}:{:02}.000000Z", n / 60, n % 60),
                "level": level,
                "fields": {"message": format!("line {n}"), "n": n},
                "target": "alchemist::fixture",
                "spans": [{"job_id": 7, "name": "job"}],
            });
            writeln!(f, "{line}").unwrap();
            n += 1;
        }
    }
    date.to_string()
}

async fn entries(server: &TestServer, token: &str, query: &str) -> (Vec<Value>, bool) {
    let body = server
        .get_json(&format!("/api/system/logs?{query}"), token)
        .await;
    (
        body["entries"].as_array().unwrap().clone(),
        body["truncated"].as_bool().unwrap(),
    )
}

fn numbers(entries: &[Value]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| e["fields"]["n"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_api_filters_by_level_since_and_limit() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let date = write_fixture(&server);

    // Default: info and above (180 of the 300 lines, under the default limit), oldest first.
    let (all, truncated) = entries(&server, &token, "").await;
    let want: Vec<u64> = (0..300u64)
        .filter(|n| n % 2 == 1 || n.is_multiple_of(10))
        .collect();
    assert_eq!(numbers(&all), want, "info and above, across both files");
    assert!(!truncated);
    let first = &all[0];
    assert_eq!(first["level"], "error");
    assert_eq!(first["message"], "line 0");
    assert_eq!(first["target"], "alchemist::fixture");
    assert_eq!(first["at"], format!("{date}T10:00:00.000000Z"));
    assert_eq!(first["fields"]["job_id"], 7, "span fields are kept");

    // limit: the newest n, newest last, and the answer says there is more.
    let (newest, truncated) = entries(&server, &token, "limit=3").await;
    assert_eq!(numbers(&newest), [295, 297, 299]);
    assert!(truncated);
    let (debug, _) = entries(&server, &token, "level=debug&limit=5000").await;
    assert_eq!(debug.len(), 300, "debug includes everything above it");

    // level: the least severe level returned.
    let (warn, _) = entries(&server, &token, "level=warn").await;
    let want: Vec<u64> = (0..300u64)
        .filter(|n| n.is_multiple_of(10) || n.is_multiple_of(25))
        .collect();
    assert_eq!(numbers(&warn), want);
    let (errors, _) = entries(&server, &token, "level=ERROR").await;
    assert_eq!(numbers(&errors), (0..300).step_by(25).collect::<Vec<_>>());

    // since: RFC 3339 or Unix seconds; both reach into the rotated file.
    let (since, _) = entries(
        &server,
        &token,
        &format!("level=warn&since={date}T10:02:20Z"),
    )
    .await;
    assert_eq!(
        numbers(&since),
        [
            140, 150, 160, 170, 175, 180, 190, 200, 210, 220, 225, 230, 240, 250, 260, 270, 275,
            280, 290
        ]
    );
    let unix = time::OffsetDateTime::parse(
        &format!("{date}T10:04:00Z"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp();
    let (since, _) = entries(&server, &token, &format!("level=error&since={unix}")).await;
    assert_eq!(numbers(&since), [250, 275]);

    // The boundary is exact: nothing from just before `since`.
    let (edge, _) = entries(
        &server,
        &token,
        &format!("level=debug&since={date}T10:04:58Z"),
    )
    .await;
    assert_eq!(numbers(&edge), [298, 299]);

    // The /api/v1 alias answers the same.
    let v1 = server
        .get_json("/api/v1/system/logs?level=error&limit=2", &token)
        .await;
    assert_eq!(numbers(v1["entries"].as_array().unwrap()), [250, 275]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_log_queries_are_problems_and_read_only_tokens_are_refused() {
    let server = TestServer::start().await;
    let token = server.login().await;
    for query in [
        "level=loud",
        "since=yesterday",
        "since=-5",
        "limit=0",
        "limit=5001",
        "limit=ten",
    ] {
        let r = server
            .bearer(Method::GET, &format!("/api/system/logs?{query}"), &token)
            .send()
            .await
            .unwrap();
        problem(r, 400, "INVALID_QUERY").await;
    }
    for path in [
        "/api/system/logs/download?days=0",
        "/api/system/logs/download?days=91",
        "/api/system/logs/stream?level=chatty",
    ] {
        let r = server
            .bearer(Method::GET, path, &token)
            .send()
            .await
            .unwrap();
        problem(r, 400, "INVALID_QUERY").await;
    }
    let r = server
        .post_json(
            "/api/settings/api-tokens",
            &token,
            json!({"name": "dashboard", "access_level": "read_only"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let read_only = r.json::<Value>().await.unwrap()["plaintext_token"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [
        "/api/system/logs",
        "/api/system/logs/stream",
        "/api/system/logs/download",
    ] {
        let r = server
            .bearer(Method::GET, path, &read_only)
            .send()
            .await
            .unwrap();
        problem(r, 403, "TOKEN_FORBIDDEN").await;
        let r = server.http.get(server.url(path)).send().await.unwrap();
        problem(r, 401, "AUTH_REQUIRED").await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_sends_the_last_days_oldest_first_and_the_page_filters() {
    let server = TestServer::start().await;
    let token = server.login().await;
    // Nothing logged yet: an empty download, not an error.
    let r = server
        .bearer(Method::GET, "/api/system/logs/download", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().is_empty());

    write_fixture(&server);
    let r = server
        .bearer(Method::GET, "/api/system/logs/download?days=2", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"alchemist-logs-"),
        "{disposition}"
    );
    let text = r.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 300, "both files, every level");
    assert_eq!(lines[0]["fields"]["n"], 0, "oldest first");
    assert_eq!(lines[299]["fields"]["n"], 299);

    // The page: a GET form with the level; error lines only at `error`.
    let (status, doc) = get_page(&server, "/system/logs?level=error", &token).await;
    assert_eq!(status, 200);
    let items = select(&doc, "#log-lines li");
    assert_eq!(items.len(), 12, "the twelve errors");
    let last = items[11].text().collect::<String>();
    assert!(
        last.contains("line 275") && last.contains("job_id=7"),
        "{last}"
    );
    assert_eq!(items[11].value().attr("class"), Some("error"));
    assert_eq!(
        select(&doc, "#logs-level option[selected]")[0]
            .value()
            .attr("value"),
        Some("error")
    );
    assert_eq!(
        select(&doc, "a[href='/system/logs'][aria-current=page]").len(),
        1,
        "in the navigation"
    );
    let (_, doc) = get_page(&server, "/system/logs", &token).await;
    assert_eq!(
        select(&doc, "#log-lines li").len(),
        180,
        "info and above: every one of them"
    );
    let (status, _) = get_page(&server, "/system/logs?level=loud", &token).await;
    assert_eq!(status, 400);
    server.stop().await;
}
