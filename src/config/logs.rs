//! The `[logs]` table: the server's own log in `<data>/logs/` (see `crate::logs`), one JSON
//! object per line, rotated by size. `max_file_mb` (default 10) bounds one file, `keep_files`
//! (default 5) how many rotated files are kept beside the current one, so the folder never
//! holds more than `(keep_files + 1) × max_file_mb`; `level` (default `info`) is the least
//! severe level written. Standard error keeps following `ALCHEMIST_LOG`.

use serde::{Deserialize, Serialize};
use tracing::level_filters::LevelFilter;

use super::ConfigError;

pub const DEFAULT_MAX_FILE_MB: f64 = 10.0;
pub const DEFAULT_KEEP_FILES: usize = 5;
/// Below a kilobyte a file would hold a line or two: rotation would be all the disk does.
const MIN_FILE_BYTES: u64 = 1024;
/// A gigabyte per file is already more than the logs page can usefully read back.
const MAX_FILE_MB: f64 = 1024.0;
/// More rotated files only spread the same history thinner; raise `max_file_mb` instead.
const MAX_KEEP_FILES: usize = 100;

/// `[logs]` as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsFile {
    /// Size of one file in MiB; fractions allowed (`0.5`).
    pub max_file_mb: Option<f64>,
    pub keep_files: Option<usize>,
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: Option<String>,
}

/// Validated `[logs]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSettings {
    /// A file is rotated once it reaches this size (a line is never split).
    pub max_file_bytes: u64,
    /// Rotated files kept beside the current one (at least 1).
    pub keep_files: usize,
    /// The least severe level written to the files.
    pub level: LevelFilter,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            max_file_bytes: mib(DEFAULT_MAX_FILE_MB),
            keep_files: DEFAULT_KEEP_FILES,
            level: LevelFilter::INFO,
        }
    }
}

fn mib(mb: f64) -> u64 {
    (mb * 1024.0 * 1024.0).round() as u64
}

/// Validate `[logs]`. Pure.
pub fn log_settings(file: &LogsFile) -> Result<LogSettings, ConfigError> {
    let mut settings = LogSettings::default();
    if let Some(mb) = file.max_file_mb {
        if !mb.is_finite() || mib(mb) < MIN_FILE_BYTES || mb > MAX_FILE_MB {
            return Err(ConfigError::Invalid {
                key: "logs.max_file_mb",
                message: format!("must be between 0.001 and {MAX_FILE_MB} (MiB)"),
            });
        }
        settings.max_file_bytes = mib(mb);
    }
    if let Some(keep) = file.keep_files {
        if !(1..=MAX_KEEP_FILES).contains(&keep) {
            return Err(ConfigError::Invalid {
                key: "logs.keep_files",
                message: format!("must be between 1 and {MAX_KEEP_FILES}"),
            });
        }
        settings.keep_files = keep;
    }
    if let Some(level) = &file.level {
        settings.level = match level.trim().to_ascii_lowercase().as_str() {
            "error" => LevelFilter::ERROR,
            "warn" | "warning" => LevelFilter::WARN,
            "info" => LevelFilter::INFO,
            "debug" => LevelFilter::DEBUG,
            "trace" => LevelFilter::TRACE,
            _ => {
                return Err(ConfigError::Invalid {
                    key: "logs.level",
                    message: format!("`{level}` is not one of error, warn, info, debug, trace"),
                });
            }
        };
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<LogSettings, String> {
        let file: super::super::FileConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        log_settings(&file.logs).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(parse("").unwrap(), LogSettings::default());
        assert_eq!(LogSettings::default().max_file_bytes, 10 * 1024 * 1024);
        let s = parse("[logs]\nmax_file_mb = 2\nkeep_files = 3\nlevel = \"debug\"").unwrap();
        assert_eq!(s.max_file_bytes, 2 * 1024 * 1024);
        assert_eq!(s.keep_files, 3);
        assert_eq!(s.level, LevelFilter::DEBUG);
        // Fractions, for small boxes and the rotation test.
        let s = parse("[logs]\nmax_file_mb = 0.004").unwrap();
        assert_eq!(s.max_file_bytes, 4194);
    }

    #[test]
    fn refuses_what_makes_no_sense() {
        for bad in [
            "max_file_mb = 0",
            "max_file_mb = 0.0001",
            "max_file_mb = 2048",
            "max_file_mb = nan",
            "keep_files = 0",
            "keep_files = 101",
            "level = \"loud\"",
            "colour = true",
        ] {
            assert!(parse(&format!("[logs]\n{bad}")).is_err(), "{bad}");
        }
    }
}
