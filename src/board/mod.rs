//! NAS board I/O through linux-embedded-hal: the status LED on a GPIO line (`led`) and the
//! thermal guard on an LM75-compatible I2C sensor (`thermal`). The only code that touches GPIO
//! or I2C. Both parts are off unless `[board]` configures them; both run as engine workers, so
//! they stop at shutdown, and a missing or failing device is logged once and retried with
//! backoff: the server never stops because of the board. [`Board`] holds what the board tells
//! the rest of the program (the sensor's last reading).

pub mod led;
pub mod thermal;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::BoardSettings;
use crate::engine::Engine;

/// Handle to the board's state. Cheap to clone.
#[derive(Clone, Default)]
pub struct Board {
    temperature: Arc<Mutex<Option<(&'static str, f64)>>>,
}

impl Board {
    /// The temperature sensor's last reading (sensor name, °C), if it has one.
    pub fn temperature(&self) -> Option<(&'static str, f64)> {
        *self.temperature.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_temperature(&self, reading: Option<(&'static str, f64)>) {
        *self.temperature.lock().unwrap_or_else(|p| p.into_inner()) = reading;
    }
}

/// First wait after a device error; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between attempts: a hot-plugged or late-loaded driver is picked up within a
/// minute.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Start the configured board workers on the engine.
pub fn start(settings: &BoardSettings, engine: &Engine) -> Board {
    let board = Board::default();
    if let Some(led) = settings.led.clone() {
        tracing::info!(chip = %led.chip.display(), line = led.line, "status LED on");
        engine
            .workers
            .spawn(led::LedWorker::new(led, engine.events()));
    }
    if let Some(thermal) = settings.thermal.clone() {
        tracing::info!(
            bus = %thermal.i2c.display(),
            address = thermal.address,
            pause_above_c = thermal.pause_above_c,
            resume_below_c = thermal.resume_below_c,
            "thermal guard on"
        );
        let guard = thermal::ThermalGuard::new(thermal, engine.clone(), board.clone());
        engine.workers.spawn(guard);
    }
    board
}

/// Exponential backoff that logs the first failure of a run of failures, not every retry.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Record a failure; returns how long to wait before the next attempt.
    pub fn failed(&mut self, what: &str, error: &str) -> Duration {
        if self.failures == 0 {
            tracing::warn!(error, "{what} unavailable; retrying in the background");
        }
        self.failures = self.failures.saturating_add(1);
        backoff_delay(self.failures)
    }

    /// Record a success; logs the recovery if there were failures.
    pub fn succeeded(&mut self, what: &str, device: &str) {
        if self.failures > 0 {
            tracing::info!(device, "{what} available again");
        }
        self.failures = 0;
    }
}

/// Wait after `failures` consecutive failures (≥ 1). Pure.
pub fn backoff_delay(failures: u32) -> Duration {
    let shift = failures.saturating_sub(1).min(16);
    (FIRST_BACKOFF * (1u32 << shift)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff_delay(1), Duration::from_secs(1));
        assert_eq!(backoff_delay(2), Duration::from_secs(2));
        assert_eq!(backoff_delay(4), Duration::from_secs(8));
        assert_eq!(backoff_delay(7), MAX_BACKOFF);
        assert_eq!(backoff_delay(u32::MAX), MAX_BACKOFF);
        let mut b = Backoff::default();
        assert_eq!(b.failed("x", "e"), Duration::from_secs(1));
        assert_eq!(b.failed("x", "e"), Duration::from_secs(2));
        b.succeeded("x", "d");
        assert_eq!(b.failed("x", "e"), Duration::from_secs(1));
    }
}
