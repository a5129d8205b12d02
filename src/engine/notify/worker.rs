//! The notifier: a worker that turns what happens into messages. Its wake-ups are the event
//! bus (a job failed, the queue ran dry, a thermal pause), its input channel (notices from the
//! engine, "send test"), the next grouped message falling due, and the minute (summary hours and
//! the end of quiet hours). Each work step turns the events received into notices, gives each
//! to the targets that want it, adds daily summaries that are due, and starts a delivery task
//! for every message its batcher releases: sending never waits in the worker. The notices the
//! batchers hold (quiet hours, grouping) are kept in the store ([`HELD_SETTING`], at most every
//! [`KEEP_HELD_EVERY`] while they grow, so a storm of failures at night is not a storm of
//! writes, and once more at shutdown with whatever was received and not yet handled) and held
//! again at the next start: a reboot at night does not lose the failures the owner reads in the
//! morning. Messages still being sent at a stop are held again too. Counts beyond a batcher's list and its recent sends are not kept.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::batch::Batcher;
use super::render::{Message, Notice};
use super::target::{EventKind, Target};
use super::{Input, Notifications, summary};
use crate::engine::worker::Worker;
use crate::events::{Envelope, Event, EventBus};
use crate::model::count;

mod flights;
mod held;
mod notices;

pub(super) use notices::Pauser;
#[cfg(test)]
pub(super) use notices::pauser;

/// Longest sleep: summary hours and the end of quiet hours are noticed within it.
const MINUTE: Duration = Duration::from_secs(60);
/// Store key of the local day each target last got its daily summary.
const SUMMARY_SETTING: &str = "notifications.summary_days";
/// Store key of the notices each target's batcher holds: `{"<target id>": [notice, ...]}`.
pub(crate) const HELD_SETTING: &str = "notifications.held";
/// Least time between two writes of the held notices while there are any.
const KEEP_HELD_EVERY: Duration = Duration::from_secs(30);
/// Received events kept for the next work step; more are dropped and counted.
const MAX_BUFFERED: usize = 4096;
/// How long a stop waits for deliveries under way before holding them again (what already
/// waited is written before this; the init script gives the whole server 10 s, the web
/// server's drain included).
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(3);
/// Whether an engine event is news for the bus queue.
fn wanted(event: &Event) -> bool {
    matches!(
        event,
        Event::Status { .. } | Event::Thermal { .. } | Event::Engine(_)
    )
}

pub(crate) struct Notifier {
    handle: Notifications,
    input: mpsc::Receiver<Input>,
    events: broadcast::Receiver<Arc<Envelope>>,
    received: VecDeque<Input>,
    bus: VecDeque<Arc<Envelope>>,
    batchers: HashMap<u64, Batcher>,
    /// What the store holds of the batchers' notices; `None` until read at the first step.
    held: Option<BTreeMap<u64, Vec<Notice>>>,
    /// When the held notices were last written.
    held_kept_at: Option<Instant>,
    /// The local day each target last got its summary (kept in the store, so a restart
    /// within the summary hour does not send it twice); `None` until read.
    summarised: Option<HashMap<u64, i64>>,
    /// Jobs were queued or running at the last look (the queue running dry is news).
    busy: bool,
    /// Who held the engine at the last engine event: a viewers' or schedule pause is news
    /// when it begins, not each time its reason's text changes (a second stream).
    paused_by: Option<Pauser>,
    finished: (u64, u64),
    sent: u64,
    lost: u64,
    /// Deliveries under way (each its own task: sending never waits in the worker), and for
    /// each its target and the notices its message was made of (none for a test), so a stop
    /// can hold again what did not land.
    flying: JoinSet<()>,
    flights: HashMap<tokio::task::Id, (u64, Vec<Notice>)>,
}

impl Notifier {
    pub fn new(handle: Notifications, input: mpsc::Receiver<Input>, bus: &EventBus) -> Notifier {
        Notifier {
            handle,
            input,
            events: bus.subscribe(None).rx,
            received: VecDeque::new(),
            bus: VecDeque::new(),
            batchers: HashMap::new(),
            held: None,
            held_kept_at: None,
            summarised: None,
            busy: false,
            paused_by: None,
            finished: (0, 0),
            sent: 0,
            lost: 0,
            flying: JoinSet::new(),
            flights: HashMap::new(),
        }
    }
}

impl Notifier {
    /// Move what the input channel and the bus already have into the buffers, without waiting.
    fn take_ready(&mut self) {
        while let Ok(i) = self.input.try_recv() {
            self.received.push_back(i);
        }
        loop {
            match self.events.try_recv() {
                Ok(e) => self.buffer(e),
                Err(broadcast::error::TryRecvError::Lagged(n)) => self.lost += n,
                Err(_) => break,
            }
        }
    }

    /// Keep a bus event for the next step when it is news; past MAX_BUFFERED it is counted lost.
    fn buffer(&mut self, e: Arc<Envelope>) {
        if !wanted(&e.event) {
            return;
        }
        if self.bus.len() < MAX_BUFFERED {
            self.bus.push_back(e)
        } else {
            self.lost += 1
        }
    }

    /// Give each target's batcher the notices it wants.
    fn hold_for(&mut self, targets: &[Target], notices: &[Notice]) {
        for t in targets {
            for n in notices.iter().filter(|n| t.wants(n.event)) {
                self.batchers.entry(t.id).or_default().push(n.clone());
            }
        }
    }

    /// The buffered events and inputs as notices, and the "send test" requests.
    async fn take_received(&mut self) -> (Vec<Notice>, Vec<(u64, EventKind)>) {
        let mut notices = Vec::new();
        while let Some(envelope) = self.bus.pop_front() {
            notices.extend(self.notices(&envelope.event).await);
        }
        let mut tests = Vec::new();
        while let Some(input) = self.received.pop_front() {
            match input {
                Input::Notice(n) => notices.push(n),
                Input::Test { id, event } => tests.push((id, event)),
            }
        }
        (notices, tests)
    }
}

impl Worker for Notifier {
    fn name(&self) -> &'static str {
        "notifier"
    }

    async fn work(&mut self, _stop: &CancellationToken) {
        let targets = self.handle.targets();
        if self.held.is_none() {
            self.hold_again().await;
        }
        self.batchers
            .retain(|id, _| targets.iter().any(|t| t.id == *id));
        let dropped = self.handle.take_dropped() + std::mem::take(&mut self.lost);
        if dropped > 0 {
            tracing::warn!(dropped, "notifications dropped: the notifier fell behind");
        }
        let (notices, tests) = self.take_received().await;
        let zone = summary::zone(self.handle.store()).await;
        let (day, hour, minute) = summary::local(Timestamp::now(), &zone);
        for (id, event) in tests {
            let Some(t) = targets.iter().find(|t| t.id == id) else {
                continue;
            };
            let notice = match event {
                EventKind::DailySummary => summary::build(self.handle.store()).await.ok(),
                _ => Some(Notice {
                    event: EventKind::Test,
                    title: "Test from Alchemist".into(),
                    message: format!("This is a test notification for \"{}\".", t.name),
                    job: None,
                }),
            };
            if let Some(n) = notice {
                // A test is not held again at a stop.
                self.deliver(t.clone(), Message::group(vec![n], "minute"), Vec::new());
            }
        }
        let store = self.handle.store().clone();
        let summarised = match &mut self.summarised {
            Some(s) => s,
            None => {
                let stored = store
                    .call(|s| s.setting(SUMMARY_SETTING))
                    .await
                    .ok()
                    .flatten();
                let days = stored.and_then(|v| serde_json::from_value(v).ok());
                self.summarised.insert(days.unwrap_or_default())
            }
        };
        let due: Vec<u64> = targets
            .iter()
            .filter(|t| t.wants(EventKind::DailySummary) && hour == t.summary_hour)
            .filter(|t| summarised.get(&t.id) != Some(&day))
            .map(|t| t.id)
            .collect();
        if !due.is_empty() {
            summarised.extend(due.iter().map(|id| (*id, day)));
            let value = serde_json::to_value(&*summarised).unwrap_or_default();
            if let Err(e) = store
                .call(move |s| s.set_setting(SUMMARY_SETTING, &value))
                .await
            {
                tracing::warn!(error = %e, "the summary days could not be kept");
            }
        }
        let daily = match due.is_empty() {
            true => None,
            false => summary::build(&store).await.ok(),
        };
        if let Some(n) = &daily {
            for id in &due {
                self.batchers.entry(*id).or_default().push(n.clone());
            }
        }
        self.hold_for(&targets, &notices);
        let now = Instant::now();
        for t in targets {
            let quiet = summary::is_quiet(t.quiet_hours.as_ref(), minute);
            let due = match self.batchers.get_mut(&t.id) {
                Some(b) => b.due_with_notices(now, quiet, t.failures_break_quiet),
                None => continue,
            };
            for (m, notices) in due {
                self.deliver(t.clone(), m, notices);
            }
        }
        self.keep_held(false).await;
    }

    async fn wait(&mut self) {
        let now = Instant::now();
        let next = self.batchers.values().filter_map(|b| b.next_due(now)).min();
        let sleep = next
            .map(|t| t.duration_since(now))
            .unwrap_or(MINUTE)
            .min(MINUTE);
        if sleep.is_zero() {
            return;
        }
        let sleep = tokio::time::sleep(sleep);
        tokio::pin!(sleep);
        tokio::select! {
            _ = &mut sleep => {}
            input = self.input.recv() => match input {
                Some(i) => self.received.push_back(i),
                None => (&mut sleep).await,
            },
            event = self.events.recv() => match event {
                Ok(e) => self.buffer(e),
                Err(broadcast::error::RecvError::Lagged(n)) => self.lost += n,
                Err(broadcast::error::RecvError::Closed) => (&mut sleep).await,
            },
        }
        // Take whatever else is already there, so one work step handles a burst.
        self.take_ready();
    }

    /// At shutdown: what was received but not yet handled is held with the rest, so are the
    /// messages still being sent after a short grace, and what the batchers hold is written
    /// at once (the step's writes wait up to KEEP_HELD_EVERY), so a
    /// failure noticed just before a reboot is not lost. A "send test" is dropped.
    async fn on_stop(&mut self) {
        if self.held.is_none() {
            // Stopped before the first step read the store: what it holds stays as it is.
            return;
        }
        self.take_ready();
        let (notices, _tests) = self.take_received().await;
        self.hold_for(&self.handle.targets(), &notices);
        // What waits is written first; deliveries under way get their grace after that.
        self.keep_held(true).await;
        if self.ground_flights().await > 0 {
            self.keep_held(true).await;
        }
    }

    fn status(&self) -> String {
        let pending: usize = self.batchers.values().map(Batcher::pending).sum();
        format!(
            "{} sent, {pending} waiting (quiet hours or grouping)",
            count(self.sent, "message", "messages")
        )
    }
}
