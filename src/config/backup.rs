//! The `[backup]` table: automatic backups into `<data>/backups/` (see `engine::backups`).
//! One every `interval_hours` (default a day), the last `keep` kept (default 7: a week back).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

pub const DEFAULT_KEEP: usize = 7;
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(86_400);

/// `[backup]` as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFile {
    pub keep: Option<usize>,
    pub interval_hours: Option<u64>,
}

/// Validated `[backup]`. `keep = 0` turns automatic backups off.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupSettings {
    pub keep: usize,
    pub interval: Duration,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            keep: DEFAULT_KEEP,
            interval: DEFAULT_INTERVAL,
        }
    }
}

/// Validate `[backup]`. Pure.
pub fn backup_settings(file: &BackupFile) -> Result<BackupSettings, ConfigError> {
    let interval = match file.interval_hours {
        None => DEFAULT_INTERVAL,
        Some(h) if (1..=24 * 30).contains(&h) => Duration::from_secs(h * 3600),
        Some(_) => {
            return Err(ConfigError::Invalid {
                key: "backup.interval_hours",
                message: "must be between 1 and 720".into(),
            });
        }
    };
    Ok(BackupSettings {
        keep: file.keep.unwrap_or(DEFAULT_KEEP),
        interval,
    })
}
