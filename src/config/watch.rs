//! The `[watch]` table: how library folders are watched for new files (see `engine::watch`).
//! A file is queued once it has settled (size and mtime unchanged for `settle_seconds`);
//! folders on network and FUSE filesystems, where inotify sees no remote changes, are walked
//! every `poll_seconds` instead. `force_poll` treats every folder as such (for filesystems
//! whose events do not arrive, and for tests of the poll path on a local disk); `enabled =
//! false` turns watching off for every folder, whatever the folder says.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Quiet time before a new or changed file is queued: a copy over SMB pauses for seconds
/// between bursts, and a download client may hold a file a while before closing it.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(30);
/// Walk interval of folders that cannot be watched by events: often enough that a download is
/// found within minutes, rarely enough that a spun-down NAS disk mostly stays down.
pub const DEFAULT_POLL: Duration = Duration::from_secs(300);
/// Upper bound of both: a day.
const MAX_SECONDS: u64 = 86_400;

/// `[watch]` as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchFile {
    pub enabled: Option<bool>,
    pub settle_seconds: Option<u64>,
    pub poll_seconds: Option<u64>,
    pub force_poll: Option<bool>,
}

/// Validated `[watch]`.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchSettings {
    /// Off: no folder is watched or polled (periodic rescans still run).
    pub enabled: bool,
    pub settle: Duration,
    pub poll: Duration,
    /// Poll every folder, even on a local filesystem.
    pub force_poll: bool,
}

impl Default for WatchSettings {
    fn default() -> Self {
        WatchSettings {
            enabled: true,
            settle: DEFAULT_SETTLE,
            poll: DEFAULT_POLL,
            force_poll: false,
        }
    }
}

/// The `[watch]` keys that differ between `old` and `new`, as `watch.<key>`. Pure.
pub fn changed_watch_keys(old: &WatchSettings, new: &WatchSettings) -> Vec<String> {
    [
        ("enabled", old.enabled != new.enabled),
        ("settle_seconds", old.settle != new.settle),
        ("poll_seconds", old.poll != new.poll),
        ("force_poll", old.force_poll != new.force_poll),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(key, _)| format!("watch.{key}"))
    .collect()
}

/// Validate `[watch]`. Pure.
pub fn watch_settings(file: &WatchFile) -> Result<WatchSettings, ConfigError> {
    let seconds = |key: &'static str, value: Option<u64>, default: Duration| match value {
        None => Ok(default),
        Some(s) if (1..=MAX_SECONDS).contains(&s) => Ok(Duration::from_secs(s)),
        Some(_) => Err(ConfigError::Invalid {
            key,
            message: format!("must be between 1 and {MAX_SECONDS}"),
        }),
    };
    Ok(WatchSettings {
        enabled: file.enabled.unwrap_or(true),
        settle: seconds("watch.settle_seconds", file.settle_seconds, DEFAULT_SETTLE)?,
        poll: seconds("watch.poll_seconds", file.poll_seconds, DEFAULT_POLL)?,
        force_poll: file.force_poll.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_watch_keys_name_what_differs() {
        let a = WatchSettings::default();
        assert!(changed_watch_keys(&a, &a).is_empty());
        let b = WatchSettings {
            settle: Duration::from_secs(5),
            force_poll: true,
            ..a.clone()
        };
        assert_eq!(
            changed_watch_keys(&a, &b),
            ["watch.settle_seconds", "watch.force_poll"]
        );
    }

    #[test]
    fn defaults_and_limits() {
        let d = watch_settings(&WatchFile::default()).unwrap();
        assert_eq!(d, WatchSettings::default());
        let file: WatchFile =
            toml::from_str("settle_seconds = 2\npoll_seconds = 3\nforce_poll = true").unwrap();
        let s = watch_settings(&file).unwrap();
        assert_eq!(
            (s.settle, s.poll, s.force_poll),
            (Duration::from_secs(2), Duration::from_secs(3), true)
        );
        for bad in ["settle_seconds = 0", "poll_seconds = 86401"] {
            let file: WatchFile = toml::from_str(bad).unwrap();
            assert!(watch_settings(&file).is_err(), "{bad}");
        }
    }
}
