//! The thermal guard: reads an LM75-compatible sensor on I2C and pauses the engine above a
//! threshold, resuming below a lower one. The decision (`decide`) is pure and unit-tested; it
//! resumes only a pause the guard itself made (recognised by its reason), so a user's pause is
//! never overridden. `run` is the edge: linux-embedded-hal's `I2cdev` and the `lm75` crate,
//! with an SMBus fallback for adapters that cannot do plain I2C transfers (PC SMBus
//! controllers such as i801, and i2c-stub in the test guest).

use std::time::Duration;

use linux_embedded_hal::I2cdev;
use linux_embedded_hal::i2cdev::core::I2CDevice;
use tokio_util::sync::CancellationToken;

use super::Board;
use crate::config::board::ThermalSettings;
use crate::engine::{Engine, EngineCommand, Worker};
use crate::events::Event;
use crate::model::EngineRunState;

/// Every pause the guard makes has a reason starting with this; nothing else does.
pub const REASON_PREFIX: &str = "thermal:";
/// Sensor name in `/api/system/resources`.
pub const SENSOR_NAME: &str = "board-lm75";
/// The LM75's temperature register.
const TEMPERATURE_REGISTER: u8 = 0x00;

/// What the guard does after a reading.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Nothing,
    Pause { reason: String },
    Resume,
}

/// The engine's state as the guard sees it.
#[derive(Debug, Clone, Copy)]
pub struct EngineView<'a> {
    pub run_state: EngineRunState,
    pub paused_reason: Option<&'a str>,
}

/// Hysteresis: pause a running engine above `pause_above_c`; resume below `resume_below_c`
/// only if the guard's own pause is still in force. Between the two nothing changes. A drain
/// is left alone (it ends in a pause of its own). Pure.
pub fn decide(celsius: f64, limits: &ThermalSettings, engine: EngineView<'_>) -> Action {
    let paused_by_guard = engine.run_state == EngineRunState::Paused
        && engine
            .paused_reason
            .is_some_and(|r| r.starts_with(REASON_PREFIX));
    if celsius > limits.pause_above_c && engine.run_state == EngineRunState::Running {
        Action::Pause {
            reason: format!(
                "{REASON_PREFIX} {celsius:.1} °C above {} °C",
                limits.pause_above_c
            ),
        }
    } else if celsius < limits.resume_below_c && paused_by_guard {
        Action::Resume
    } else {
        Action::Nothing
    }
}

/// Celsius from the LM75 temperature register as two bytes, most significant first: a
/// two's-complement value in the top 11 bits (9 on the original LM75, the rest read 0), in
/// steps of 0.125 °C. Pure.
pub fn celsius_from_register(msb: u8, lsb: u8) -> f64 {
    f64::from(i16::from_be_bytes([msb, lsb]) >> 5) * 0.125
}

/// The sensor, opened. Reads through the `lm75` crate (a plain I2C write-read); if the adapter
/// cannot do that, through an SMBus word read, which every LM75 also answers.
struct Sensor {
    dev: Option<I2cdev>,
    address: u8,
    smbus: bool,
}

impl Sensor {
    fn open(settings: &ThermalSettings) -> Result<Sensor, String> {
        let dev = I2cdev::new(&settings.i2c).map_err(|e| e.to_string())?;
        Ok(Sensor {
            dev: Some(dev),
            address: settings.address,
            smbus: false,
        })
    }

    fn read(&mut self) -> Result<f64, String> {
        let dev = self.dev.take().ok_or("sensor closed")?;
        if !self.smbus {
            let mut lm = lm75::Lm75::new(dev, self.address);
            let result = lm.read_temperature();
            self.dev = Some(lm.destroy());
            match result {
                Ok(c) => return Ok(f64::from(c)),
                Err(e) => {
                    tracing::debug!(error = ?e, "plain I2C read failed; trying SMBus");
                    self.smbus = true;
                }
            }
        }
        let dev = self.dev.as_mut().ok_or("sensor closed")?;
        dev.set_slave_address(u16::from(self.address))
            .map_err(|e| e.to_string())?;
        // An SMBus word takes the first byte on the wire as its low byte; the LM75 sends its
        // MSB first (the kernel's lm75 driver reads it "swapped" for the same reason).
        let word = dev
            .smbus_read_word_data(TEMPERATURE_REGISTER)
            .map_err(|e| e.to_string())?;
        let [msb, lsb] = word.to_le_bytes();
        Ok(celsius_from_register(msb, lsb))
    }
}

/// The thermal guard worker: reads the sensor every `interval` (longer after an error) and
/// pauses or resumes the engine. Device errors are logged once and retried with backoff; the
/// server never stops because of the sensor.
pub struct ThermalGuard {
    settings: ThermalSettings,
    engine: Engine,
    board: Board,
    backoff: super::Backoff,
    sensor: Option<Sensor>,
    wait: Duration,
}

impl ThermalGuard {
    pub fn new(settings: ThermalSettings, engine: Engine, board: Board) -> ThermalGuard {
        ThermalGuard {
            settings,
            engine,
            board,
            backoff: super::Backoff::default(),
            sensor: None,
            wait: Duration::ZERO,
        }
    }

    /// The sensor's reading, opening it first when needed.
    fn read(&mut self) -> Result<f64, String> {
        match self.sensor.as_mut() {
            Some(s) => s.read(),
            None => Sensor::open(&self.settings).and_then(|s| self.sensor.insert(s).read()),
        }
    }
}

impl Worker for ThermalGuard {
    fn name(&self) -> &'static str {
        "thermal guard"
    }

    async fn work(&mut self, _stop: &CancellationToken) {
        let settings = &self.settings;
        self.wait = settings.interval;
        // Two small ioctls on a character device: done inline, not worth a blocking thread.
        let celsius = match self.read() {
            Ok(c) => {
                let bus = self.settings.i2c.display().to_string();
                self.backoff.succeeded("temperature sensor", &bus);
                c
            }
            Err(e) => {
                self.sensor = None;
                self.board.set_temperature(None);
                self.wait = self
                    .backoff
                    .failed("temperature sensor", &e)
                    .max(self.settings.interval);
                return;
            }
        };
        self.board.set_temperature(Some((SENSOR_NAME, celsius)));
        let status = self.engine.status();
        let view = EngineView {
            run_state: status.status,
            paused_reason: status.paused_reason.as_deref(),
        };
        let (command, reason, action) = match decide(celsius, &self.settings, view) {
            Action::Nothing => return,
            Action::Pause { reason } => (EngineCommand::Pause, Some(reason), "pause"),
            Action::Resume => (EngineCommand::Resume, None, "resume"),
        };
        tracing::warn!(celsius, action, "thermal guard");
        self.engine.events().publish(Event::Thermal {
            sensor: SENSOR_NAME,
            celsius,
            action,
        });
        let result = match command {
            EngineCommand::Resume => self.engine.guard_release().await,
            _ => self.engine.command_with_reason(command, reason).await,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, action, "thermal guard could not change the engine");
        }
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.wait).await;
    }

    fn status(&self) -> String {
        match self.board.temperature() {
            Some((_, c)) => format!(
                "{c:.1} °C; pauses above {} °C, resumes below {} °C",
                self.settings.pause_above_c, self.settings.resume_below_c
            ),
            None => format!("{} unavailable; retrying", self.settings.i2c.display()),
        }
    }
}

impl Drop for ThermalGuard {
    fn drop(&mut self) {
        self.board.set_temperature(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ThermalSettings {
        ThermalSettings {
            i2c: "/dev/i2c-0".into(),
            address: 0x48,
            pause_above_c: 75.0,
            resume_below_c: 65.0,
            interval: Duration::from_secs(5),
        }
    }

    fn view(run_state: EngineRunState, reason: Option<&str>) -> EngineView<'_> {
        EngineView {
            run_state,
            paused_reason: reason,
        }
    }

    #[test]
    fn pauses_above_and_resumes_below_with_hysteresis() {
        let l = limits();
        let running = view(EngineRunState::Running, None);
        assert_eq!(decide(70.0, &l, running), Action::Nothing);
        assert_eq!(decide(75.0, &l, running), Action::Nothing, "at the limit");
        let Action::Pause { reason } = decide(78.5, &l, running) else {
            panic!("no pause")
        };
        assert_eq!(reason, "thermal: 78.5 °C above 75 °C");
        let ours = view(EngineRunState::Paused, Some(&reason));
        assert_eq!(decide(80.0, &l, ours), Action::Nothing, "already paused");
        assert_eq!(
            decide(70.0, &l, ours),
            Action::Nothing,
            "between the limits"
        );
        assert_eq!(
            decide(65.0, &l, ours),
            Action::Nothing,
            "at the resume limit"
        );
        assert_eq!(decide(64.9, &l, ours), Action::Resume);
    }

    #[test]
    fn never_resumes_a_pause_it_did_not_make() {
        let l = limits();
        for reason in [
            "paused by the user",
            "paused before the last shutdown",
            "drain finished",
        ] {
            let user = view(EngineRunState::Paused, Some(reason));
            assert_eq!(decide(20.0, &l, user), Action::Nothing, "{reason}");
            assert_eq!(decide(90.0, &l, user), Action::Nothing, "{reason}");
        }
        let draining = view(EngineRunState::Draining, Some("draining"));
        assert_eq!(decide(90.0, &l, draining), Action::Nothing);
    }

    #[test]
    fn register_conversion() {
        assert_eq!(celsius_from_register(0x19, 0x00), 25.0);
        assert_eq!(celsius_from_register(0x4e, 0x80), 78.5);
        assert_eq!(celsius_from_register(0xff, 0x80), -0.5);
        assert_eq!(celsius_from_register(0xe7, 0x00), -25.0);
        assert_eq!(celsius_from_register(0x19, 0x20), 25.125);
    }
}
