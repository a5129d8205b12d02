//! Uploads and the request time limit (`[security] request_timeout_seconds`, 2 s here): a
//! backup sent to `POST /api/system/restore` slowly but steadily, for three times the limit,
//! is read to its end and judged (this one is not a backup: 422, not 408); one that stalls for
//! longer than the limit is cut with 408; an ordinary request whose body takes longer than the
//! limit is still cut at the limit.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::TestServer;

const LIMIT: Duration = Duration::from_secs(2);

/// A body of `chunks` 4 KiB pieces, each after `gap` (the piece at `stall_at` waits `stall`
/// more).
fn slow_body(chunks: usize, gap: Duration, stall_at: Option<(usize, Duration)>) -> reqwest::Body {
    let pieces = futures_util::stream::iter(0..chunks).then(move |i| async move {
        let extra = stall_at
            .filter(|(at, _)| *at == i)
            .map_or(Duration::ZERO, |(_, d)| d);
        tokio::time::sleep(gap + extra).await;
        Ok::<_, std::io::Error>(vec![b'x'; 4096])
    });
    reqwest::Body::wrap_stream(pieces)
}

async fn post(
    server: &TestServer,
    token: &str,
    path: &str,
    body: reqwest::Body,
) -> (StatusCode, Value) {
    let r = server
        .http
        .post(server.url(path))
        .bearer_auth(token)
        .header(
            "content-type",
            if path.ends_with("/restore") {
                "application/x-tar"
            } else {
                "application/json"
            },
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_upload_outlasts_the_request_limit_and_a_stalled_one_does_not() {
    let server = TestServer::start_with(|c| c.security.request_timeout = LIMIT).await;
    let token = server.login().await;

    // 6 s in all, a piece every 250 ms: read to its end and checked.
    let body = slow_body(24, Duration::from_millis(250), None);
    let (status, problem) = post(&server, &token, "/api/system/restore", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem:#}");
    assert_eq!(problem["code"], "BACKUP_INVALID", "{problem:#}");

    // Two pieces, then nothing for 6 s: cut one limit after the last piece.
    let body = slow_body(
        4,
        Duration::from_millis(100),
        Some((2, Duration::from_secs(6))),
    );
    let (status, problem) = post(&server, &token, "/api/system/restore", body).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{problem:#}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("made no progress for 2 s"),
        "{problem:#}"
    );

    // Any other route: the whole request within the limit, steady or not.
    let body = slow_body(24, Duration::from_millis(250), None);
    let (status, problem) = post(&server, &token, "/api/jobs/enqueue", body).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT, "{problem:#}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not complete within 2 s"),
        "{problem:#}"
    );
    server.stop().await;
}
