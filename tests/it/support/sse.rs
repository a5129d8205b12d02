//! The server's event stream (`/api/events`) as a test reads it: events parsed one by one,
//! waits for an event that matches, quiet windows that fail at the first event they forbid,
//! and the job status helpers built on them.

use std::time::Duration;

use reqwest::Response;
use serde_json::Value;
use tokio::time::Instant;

/// One parsed SSE event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: Option<u64>,
    pub event: String,
    pub data: Value,
}

pub struct SseReader {
    resp: Response,
    buf: String,
}

impl SseReader {
    /// A reader over an open `text/event-stream` response.
    pub fn new(resp: Response) -> SseReader {
        SseReader {
            resp,
            buf: String::new(),
        }
    }

    /// Next event (comments skipped), or `None` after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..pos + 2).collect();
                let mut ev = SseEvent {
                    id: None,
                    event: "message".into(),
                    data: Value::Null,
                };
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        ev.id = v.trim().parse().ok();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        ev.event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() && ev.id.is_none() {
                    continue; // keep-alive comment
                }
                ev.data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                return Some(ev);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            match tokio::time::timeout(left, self.resp.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }

    /// Whether the server ends the stream within `timeout` (events on the way are skipped).
    pub async fn ended(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.resp.chunk()).await {
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) | Ok(Err(_)) => return true,
                Err(_) => return false,
            }
        }
    }

    /// Read events until one satisfies `pred`; returns it and everything seen before.
    pub async fn until(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&SseEvent) -> bool,
    ) -> (SseEvent, Vec<SseEvent>) {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(ev) = self.next(left).await else {
                panic!("no matching event within {timeout:?}; seen: {seen:#?}");
            };
            if pred(&ev) {
                return (ev, seen);
            }
            seen.push(ev);
        }
    }

    /// Every event that arrives within `window`.
    pub async fn during(&mut self, window: Duration) -> Vec<SseEvent> {
        self.assert_quiet(window, "", |_| false).await
    }

    /// Absence over a window: read events for `window` and fail at the first one that
    /// `forbidden` matches, saying that `what` happened. Returns the events read.
    pub async fn assert_quiet(
        &mut self,
        window: Duration,
        what: &str,
        forbidden: impl Fn(&SseEvent) -> bool,
    ) -> Vec<SseEvent> {
        let deadline = Instant::now() + window;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return seen;
            }
            if let Some(ev) = self.next(left).await {
                assert!(!forbidden(&ev), "{what}: {ev:?}");
                seen.push(ev);
            }
        }
    }
}

/// Whether `ev` is a status change of job `id` to `status`.
pub fn is_status(ev: &SseEvent, id: u64, status: &str) -> bool {
    ev.event == "status" && ev.data["job_id"] == id && ev.data["status"] == status
}

/// Whether `ev` is about job `id` (status, decision, progress, its log lines).
pub fn is_about(ev: &SseEvent, id: u64) -> bool {
    ev.data["job_id"] == id
}

/// Read events until job `id` reaches `status`; returns everything read, that event last.
pub async fn events_until_status(
    sse: &mut SseReader,
    id: u64,
    status: &str,
    timeout: Duration,
) -> Vec<SseEvent> {
    let (hit, mut seen) = sse.until(timeout, |e| is_status(e, id, status)).await;
    seen.push(hit);
    seen
}

/// `(status, previous)` of every status event of job `id`, in order.
pub fn status_changes(events: &[SseEvent], id: u64) -> Vec<(String, Value)> {
    events
        .iter()
        .filter(|e| e.event == "status" && e.data["job_id"] == id)
        .map(|e| {
            assert!(
                e.data.as_object().unwrap().contains_key("previous"),
                "status events carry `previous`: {e:?}"
            );
            (
                e.data["status"].as_str().unwrap().to_string(),
                e.data["previous"].clone(),
            )
        })
        .collect()
}
