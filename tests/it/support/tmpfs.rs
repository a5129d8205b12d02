//! A tmpfs mounted for the life of a test: a small disk the test can fill. Mounting needs root.
//! CI runs the suite as root; anywhere else these tests fail and say so, rather than return
//! early and pass without having checked anything.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tmpfs(PathBuf);

/// Fail the calling test, naming what it needs root for, unless the effective user is root.
pub fn require_root(why: &str) {
    // From /proc rather than geteuid(2): no unsafe in tests.
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .expect("the Uid line of /proc/self/status");
    assert!(
        euid == "0",
        "this test {why}, which needs root (effective uid here: {euid}). CI runs the suite as \
         root (`bash .ci/dev test`); run it as root to check what it covers"
    );
}

impl Tmpfs {
    /// Mount a tmpfs of `bytes` on `dir` (created). Fails the test when not root.
    pub fn mount(dir: &Path, bytes: u64) -> Tmpfs {
        require_root("mounts a small tmpfs to fill a disk");
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size={bytes}"))
            .arg("tmpfs")
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success(), "mount -t tmpfs failed as root");
        Tmpfs(dir.to_path_buf())
    }

    /// Give the filesystem a new size (room freed, as far as the engine can tell).
    pub fn resize(&self, bytes: u64) {
        let status = Command::new("mount")
            .args(["-o"])
            .arg(format!("remount,size={bytes}"))
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success(), "remount of the tmpfs failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
