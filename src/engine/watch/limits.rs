//! The inotify watch limit (`fs.inotify.max_user_watches`): one watch per directory, shared by
//! every program of the user, and 8192 on older kernels, which a large TV library exceeds.
//! When adding a watch hits it, root raises it (doubling, up to a bound); otherwise the caller
//! polls that folder and says why. [`watch_one`] adds a folder's watch this way.

use std::path::Path;

use notify::{INotifyWatcher, RecursiveMode, Watcher as _};

const MAX_USER_WATCHES: &str = "/proc/sys/fs/inotify/max_user_watches";
/// Highest limit we set: each watch costs about 1 KiB of kernel memory, so 1 Mi watches is at
/// most ~1 GiB on a 64-bit kernel, the kernel's own default bound on large machines.
const CEILING: u64 = 1 << 20;

/// The current limit, when it can be read.
pub fn current() -> Option<u64> {
    std::fs::read_to_string(MAX_USER_WATCHES)
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Try to raise the limit (root only). Returns the new limit when it was raised.
pub fn raise() -> Option<u64> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    let now = current()?;
    let next = (now * 2).min(CEILING);
    if next <= now {
        return None;
    }
    std::fs::write(Path::new(MAX_USER_WATCHES), next.to_string()).ok()?;
    tracing::info!(from = now, to = next, "raised fs.inotify.max_user_watches");
    Some(next)
}

/// Watch one folder; at the watch limit raise it (as root) and try once more.
pub fn watch_one(w: &mut INotifyWatcher, path: &Path, recursive: bool) -> Result<(), String> {
    let mode = if recursive {
        RecursiveMode::Recursive
    } else {
        RecursiveMode::NonRecursive
    };
    let limit_hit = |e: &notify::Error| matches!(e.kind, notify::ErrorKind::MaxFilesWatch);
    match w.watch(path, mode) {
        Ok(()) => Ok(()),
        Err(e) if limit_hit(&e) => {
            let _ = w.unwatch(path);
            if raise().is_some() && w.watch(path, mode).is_ok() {
                return Ok(());
            }
            let _ = w.unwatch(path);
            let limit = current().map_or("?".into(), |n| n.to_string());
            Err(format!(
                "the inotify watch limit ({limit}) is reached; raise fs.inotify.max_user_watches"
            ))
        }
        Err(e) => {
            let _ = w.unwatch(path);
            Err(format!("inotify cannot watch it ({e})"))
        }
    }
}
