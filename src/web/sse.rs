//! `GET /api/events`: Server-Sent Events with ids. A client reconnecting with `Last-Event-ID`
//! first gets what it missed from the bus's replay ring (or `lagged` when that is gone), then
//! live events; a keep-alive comment goes out every 15 s.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::extract::Caller;
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
/// scan_started, scan_completed, engine, lagged.
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
    let stream = futures_util::StreamExt::take_until(
        futures_util::StreamExt::chain(replay, live),
        state.shutdown.clone().cancelled_owned(),
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}
