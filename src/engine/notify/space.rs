//! The low-space check: a worker that looks at the free space of every filesystem holding a
//! library folder every [`INTERVAL`] and after each job that ends (an encode's output is the
//! usual way a disk fills), and hands the notifier one `low_space` notice when a filesystem
//! falls below its threshold (`config::LowSpaceSettings`). It is not told again until the
//! filesystem has recovered above the threshold plus half (the hysteresis margin), so a disk
//! hovering at the line does not send a message per job.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Notifications;
use super::render::Notice;
use super::target::EventKind;
use crate::config::LowSpaceSettings;
use crate::engine::worker::Worker;
use crate::events::{Envelope, Event, EventBus};
use crate::model::count;
use crate::process::DiskSpace;

/// How often the check runs without a job ending: often enough that a disk filled by a
/// download is reported within minutes, cheap (one statvfs per filesystem).
const INTERVAL: Duration = Duration::from_secs(600);

/// Bytes below which a filesystem of `total` bytes is low: the smaller of the share and the
/// floor.
pub fn threshold(total: u64, settings: LowSpaceSettings) -> u64 {
    let share = (total as u128 * settings.percent as u128 / 100) as u64;
    share.min(settings.bytes)
}

/// Whether a filesystem is low now, given whether it was: below the threshold it becomes low;
/// once low it stays so until its free space is back above the threshold plus half.
pub fn is_low(was_low: bool, space: DiskSpace, settings: LowSpaceSettings) -> bool {
    let limit = threshold(space.total, settings);
    match was_low {
        false => space.free < limit,
        true => space.free < limit.saturating_add(limit / 2),
    }
}

/// One filesystem as a check saw it: its folders and its room.
struct Seen {
    folders: Vec<PathBuf>,
    space: DiskSpace,
}

pub(crate) struct SpaceWatch {
    handle: Notifications,
    settings: LowSpaceSettings,
    events: broadcast::Receiver<Arc<Envelope>>,
    /// Filesystems (device numbers) reported low and not yet recovered.
    low: HashSet<u64>,
    next: Instant,
    checks: u64,
    reported: u64,
}

impl SpaceWatch {
    pub fn new(handle: Notifications, settings: LowSpaceSettings, bus: &EventBus) -> SpaceWatch {
        SpaceWatch {
            handle,
            settings,
            events: bus.subscribe(None).rx,
            low: HashSet::new(),
            next: Instant::now(),
            checks: 0,
            reported: 0,
        }
    }
}

/// The filesystems holding `folders`, by device number (blocking: stat and statvfs).
fn look(folders: Vec<PathBuf>) -> BTreeMap<u64, Seen> {
    let mut out: BTreeMap<u64, Seen> = BTreeMap::new();
    for path in folders {
        let dev = match std::fs::metadata(&path) {
            Ok(m) => m.dev(),
            Err(e) => {
                tracing::debug!(?path, error = %e, "a library folder cannot be checked for space");
                continue;
            }
        };
        if let Some(seen) = out.get_mut(&dev) {
            seen.folders.push(path);
            continue;
        }
        match crate::process::disk_space(&path) {
            Ok(space) => {
                out.insert(
                    dev,
                    Seen {
                        folders: vec![path],
                        space,
                    },
                );
            }
            Err(e) => tracing::debug!(?path, error = %e, "statvfs failed"),
        }
    }
    out
}

fn notice(seen: &Seen, settings: LowSpaceSettings) -> Notice {
    let names: Vec<String> = seen
        .folders
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let free = seen.space.free;
    Notice {
        event: EventKind::LowSpace,
        title: "Low disk space".into(),
        message: format!(
            "{}: {free} bytes ({}) free of {} (warning below {}).",
            names.join(", "),
            size(free),
            size(seen.space.total),
            size(threshold(seen.space.total, settings)),
        ),
        job: None,
    }
}

fn size(bytes: u64) -> String {
    let gib = bytes as f64 / (1u64 << 30) as f64;
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

impl Worker for SpaceWatch {
    fn name(&self) -> &'static str {
        "space watch"
    }

    async fn work(&mut self, _stop: &CancellationToken) {
        self.next = Instant::now() + INTERVAL;
        let folders = match self.handle.store().call(|s| s.folders()).await {
            Ok(f) => f.into_iter().map(|f| f.path).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "the library folders could not be read");
                return;
            }
        };
        let seen = match tokio::task::spawn_blocking(move || look(folders)).await {
            Ok(seen) => seen,
            Err(e) => {
                tracing::warn!(error = %e, "the free-space check failed");
                return;
            }
        };
        // A filesystem no longer holding a folder is forgotten.
        self.low.retain(|dev| seen.contains_key(dev));
        for (dev, fs) in &seen {
            let was = self.low.contains(dev);
            let now = is_low(was, fs.space, self.settings);
            match (was, now) {
                (false, true) => {
                    self.low.insert(*dev);
                    self.reported += 1;
                    tracing::warn!(folders = ?fs.folders, free = fs.space.free, "low disk space");
                    self.handle.notify(notice(fs, self.settings));
                }
                (true, false) => {
                    self.low.remove(dev);
                    tracing::info!(folders = ?fs.folders, free = fs.space.free, "disk space recovered");
                }
                _ => {}
            }
        }
        self.checks += 1;
    }

    async fn wait(&mut self) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(self.next) => return,
                event = self.events.recv() => match event {
                    Ok(e) => {
                        if let Event::Status { status, .. } = &e.event
                            && status.is_terminal()
                        {
                            return;
                        }
                    }
                    // Missed events may have included a job's end: look now.
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => {
                        tokio::time::sleep_until(self.next).await;
                        return;
                    }
                },
            }
        }
    }

    fn status(&self) -> String {
        format!(
            "{}, {} low now, {} sent",
            count(self.checks, "check", "checks"),
            count(self.low.len(), "filesystem", "filesystems"),
            count(self.reported, "warning", "warnings")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn the_smaller_of_share_and_floor() {
        let s = LowSpaceSettings::default();
        // 4 TB array: 5 % would be 200 GB; the 10 GiB floor applies.
        assert_eq!(threshold(4000 * GIB, s), 10 * GIB);
        // 64 GiB disk: 5 % = 3.2 GiB.
        assert_eq!(threshold(64 * GIB, s), 64 * GIB / 20);
    }

    #[test]
    fn low_once_until_recovered_above_the_margin() {
        let s = LowSpaceSettings::default();
        let total = 100 * GIB;
        let at = |free| DiskSpace { total, free };
        // Threshold 5 GiB, recovered at 7.5 GiB.
        assert!(!is_low(false, at(5 * GIB), s));
        assert!(is_low(false, at(5 * GIB - 1), s));
        assert!(is_low(true, at(7 * GIB), s), "not yet recovered");
        assert!(!is_low(true, at(15 * GIB / 2), s));
    }
}
