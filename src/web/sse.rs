//! `GET /api/events`: Server-Sent Events with ids. A client reconnecting with `Last-Event-ID`
//! first gets what it missed from the bus's replay ring (or `lagged` when that is gone), then
//! live events; a keep-alive comment goes out every 15 s. A stream ends at shutdown, and when
//! the credential that opened it stops working (logout, token revoked): it is checked again
//! each time some credential is revoked.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::auth::presented_token;
use super::extract::Caller;
use crate::auth::Auth;
use crate::events::Envelope;

/// Keep-alive period.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn to_sse(e: &Envelope) -> SseEvent {
    SseEvent::default()
        .event(e.name)
        .id(e.id.to_string())
        .data(e.data.clone())
}

fn lagged(skipped: u64) -> SseEvent {
    SseEvent::default()
        .event("lagged")
        .data(format!("{{\"skipped\":{skipped}}}"))
}

/// Event stream (SSE). Event names: status, progress, decision, log, config_updated,
/// scan_started, scan_completed, engine, thermal, lagged.
#[utoipa::path(
    get, path = "/events", tag = "events",
    params(("Last-Event-ID" = Option<u64>, Header, description = "Resume after this event id")),
    responses((status = 200, description = "text/event-stream of events", content_type = "text/event-stream", body = String))
)]
pub async fn events(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let sub = state.engine.events().subscribe(last);
    let mut first: Vec<SseEvent> = Vec::with_capacity(sub.replay.len() + 1);
    if sub.lagged {
        first.push(lagged(0));
    }
    let mut last_sent = last.unwrap_or(0);
    for e in &sub.replay {
        last_sent = last_sent.max(e.id);
        first.push(to_sse(e));
    }
    let replay = stream::iter(first.into_iter().map(Ok));
    let live = stream::unfold((sub.rx, last_sent), |(mut rx, last_sent)| async move {
        loop {
            match rx.recv().await {
                Ok(e) if e.id <= last_sent => continue,
                Ok(e) => {
                    let id = e.id;
                    return Some((Ok(to_sse(&e)), (rx, id)));
                }
                Err(RecvError::Lagged(n)) => return Some((Ok(lagged(n)), (rx, last_sent))),
                Err(RecvError::Closed) => return None,
            }
        }
    });
    // Streams end at shutdown, or graceful shutdown would wait for every client forever.
    let shutdown = state.shutdown.clone().cancelled_owned();
    let revoked = credential_revoked(state.auth.clone(), presented_token(&headers));
    let stream = futures_util::StreamExt::take_until(
        futures_util::StreamExt::chain(replay, live),
        async move {
            tokio::select! {
                _ = shutdown => {}
                _ = revoked => {}
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// Completes once the credential a stream was opened with no longer authenticates. Checked
/// only when some credential was revoked, so an idle server does no work for open streams.
pub(crate) async fn credential_revoked(auth: Auth, credential: Option<(String, bool)>) {
    let Some((token, via_cookie)) = credential else {
        return std::future::pending().await;
    };
    let mut revocations = auth.revocations();
    while revocations.changed().await.is_ok() {
        let still_valid = auth.authenticate(&token, via_cookie).await;
        // A store error ends the stream too: the client reconnects and is checked afresh.
        if !matches!(still_valid, Ok(Some(_))) {
            return;
        }
    }
    std::future::pending().await
}
