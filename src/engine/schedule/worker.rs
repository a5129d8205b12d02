//! The scheduler: a worker that applies the schedule's edges to the engine. Its wake-up is the
//! next window boundary (capped, so a wall clock set by NTP after boot or a new time zone is
//! noticed within a minute), a saved schedule, or an `engine` event (which keeps its status
//! current; it does not act on one, see the module paragraph on who wins).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::window::{self, Evaluation};
use super::{OutsideWindow, Schedule};
use crate::engine::control::Control;
use crate::engine::worker::Worker;
use crate::events::{Envelope, Event};

/// Longest sleep between evaluations: `tokio` sleeps on the monotonic clock, so a jump of the
/// wall clock (the board has no RTC; NTP sets it after boot) or a new zone is seen this late.
const MAX_SLEEP: Duration = Duration::from_secs(60);

pub(crate) struct Scheduler {
    schedule: Schedule,
    control: Control,
    events: broadcast::Receiver<Arc<Envelope>>,
    /// The schedule revision and window state last applied (`None`: not yet since start).
    applied: Option<(u64, bool)>,
    last: Option<Evaluation>,
    line: String,
}

impl Scheduler {
    pub fn new(schedule: Schedule, control: Control, events: &crate::events::EventBus) -> Self {
        Scheduler {
            schedule,
            control,
            events: events.subscribe(None).rx,
            applied: None,
            last: None,
            line: "starting".into(),
        }
    }
}

/// The pause reason while the schedule holds the engine.
pub(super) fn reason(outside: OutsideWindow, next: Option<Timestamp>, zone: &TimeZone) -> String {
    let what = match outside {
        OutsideWindow::Finish => "running jobs finish, nothing new starts",
        OutsideWindow::Suspend => "encodes suspended",
        OutsideWindow::Requeue => "running jobs queued again",
    };
    match next {
        Some(at) => format!(
            "outside the schedule window: {what} until {}",
            at.to_zoned_datetime(zone.clone()).strftime("%a %H:%M")
        ),
        None => format!("outside the schedule window: {what} (no window opens)"),
    }
}

impl Worker for Scheduler {
    fn name(&self) -> &'static str {
        "scheduler"
    }

    async fn work(&mut self, _stop: &CancellationToken) {
        self.schedule.refresh_zone().await;
        let snap = self.schedule.snapshot();
        let eval = window::evaluate(&snap.plan, Timestamp::now(), &snap.zone);
        let edge = (snap.revision, eval.in_window);
        let result = if self.applied == Some(edge) {
            // No edge: tell subscribers only when what the status shows has moved.
            if self.last != Some(eval) {
                self.control.announce();
            }
            Ok(())
        } else if eval.in_window {
            self.control.schedule_release().await.map(|_| ())
        } else {
            let why = reason(snap.outside, eval.next_change, &snap.zone);
            self.control
                .schedule_hold(snap.outside, why)
                .await
                .map(|_| ())
        };
        match result {
            Ok(()) => self.applied = Some(edge),
            Err(e) => tracing::error!(error = %e, "the schedule could not change the engine"),
        }
        self.last = Some(eval);
        let next = eval.next_change.map(|t| {
            t.to_zoned_datetime(snap.zone.clone())
                .strftime("%a %H:%M")
                .to_string()
        });
        let state = match (snap.plan.enabled, eval.in_window, next) {
            (false, _, _) => "schedule off".to_string(),
            (true, true, Some(at)) => format!("in a window until {at}"),
            (true, true, None) => "in a window that never closes".into(),
            (true, false, Some(at)) => format!("outside the windows until {at}"),
            (true, false, None) => "outside the windows; none opens".into(),
        };
        // The revision shows which save is in force (saves since the server started).
        self.line = format!("{state} (schedule rev. {})", snap.revision);
    }

    async fn wait(&mut self) {
        let until_change = self
            .last
            .and_then(|e| e.next_change)
            .map(|t| {
                Timestamp::now()
                    .duration_until(t)
                    .max(jiff::SignedDuration::ZERO)
            })
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP);
        let sleep = tokio::time::sleep(until_change);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return,
                _ = self.schedule.changed() => return,
                event = self.events.recv() => match event {
                    Ok(e) if matches!(e.event, Event::Engine(_)) => return,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => {
                        (&mut sleep).await;
                        return;
                    }
                },
            }
        }
    }

    fn status(&self) -> String {
        self.line.clone()
    }
}
