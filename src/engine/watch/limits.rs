//! The inotify watch limit (`fs.inotify.max_user_watches`): one watch per directory, shared by
//! every program of the user, and 8192 on older kernels, which a large TV library exceeds.
//! When adding a watch hits it, root raises it (doubling, up to a bound); otherwise the caller
//! polls that folder and says why.

use std::path::Path;

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
