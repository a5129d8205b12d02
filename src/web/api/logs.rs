//! The server's own log (`crate::logs`), for full-access callers: `GET /api/system/logs`
//! (the newest lines, filtered by level and time, read from the end of the files),
//! `GET /api/system/logs/stream` (new lines over SSE) and `GET /api/system/logs/download`
//! (the lines of the last days as one JSON-lines file). Job logs stay with their job.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;

use crate::logs::Level;
use crate::logs::read;
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiQuery, FullAccess};
use crate::web::maintenance::logs::{
    LogsPage, LogsParams, MAX_DAYS, dir, find, parse_level, since_param,
};

/// The server's newest log lines, oldest first, read from the end of `<data>/logs/`.
#[utoipa::path(get, path = "/system/logs", tag = "system", operation_id = "logs", params(LogsParams),
    responses(
        (status = 200, body = LogsPage),
        (status = 400, description = "A bad level, time or limit", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Needs full access", body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn list(
    _access: FullAccess,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<LogsParams>,
) -> ApiResult<Json<LogsPage>> {
    Ok(Json(find(&state, params.parse()?).await?))
}

/// Query of `GET /api/system/logs/stream`.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Least severe level sent: error, warn, info (default), debug or trace
    pub level: Option<String>,
    /// First send the lines the server still holds in memory (its newest 256) logged at or
    /// after this time (RFC 3339, or Unix seconds): what came between reading the log and
    /// opening the stream
    pub since: Option<String>,
}

/// What the live tail hands one client: a line at or above its level (as JSON), or how many
/// lines it fell behind by.
#[derive(Debug, PartialEq)]
enum Live {
    Line(String),
    Lagged(u64),
}

impl Live {
    fn event(self) -> SseEvent {
        match self {
            Live::Line(data) => SseEvent::default().event("log").data(data),
            Live::Lagged(skipped) => SseEvent::default()
                .event("lagged")
                .data(format!("{{\"skipped\":{skipped}}}")),
        }
    }
}

/// The lines of `recent` at or above `min` logged at or after `since` (Unix nanoseconds).
fn replay(recent: Vec<Arc<str>>, min: Level, since: i128) -> Vec<Live> {
    recent
        .iter()
        .filter_map(|line| crate::logs::parse_line(line))
        .filter(|e| e.level >= min && crate::logs::nanos(&e.at).is_some_and(|at| at >= since))
        .map(|e| Live::Line(serde_json::to_string(&e).unwrap_or_default()))
        .collect()
}

/// The live tail from `rx`, filtered to `min` and above; ends when the sender is gone.
fn live(rx: broadcast::Receiver<Arc<str>>, min: Level) -> impl Stream<Item = Live> {
    stream::unfold(rx, move |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(line) => {
                    let Some(entry) = crate::logs::parse_line(&line) else {
                        continue;
                    };
                    if entry.level < min {
                        continue;
                    }
                    let data = serde_json::to_string(&entry).unwrap_or_default();
                    return Some((Live::Line(data), rx));
                }
                Err(RecvError::Lagged(n)) => return Some((Live::Lagged(n), rx)),
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// New log lines as they are written: `event: log` with a log entry as `data`. With `since`,
/// the lines logged from then on that the server still holds in memory come first (a page
/// passes the time it read the log, so a line logged before its stream opened is not lost;
/// the client drops lines it already shows). A client that falls behind the server's ring of
/// 512 lines gets `event: lagged` with `{"skipped": n}` and continues from the oldest line
/// still there. Ends at shutdown and when the credential that opened it is revoked.
#[utoipa::path(get, path = "/system/logs/stream", tag = "system", operation_id = "logs_stream", params(StreamParams),
    responses(
        (status = 200, description = "text/event-stream of `log` events", content_type = "text/event-stream", body = String),
        (status = 400, description = "A bad level", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Needs full access", body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn stream(
    _access: FullAccess,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<StreamParams>,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let min = parse_level(params.level.as_deref())?;
    let since = since_param(params.since.as_deref())?;
    let live: BoxStream<'static, Result<SseEvent, Infallible>> = match crate::logs::subscribe() {
        Some(tail) => {
            let replayed = since.map_or_else(Vec::new, |t| replay(tail.recent, min, t));
            stream::iter(replayed)
                .chain(live(tail.live, min))
                .map(|l| Ok(l.event()))
                .boxed()
        }
        // This process keeps no log files (a test server): nothing will come, but the stream
        // stays open like a quiet one instead of making the client reconnect in a loop.
        None => stream::pending().boxed(),
    };
    let shutdown = state.shutdown.clone().cancelled_owned();
    let revoked = crate::web::sse::credential_revoked(
        state.auth.clone(),
        crate::web::auth::presented_token(&headers),
    );
    let live = live.take_until(async move {
        tokio::select! {
            _ = shutdown => {}
            _ = revoked => {}
        }
    });
    Ok(Sse::new(live).keep_alive(KeepAlive::new().interval(crate::web::sse::KEEP_ALIVE)))
}

/// Query of `GET /api/system/logs/download`.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    /// How many days back, 1..90, default 1
    pub days: Option<String>,
}

/// The log lines of the last `days` days, oldest first, as one JSON-lines file (the format of
/// the files on disk, one object per line), streamed from the rotated files.
#[utoipa::path(get, path = "/system/logs/download", tag = "system", operation_id = "logs_download", params(DownloadParams),
    responses(
        (status = 200, description = "JSON lines, oldest first", content_type = "application/x-ndjson", body = String),
        (status = 400, description = "A bad number of days", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Needs full access", body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn download(
    _access: FullAccess,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DownloadParams>,
) -> ApiResult<Response> {
    let days = match params.days.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "INVALID_QUERY",
                    format!("`days` must be a whole number from 1 to {MAX_DAYS}"),
                )
            })?,
    };
    let dir = dir(&state)?;
    let cutoff = SystemTime::now() - Duration::from_secs(days * 86_400);
    let cutoff_nanos = cutoff
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    // The files are opened now: what is sent is what they hold at this moment.
    let files = tokio::task::spawn_blocking(move || read::since_files(&dir, cutoff))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    // A few pieces in flight at most: a slow client holds the reading thread, not memory.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        let sent = read::copy_since(files, cutoff_nanos, |piece| {
            tx.blocking_send(Ok(piece)).is_ok()
        });
        if let Err(e) = sent {
            tracing::warn!(error = %e, "log download cut short");
            // Fails the response body, so the client sees a broken download, not a short one.
            let _ = tx.blocking_send(Err(e));
        }
    });
    let body = stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece.map(Bytes::from), rx))
    });
    let today = time::OffsetDateTime::now_utc().date();
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"alchemist-logs-{today}-{days}d.jsonl\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[cfg(test)]
#[path = "logs_tests.rs"]
mod tests;
