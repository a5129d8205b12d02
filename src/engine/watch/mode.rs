//! How a folder is watched and why, decided from the folder's setting, `[watch]` and the
//! filesystem type `statfs` reports. Events (inotify) only see changes made through this
//! kernel: a file written by another machine to an NFS or SMB share, or behind a FUSE daemon,
//! raises none here, so such folders are walked periodically instead. Pure but for [`fs_type`].

use std::path::Path;

use serde::Serialize;
use utoipa::ToSchema;

use crate::config::WatchSettings;

/// How a library folder is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WatchMode {
    /// inotify events, on a local filesystem.
    Events,
    /// A periodic cheap walk (network or FUSE filesystem, or forced).
    Poll,
    /// Not watched.
    Off,
}

/// Filesystems whose changes may come from elsewhere (`statfs` f_type, from linux/magic.h and
/// the filesystems' sources).
const REMOTE: &[(u32, &str)] = &[
    (0x6969, "NFS"),
    (0x517B, "SMB"),
    (0xFF53_4D42, "CIFS/SMB"),
    (0xFE53_4D42, "SMB2/3"),
    (0x0102_1997, "9p"),
    (0x6573_5546, "FUSE"),
    (0x6A65_6A63, "virtiofs"),
    (0x00C3_6400, "Ceph"),
    (0x7375_7245, "Coda"),
    (0x5346_414F, "AFS"),
    (0x0BD0_0BD0, "Lustre"),
    (0x4750_4653, "GPFS"),
];

/// The name of a remote or FUSE filesystem type; `None` for a local one.
pub fn remote_name(f_type: u32) -> Option<&'static str> {
    REMOTE.iter().find(|(t, _)| *t == f_type).map(|(_, n)| *n)
}

/// The `statfs` type of the filesystem holding `path`.
pub fn fs_type(path: &Path) -> std::io::Result<u32> {
    // f_type is a word whose width varies by architecture; every magic fits 32 bits.
    Ok(rustix::fs::statfs(path)?.f_type as u32)
}

/// The mode of a folder and the reason, in a sentence for the owner.
pub fn decide(
    folder_watch: bool,
    settings: &WatchSettings,
    f_type: std::io::Result<u32>,
) -> (WatchMode, String) {
    if !settings.enabled {
        return (WatchMode::Off, "watching is turned off for the whole box in the configuration file ([watch] enabled = false)".into());
    }
    if !folder_watch {
        return (WatchMode::Off, "watching is off for this folder".into());
    }
    let every = settings.poll.as_secs();
    if settings.force_poll {
        return (
            WatchMode::Poll,
            format!("polled every {every} s: [watch] force_poll is set"),
        );
    }
    match f_type {
        Ok(t) => match remote_name(t) {
            Some(name) => (
                WatchMode::Poll,
                format!(
                    "polled every {every} s: {name} filesystem, whose changes raise no events here"
                ),
            ),
            None => (WatchMode::Events, "local filesystem: inotify events".into()),
        },
        Err(e) => (
            WatchMode::Poll,
            format!("polled every {every} s: the filesystem type cannot be read ({e})"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_and_fuse_poll_local_uses_events() {
        let s = WatchSettings::default();
        assert_eq!(decide(true, &s, Ok(0xEF53)).0, WatchMode::Events); // ext4
        assert_eq!(decide(true, &s, Ok(0x0102_1994)).0, WatchMode::Events); // tmpfs
        for t in [0x6969, 0xFF53_4D42, 0xFE53_4D42, 0x0102_1997, 0x6573_5546] {
            let (mode, why) = decide(true, &s, Ok(t));
            assert_eq!(mode, WatchMode::Poll, "{t:#x}");
            assert!(why.contains("filesystem"), "{why}");
        }
        assert_eq!(decide(false, &s, Ok(0xEF53)).0, WatchMode::Off);
        let off = WatchSettings {
            enabled: false,
            ..WatchSettings::default()
        };
        assert_eq!(decide(true, &off, Ok(0xEF53)).0, WatchMode::Off);
        let forced = WatchSettings {
            force_poll: true,
            ..WatchSettings::default()
        };
        let (mode, why) = decide(true, &forced, Ok(0xEF53));
        assert_eq!(mode, WatchMode::Poll);
        assert!(why.contains("force_poll"));
        assert_eq!(
            decide(true, &s, Err(std::io::Error::other("x"))).0,
            WatchMode::Poll
        );
    }

    #[test]
    fn reads_this_machines_filesystem_type() {
        assert!(fs_type(Path::new("/")).is_ok());
    }
}
