//! The `[board]` table: a status LED on a GPIO line and an LM75-compatible temperature sensor
//! on I2C. Everything is optional and absent means off, so a NAS without these parts (or a
//! developer machine) runs the same binary unchanged. Validation only; `crate::board` drives
//! the devices.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Lowest and highest 7-bit I2C addresses a device may use (0x00..0x02 and 0x78..0x7f are
/// reserved by the I2C specification).
pub const I2C_ADDRESS_RANGE: std::ops::RangeInclusive<u16> = 0x03..=0x77;
/// The LM75's usual address (A2..A0 tied low).
pub const DEFAULT_LM75_ADDRESS: u16 = 0x48;
/// How often the sensor is read when the config does not say: a NAS heats up over minutes.
pub const DEFAULT_INTERVAL_S: u64 = 5;

/// `[board]` as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardFile {
    pub led: Option<LedFile>,
    pub thermal: Option<ThermalFile>,
}

/// `[board] led = { chip = "/dev/gpiochip0", line = 3, active_low = false }`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedFile {
    pub chip: PathBuf,
    pub line: u32,
    #[serde(default)]
    pub active_low: bool,
}

/// `[board] thermal = { i2c = "/dev/i2c-0", address = 0x48, pause_above_c = 75.0, ... }`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThermalFile {
    pub i2c: PathBuf,
    pub address: Option<u16>,
    pub pause_above_c: f64,
    pub resume_below_c: f64,
    pub interval_s: Option<u64>,
}

/// Validated board settings; `None` parts are off.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoardSettings {
    pub led: Option<LedSettings>,
    pub thermal: Option<ThermalSettings>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LedSettings {
    pub chip: PathBuf,
    pub line: u32,
    pub active_low: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThermalSettings {
    pub i2c: PathBuf,
    pub address: u8,
    pub pause_above_c: f64,
    pub resume_below_c: f64,
    pub interval: Duration,
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

/// Validate the `[board]` table. Pure.
pub fn board_settings(b: &BoardFile) -> Result<BoardSettings, ConfigError> {
    let led = b
        .led
        .as_ref()
        .map(|l| {
            if l.chip.as_os_str().is_empty() {
                return Err(invalid(
                    "board.led.chip",
                    "must name a GPIO chip such as /dev/gpiochip0",
                ));
            }
            Ok(LedSettings {
                chip: l.chip.clone(),
                line: l.line,
                active_low: l.active_low,
            })
        })
        .transpose()?;
    let thermal = b.thermal.as_ref().map(thermal_settings).transpose()?;
    Ok(BoardSettings { led, thermal })
}

fn thermal_settings(t: &ThermalFile) -> Result<ThermalSettings, ConfigError> {
    if t.i2c.as_os_str().is_empty() {
        return Err(invalid(
            "board.thermal.i2c",
            "must name an I2C bus such as /dev/i2c-0",
        ));
    }
    let address = t.address.unwrap_or(DEFAULT_LM75_ADDRESS);
    if !I2C_ADDRESS_RANGE.contains(&address) {
        return Err(invalid(
            "board.thermal.address",
            format!("{address:#04x} is outside the 7-bit range 0x03..0x77"),
        ));
    }
    for (key, c) in [
        ("board.thermal.pause_above_c", t.pause_above_c),
        ("board.thermal.resume_below_c", t.resume_below_c),
    ] {
        // An LM75 reads -55..125 °C; anything else is a typo (Fahrenheit, millidegrees).
        if !c.is_finite() || !(-55.0..=125.0).contains(&c) {
            return Err(invalid(
                key,
                format!("{c} °C is outside the sensor's -55..125 °C"),
            ));
        }
    }
    if t.resume_below_c >= t.pause_above_c {
        return Err(invalid(
            "board.thermal.resume_below_c",
            format!(
                "must be below pause_above_c ({} °C), or the engine would flap between paused and running",
                t.pause_above_c
            ),
        ));
    }
    let interval_s = t.interval_s.unwrap_or(DEFAULT_INTERVAL_S);
    if !(1..=3600).contains(&interval_s) {
        return Err(invalid(
            "board.thermal.interval_s",
            "must be between 1 and 3600",
        ));
    }
    Ok(ThermalSettings {
        i2c: t.i2c.clone(),
        address: address as u8,
        pause_above_c: t.pause_above_c,
        resume_below_c: t.resume_below_c,
        interval: Duration::from_secs(interval_s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(text: &str) -> Result<BoardSettings, String> {
        let file: BoardFile = toml::from_str(text).map_err(|e| e.message().to_string())?;
        board_settings(&file).map_err(|e| e.to_string())
    }

    #[test]
    fn absent_is_off() {
        assert_eq!(board("").unwrap(), BoardSettings::default());
    }

    #[test]
    fn full_table_parses_with_hex_address() {
        let b = board(
            "led = { chip = \"/dev/gpiochip0\", line = 3 }\n\
             thermal = { i2c = \"/dev/i2c-0\", address = 0x49, pause_above_c = 75.0, resume_below_c = 65.0, interval_s = 2 }",
        )
        .unwrap();
        let led = b.led.unwrap();
        assert_eq!((led.line, led.active_low), (3, false));
        let t = b.thermal.unwrap();
        assert_eq!(t.address, 0x49);
        assert_eq!(t.interval, Duration::from_secs(2));
        let t =
            board("thermal = { i2c = \"/dev/i2c-1\", pause_above_c = 70, resume_below_c = 60 }")
                .unwrap()
                .thermal
                .unwrap();
        assert_eq!((t.address, t.interval), (0x48, Duration::from_secs(5)));
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, key) in [
            (
                "thermal = { i2c = \"/dev/i2c-0\", pause_above_c = 60.0, resume_below_c = 65.0 }",
                "resume_below_c",
            ),
            (
                "thermal = { i2c = \"/dev/i2c-0\", pause_above_c = 60.0, resume_below_c = 60.0 }",
                "resume_below_c",
            ),
            (
                "thermal = { i2c = \"/dev/i2c-0\", address = 0x78, pause_above_c = 75.0, resume_below_c = 65.0 }",
                "address",
            ),
            (
                "thermal = { i2c = \"/dev/i2c-0\", address = 2, pause_above_c = 75.0, resume_below_c = 65.0 }",
                "address",
            ),
            (
                "thermal = { i2c = \"/dev/i2c-0\", pause_above_c = 170.0, resume_below_c = 65.0 }",
                "pause_above_c",
            ),
            (
                "thermal = { i2c = \"/dev/i2c-0\", pause_above_c = 75.0, resume_below_c = 65.0, interval_s = 0 }",
                "interval_s",
            ),
            (
                "thermal = { i2c = \"\", pause_above_c = 75.0, resume_below_c = 65.0 }",
                "board.thermal.i2c",
            ),
            ("led = { chip = \"\", line = 1 }", "board.led.chip"),
        ] {
            let err = board(text).unwrap_err();
            assert!(err.contains(key), "{text}: {err}");
        }
        // Unknown keys and missing required ones are parse errors.
        assert!(board("led = { chip = \"/dev/gpiochip0\", line = 3, colour = \"red\" }").is_err());
        assert!(board("thermal = { i2c = \"/dev/i2c-0\" }").is_err());
        assert!(board("fan = 1").is_err());
    }
}
