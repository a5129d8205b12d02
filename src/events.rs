//! The one event vocabulary and its bus. The engine, scanner and config watcher publish; the SSE
//! route (and later the LED driver and the pages) subscribe. Every event gets a monotonically
//! increasing id and is kept in a bounded ring so a client reconnecting with `Last-Event-ID`
//! receives what it missed, or learns it lagged too far behind.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::model::{EngineStatus, Explanation, JobId, JobState, LogLevel};

/// How many past events a reconnecting client can catch up on. At the progress rate limit
/// (2/s per job) this covers several minutes of a busy engine.
pub const REPLAY_CAPACITY: usize = 4096;
/// Per-subscriber queue; a subscriber that falls further behind gets `lagged`.
const CHANNEL_CAPACITY: usize = 1024;

/// Everything that can happen, as pushed to SSE clients.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Status {
        job_id: JobId,
        status: JobState,
        previous: Option<JobState>,
    },
    Progress {
        job_id: JobId,
        percent: f64,
        fps: f64,
        speed: f64,
        out_time_seconds: f64,
        eta_seconds: Option<f64>,
    },
    Decision {
        job_id: JobId,
        action: &'static str,
        explanation: Explanation,
    },
    Log {
        job_id: Option<JobId>,
        level: LogLevel,
        message: String,
    },
    ConfigUpdated {
        keys: Vec<String>,
    },
    ScanStarted {
        folder_count: usize,
    },
    ScanCompleted {
        found: u64,
        queued: u64,
        skipped: u64,
        seconds: f64,
    },
    Engine(EngineStatus),
    /// The board's thermal guard paused or resumed the engine.
    Thermal {
        sensor: &'static str,
        celsius: f64,
        action: &'static str,
    },
}

impl Event {
    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Status { .. } => "status",
            Event::Progress { .. } => "progress",
            Event::Decision { .. } => "decision",
            Event::Log { .. } => "log",
            Event::ConfigUpdated { .. } => "config_updated",
            Event::ScanStarted { .. } => "scan_started",
            Event::ScanCompleted { .. } => "scan_completed",
            Event::Engine(_) => "engine",
            Event::Thermal { .. } => "thermal",
        }
    }

    /// The SSE `data:` payload.
    pub fn data(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Event::Status {
                job_id,
                status,
                previous,
            } => json!({"job_id": job_id, "status": status, "previous": previous}),
            Event::Progress {
                job_id,
                percent,
                fps,
                speed,
                out_time_seconds,
                eta_seconds,
            } => json!({"job_id": job_id, "percent": percent, "fps": fps, "speed": speed,
                        "out_time_seconds": out_time_seconds, "eta_seconds": eta_seconds}),
            Event::Decision {
                job_id,
                action,
                explanation,
            } => json!({"job_id": job_id, "action": action, "explanation": explanation}),
            Event::Log {
                job_id,
                level,
                message,
            } => json!({"job_id": job_id, "level": level, "message": message}),
            Event::ConfigUpdated { keys } => json!({ "keys": keys }),
            Event::ScanStarted { folder_count } => json!({ "folder_count": folder_count }),
            Event::ScanCompleted {
                found,
                queued,
                skipped,
                seconds,
            } => json!({"found": found, "queued": queued, "skipped": skipped, "seconds": seconds}),
            Event::Engine(status) => serde_json::to_value(status).unwrap_or_default(),
            Event::Thermal {
                sensor,
                celsius,
                action,
            } => json!({"sensor": sensor, "celsius": celsius, "action": action}),
        }
    }
}

/// An event as sent: id, name and serialized data (serialized once, shared by all SSE clients),
/// and the event itself for subscribers inside the server (the engine's workers wake on it).
#[derive(Debug, Clone, Serialize)]
pub struct Envelope {
    pub id: u64,
    pub name: &'static str,
    pub data: String,
    #[serde(skip)]
    pub event: Event,
}

struct Ring {
    next_id: u64,
    events: VecDeque<Arc<Envelope>>,
}

/// Fan-out of events with a replay ring. Cheap to clone.
#[derive(Clone)]
pub struct EventBus {
    ring: Arc<Mutex<Ring>>,
    tx: broadcast::Sender<Arc<Envelope>>,
}

/// What a new subscriber gets: the missed events to send first, whether some were lost, and the
/// live receiver (already subscribed before the replay was taken, so nothing falls in between).
pub struct Subscription {
    pub replay: Vec<Arc<Envelope>>,
    pub lagged: bool,
    pub rx: broadcast::Receiver<Arc<Envelope>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        EventBus {
            ring: Arc::new(Mutex::new(Ring {
                next_id: 1,
                events: VecDeque::with_capacity(256),
            })),
            tx,
        }
    }

    /// Publish an event; returns its id.
    pub fn publish(&self, event: Event) -> u64 {
        let data = event.data().to_string();
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let envelope = Arc::new(Envelope {
            id: ring.next_id,
            name: event.name(),
            data,
            event,
        });
        ring.next_id += 1;
        if ring.events.len() == REPLAY_CAPACITY {
            ring.events.pop_front();
        }
        ring.events.push_back(envelope.clone());
        // Sent under the ring lock so ids reach every receiver in order.
        let _ = self.tx.send(envelope.clone());
        envelope.id
    }

    /// Subscribe, replaying everything after `last_event_id` when given.
    pub fn subscribe(&self, last_event_id: Option<u64>) -> Subscription {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.tx.subscribe();
        let Some(last) = last_event_id else {
            return Subscription {
                replay: Vec::new(),
                lagged: false,
                rx,
            };
        };
        let oldest = ring.events.front().map(|e| e.id).unwrap_or(ring.next_id);
        // Saturating: a client may send any u64 (`u64::MAX` must not overflow).
        let lagged = last.saturating_add(1) < oldest && last < ring.next_id;
        let replay = ring
            .events
            .iter()
            .filter(|e| e.id > last)
            .cloned()
            .collect();
        Subscription { replay, lagged, rx }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: usize) -> Event {
        Event::Log {
            job_id: None,
            level: LogLevel::Info,
            message: format!("m{n}"),
        }
    }

    #[test]
    fn ids_increase_and_replay_after_last_id() {
        let bus = EventBus::new();
        for i in 0..5 {
            assert_eq!(bus.publish(log(i)), i as u64 + 1);
        }
        let sub = bus.subscribe(Some(3));
        let ids: Vec<u64> = sub.replay.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![4, 5]);
        assert!(!sub.lagged);
    }

    #[test]
    fn too_old_last_id_reports_lag() {
        let bus = EventBus::new();
        for i in 0..REPLAY_CAPACITY + 10 {
            bus.publish(log(i));
        }
        let sub = bus.subscribe(Some(2));
        assert!(sub.lagged);
        assert_eq!(sub.replay.len(), REPLAY_CAPACITY);
    }

    #[tokio::test]
    async fn live_events_follow_replay() {
        let bus = EventBus::new();
        bus.publish(log(0));
        let mut sub = bus.subscribe(Some(0));
        bus.publish(log(1));
        assert_eq!(sub.replay.len(), 1);
        let live = sub.rx.recv().await.unwrap();
        assert_eq!(live.id, 2);
        assert_eq!(live.name, "log");
        assert!(live.data.contains("m1"));
    }
}
