//! The status LED: which pattern to show, decided from engine events, and the GPIO line that
//! shows it. The decision is pure (`LedTracker`, `Pattern::level`) and unit-tested; `run` is the
//! thin edge that sets a `CdevPin` through linux-embedded-hal.
//!
//! Patterns: idle = off (a NAS in a living room should not blink all night), working = on,
//! error = fast blink for [`ERROR_HOLD`] after a job failed, then back to idle or working.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use embedded_hal::digital::OutputPin;
use linux_embedded_hal::CdevPin;
use linux_embedded_hal::gpio_cdev::{Chip, LineRequestFlags};
use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::config::board::LedSettings;
use crate::engine::Worker;
use crate::events::{Envelope, Event, EventBus};
use crate::model::JobState;

/// How long the error pattern shows after a job failed: long enough to be noticed by someone
/// walking past, short enough not to hide the next job's working light for long.
pub const ERROR_HOLD: Duration = Duration::from_secs(10);
/// Half period of the error blink (4 Hz feels urgent without being a strobe).
const FAST_BLINK: Duration = Duration::from_millis(125);
/// How often the line is re-evaluated: fine enough for the fast blink.
const TICK: Duration = Duration::from_millis(125);
/// Consumer label shown by `gpioinfo`.
const CONSUMER: &str = "alchemist-led";

/// What the LED is saying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Idle,
    Working,
    Error,
}

/// How a mode looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Off,
    On,
    /// On for `half`, off for `half`.
    Blink {
        half: Duration,
    },
}

impl Mode {
    pub fn pattern(self) -> Pattern {
        match self {
            Mode::Idle => Pattern::Off,
            Mode::Working => Pattern::On,
            Mode::Error => Pattern::Blink { half: FAST_BLINK },
        }
    }
}

impl Pattern {
    /// Whether the LED is lit `elapsed` after the pattern's epoch.
    pub fn level(self, elapsed: Duration) -> bool {
        match self {
            Pattern::Off => false,
            Pattern::On => true,
            Pattern::Blink { half } => {
                let half = half.as_millis().max(1);
                (elapsed.as_millis() / half).is_multiple_of(2)
            }
        }
    }
}

/// The electrical value for a logical LED state: an active-low LED lights on a low line.
pub fn line_value(lit: bool, active_low: bool) -> u8 {
    u8::from(lit != active_low)
}

/// Follows job state changes and derives the LED mode.
#[derive(Debug, Default)]
pub struct LedTracker {
    /// Jobs that are encoding or remuxing now.
    working: BTreeSet<u64>,
    error_until: Option<Instant>,
}

impl LedTracker {
    /// A job changed state (the `status` event).
    pub fn job_status(&mut self, job_id: u64, status: JobState, now: Instant) {
        match status {
            JobState::Encoding | JobState::Remuxing => {
                self.working.insert(job_id);
            }
            other => {
                self.working.remove(&job_id);
                if other == JobState::Failed {
                    self.error_until = Some(now + ERROR_HOLD);
                }
            }
        }
    }

    /// Forget everything (the event stream lagged: the next status events rebuild the set).
    pub fn reset(&mut self) {
        self.working.clear();
    }

    pub fn mode(&self, now: Instant) -> Mode {
        if self.error_until.is_some_and(|until| now < until) {
            Mode::Error
        } else if !self.working.is_empty() {
            Mode::Working
        } else {
            Mode::Idle
        }
    }
}

/// `(job_id, status)` from a `status` event's data, if it is one.
fn open(settings: &LedSettings) -> Result<CdevPin, String> {
    let mut chip = Chip::new(&settings.chip).map_err(|e| e.to_string())?;
    let line = chip.get_line(settings.line).map_err(|e| e.to_string())?;
    // Requested without the kernel's ACTIVE_LOW flag: `line_value` does the inversion, so the
    // value read back from the line is the electrical one.
    let handle = line
        .request(
            LineRequestFlags::OUTPUT,
            line_value(false, settings.active_low),
            CONSUMER,
        )
        .map_err(|e| e.to_string())?;
    CdevPin::new(handle).map_err(|e| e.to_string())
}

fn set(pin: &mut CdevPin, value: u8) -> Result<(), String> {
    let result = if value == 1 {
        pin.set_high()
    } else {
        pin.set_low()
    };
    result.map_err(|e| e.to_string())
}

/// The LED worker: wakes on job `status` events and on a tick fine enough for the blink,
/// and sets the line when the pattern says so. Device errors are logged once and retried with
/// backoff. Dropped at shutdown, it leaves the LED dark.
pub struct LedWorker {
    settings: LedSettings,
    events: broadcast::Receiver<Arc<Envelope>>,
    tracker: LedTracker,
    backoff: super::Backoff,
    pin: Option<CdevPin>,
    shown: Option<u8>,
    retry_at: Instant,
    epoch: Instant,
}

impl LedWorker {
    pub fn new(settings: LedSettings, events: &EventBus) -> LedWorker {
        LedWorker {
            settings,
            events: events.subscribe(None).rx,
            tracker: LedTracker::default(),
            backoff: super::Backoff::default(),
            pin: None,
            shown: None,
            retry_at: Instant::now(),
            epoch: Instant::now(),
        }
    }
}

impl Worker for LedWorker {
    fn name(&self) -> &'static str {
        "status LED"
    }

    async fn work(&mut self, _stop: &CancellationToken) {
        let now = Instant::now();
        if self.pin.is_none() && now >= self.retry_at {
            match open(&self.settings) {
                Ok(p) => {
                    self.backoff
                        .succeeded("status LED", &self.settings.chip.display().to_string());
                    self.pin = Some(p);
                    self.shown = None;
                }
                Err(e) => self.retry_at = now + self.backoff.failed("status LED", &e),
            }
        }
        let Some(p) = self.pin.as_mut() else { return };
        let lit = self.tracker.mode(now).pattern().level(now - self.epoch);
        let value = line_value(lit, self.settings.active_low);
        if self.shown != Some(value) {
            match set(p, value) {
                Ok(()) => self.shown = Some(value),
                Err(e) => {
                    self.retry_at = now + self.backoff.failed("status LED", &e);
                    self.pin = None;
                }
            }
        }
    }

    async fn wait(&mut self) {
        tokio::select! {
            received = self.events.recv() => match received {
                Ok(envelope) => {
                    if let Event::Status { job_id, status, .. } = envelope.event {
                        self.tracker.job_status(job_id.0, status, Instant::now());
                    }
                }
                Err(RecvError::Lagged(_)) => self.tracker.reset(),
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            },
            _ = tokio::time::sleep(TICK) => {}
        }
    }

    fn status(&self) -> String {
        let mode = self.tracker.mode(Instant::now());
        match &self.pin {
            Some(_) => format!(
                "{mode:?} on {} line {}",
                self.settings.chip.display(),
                self.settings.line
            ),
            None => format!("{} unavailable; retrying", self.settings.chip.display()),
        }
    }
}

impl Drop for LedWorker {
    /// Leave the LED dark when the server stops.
    fn drop(&mut self) {
        if let Some(p) = self.pin.as_mut() {
            let _ = set(p, line_value(false, self.settings.active_low));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_follow_jobs() {
        let t0 = Instant::now();
        let mut t = LedTracker::default();
        assert_eq!(t.mode(t0), Mode::Idle);
        t.job_status(1, JobState::Analyzing, t0);
        assert_eq!(t.mode(t0), Mode::Idle, "analysis is not encoding");
        t.job_status(1, JobState::Encoding, t0);
        t.job_status(2, JobState::Remuxing, t0);
        assert_eq!(t.mode(t0), Mode::Working);
        t.job_status(1, JobState::Completed, t0);
        assert_eq!(t.mode(t0), Mode::Working, "job 2 still runs");
        t.job_status(2, JobState::Cancelled, t0);
        assert_eq!(t.mode(t0), Mode::Idle);
    }

    #[test]
    fn a_failure_blinks_for_the_hold_then_returns() {
        let t0 = Instant::now();
        let mut t = LedTracker::default();
        t.job_status(1, JobState::Encoding, t0);
        t.job_status(2, JobState::Encoding, t0);
        t.job_status(1, JobState::Failed, t0);
        assert_eq!(t.mode(t0 + Duration::from_secs(1)), Mode::Error);
        assert_eq!(t.mode(t0 + ERROR_HOLD), Mode::Working);
        t.job_status(2, JobState::Completed, t0);
        assert_eq!(t.mode(t0 + ERROR_HOLD), Mode::Idle);
    }

    #[test]
    fn patterns_and_polarity() {
        assert!(!Pattern::Off.level(Duration::ZERO));
        assert!(Pattern::On.level(Duration::from_secs(7)));
        let blink = Mode::Error.pattern();
        assert!(blink.level(Duration::ZERO));
        assert!(!blink.level(FAST_BLINK));
        assert!(blink.level(FAST_BLINK * 2 + Duration::from_millis(1)));
        assert_eq!(line_value(true, false), 1);
        assert_eq!(line_value(false, false), 0);
        assert_eq!(line_value(true, true), 0);
        assert_eq!(line_value(false, true), 1);
    }
}
