//! The `[notifications]` table: when a library filesystem counts as low on space (see
//! `engine::notify::space`). A filesystem is low when its free bytes fall below the smaller of
//! `low_space_percent` of its size and `low_space_gib`: on a large array 5 % is hundreds of
//! gigabytes that are still plenty, while 10 GiB is about the room a few films' encodes need at
//! once; on a small disk the percentage keeps the warning from standing for good.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Default share of a filesystem's size below which it is low.
pub const DEFAULT_LOW_SPACE_PERCENT: u8 = 5;
/// Default absolute floor, in GiB: room for a few encodes' outputs side by side.
pub const DEFAULT_LOW_SPACE_GIB: u64 = 10;

/// `[notifications]` as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyFile {
    pub low_space_percent: Option<u8>,
    pub low_space_gib: Option<u64>,
}

/// Validated thresholds of the low-space check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LowSpaceSettings {
    /// 1–50 % of the filesystem's size.
    pub percent: u8,
    /// Absolute floor in bytes (at least 1 GiB).
    pub bytes: u64,
}

impl Default for LowSpaceSettings {
    fn default() -> Self {
        LowSpaceSettings {
            percent: DEFAULT_LOW_SPACE_PERCENT,
            bytes: DEFAULT_LOW_SPACE_GIB << 30,
        }
    }
}

/// Validate `[notifications]`. Pure.
pub fn low_space_settings(file: &NotifyFile) -> Result<LowSpaceSettings, ConfigError> {
    let percent = file.low_space_percent.unwrap_or(DEFAULT_LOW_SPACE_PERCENT);
    if !(1..=50).contains(&percent) {
        return Err(ConfigError::Invalid {
            key: "notifications.low_space_percent",
            message: "must be between 1 and 50".into(),
        });
    }
    let gib = file.low_space_gib.unwrap_or(DEFAULT_LOW_SPACE_GIB);
    if !(1..=1 << 20).contains(&gib) {
        return Err(ConfigError::Invalid {
            key: "notifications.low_space_gib",
            message: "must be between 1 and 1048576".into(),
        });
    }
    Ok(LowSpaceSettings {
        percent,
        bytes: gib << 30,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_limits() {
        let d = low_space_settings(&NotifyFile::default()).unwrap();
        assert_eq!(d, LowSpaceSettings::default());
        let bad = NotifyFile {
            low_space_percent: Some(0),
            ..NotifyFile::default()
        };
        assert!(low_space_settings(&bad).is_err());
        let bad = NotifyFile {
            low_space_gib: Some(0),
            ..NotifyFile::default()
        };
        assert!(low_space_settings(&bad).is_err());
    }
}
