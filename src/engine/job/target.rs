//! Where a run writes, held open. The output's folder is opened once (beside the source: the
//! folder the source was opened in, see `source::open_pinned`; under an output root: the folder
//! as checked, opened without following links), and the temp file is created in it by this
//! process (`O_EXCL`, never through a link). ffmpeg, ffprobe and our own checks reach the temp
//! file as `/proc/<pid>/fd/<n>`: the very file created, whatever happens to the folder's path
//! during the encode. The rename into place is relative to the folder's descriptor too, and
//! is refused when the recorded path no longer leads to that folder (a folder renamed and
//! replaced by a link to somewhere else while it was encoded). The segment folder of a long
//! encode is made and held the same way (`segmented`). A temp file a crash left is removed at the
//! next start only when its recorded path still names the very file the run made (its device
//! and inode are in the job's record). The originals' moves to the trash and back go from
//! the original's folder held open the same way (`originals::at`).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

/// A path our children and we can open to reach our descriptor `fd` (unlike `/proc/self/fd`,
/// it needs no inheritance, so ffprobe and our own calls use it as well). Opening it takes the
/// access ptrace would need: the same user, with the server dumpable (as it is unless started
/// with added capabilities), or root.
pub(super) fn fd_path(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!(
        "/proc/{}/fd/{}",
        std::process::id(),
        fd.as_raw_fd()
    ))
}

/// Remove a temp file a run left behind (a crash; found at the next start): the file at
/// `path` when its name is one of ours and, when the record has it, it is the very file the
/// run made (`made`: device and inode; the inode is compared). Its folder is opened once and the name checked and
/// removed in it, so the check and the removal are of one file even if the folder's path is
/// swapped meanwhile. A missing file or folder is fine.
pub(crate) fn remove_left(path: &Path, made: Option<(u64, u64)>) {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    if !crate::media::paths::is_own_file(path) {
        tracing::error!(path = ?path, "refusing to remove a file that is not ours");
        return;
    }
    let removed = (|| -> io::Result<bool> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rustix::fs::open(folder, flags, Mode::empty())?;
        let st = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)?;
        // The inode only: a share's or a FUSE pool's device number may change with the
        // reboot after a crash, while the name and inode still show the file is the run's.
        let same = made.is_none_or(|(_, ino)| st.st_ino == ino);
        if !same
            || rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile
        {
            return Ok(false);
        }
        rustix::fs::unlinkat(&dir, name, AtFlags::empty())?;
        Ok(true)
    })();
    match removed {
        Ok(true) => tracing::info!(path = ?path, "removed partial output"),
        Ok(false) => tracing::warn!(
            path = ?path,
            "partial output not removed: its name now names a file the run did not make"
        ),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(path = ?path, error = %e, "could not remove partial output"),
    }
}

/// What the output's filesystem shows for a file this process made there (the run's temp
/// file): its owner, and whether it keeps permission bits.
#[derive(Debug, Clone, Copy)]
pub(super) struct Made {
    pub uid: u32,
    /// Modes are real: a file made 0600 does not show as writable by others (a vfat or exFAT
    /// disk mounted with `umask=000` shows everything 0777, owned by the mount's user).
    pub modes_kept: bool,
}

/// The output's folder and the temp file in it.
#[derive(Debug)]
pub(super) struct Target {
    dir: OwnedFd,
    /// The output's path as recorded (its folder is what `dir` was opened as).
    output: PathBuf,
    temp_name: OsString,
    temp: File,
    /// The temp file's own path, for messages.
    temp_shown: PathBuf,
}

impl Target {
    /// Create the temp file `temp` (in `output`'s folder, opened as `dir`), removing a stale
    /// one of ours first.
    pub fn create(dir: OwnedFd, output: PathBuf, temp: PathBuf) -> io::Result<Target> {
        let name = temp
            .file_name()
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?
            .to_os_string();
        match rustix::fs::unlinkat(&dir, &name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let file = rustix::fs::openat(&dir, &name, flags, Mode::from_bits_truncate(0o600))?;
        Ok(Target {
            dir,
            output,
            temp_name: name,
            temp: File::from(file),
            temp_shown: temp,
        })
    }

    /// The temp file, as ffmpeg writes it and everything reads it.
    pub fn temp_path(&self) -> PathBuf {
        fd_path(&self.temp)
    }

    /// Device and inode of the temp file, for the job's record (see `remove_left_temp`).
    pub fn temp_id(&self) -> io::Result<(u64, u64)> {
        let m = self.temp.metadata()?;
        Ok((m.dev(), m.ino()))
    }

    /// The output's folder (for its free space).
    pub fn dir_path(&self) -> PathBuf {
        fd_path(&self.dir)
    }

    pub fn dir(&self) -> &OwnedFd {
        &self.dir
    }

    /// What the folder's filesystem shows for a file we made (the temp file, made 0600).
    pub fn made(&self) -> io::Result<Made> {
        let m = self.temp.metadata()?;
        Ok(Made {
            uid: m.uid(),
            modes_kept: m.mode() & 0o077 == 0,
        })
    }

    /// Empty the temp file for another try (the next ffmpeg truncates it too).
    pub fn truncate(&self) -> io::Result<()> {
        self.temp.set_len(0)
    }

    /// Whether `name` in the folder is still our temp file.
    fn is_ours(&self, name: &OsStr) -> io::Result<bool> {
        let ours = self.temp.metadata()?;
        Ok(
            match rustix::fs::statat(&self.dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st.st_ino == ours.ino() && st.st_dev == ours.dev(),
                Err(Errno::NOENT) => false,
                Err(e) => return Err(e.into()),
            },
        )
    }

    /// Remove the temp file, if its name still names it; a missing file is fine.
    pub fn remove(&self) {
        let there = rustix::fs::statat(&self.dir, &self.temp_name, AtFlags::SYMLINK_NOFOLLOW);
        if matches!(there, Err(Errno::NOENT)) {
            return;
        }
        let removed = match self.is_ours(&self.temp_name) {
            Ok(true) => rustix::fs::unlinkat(&self.dir, &self.temp_name, AtFlags::empty())
                .map(|()| true)
                .map_err(io::Error::from),
            Ok(false) => Ok(false),
            Err(e) => Err(e),
        };
        match removed {
            Ok(true) => tracing::info!(path = ?self.temp_shown, "removed partial output"),
            Ok(false) => {
                tracing::warn!(path = ?self.temp_shown, "partial output not removed: its name now names another file")
            }
            Err(e) => {
                tracing::warn!(path = ?self.temp_shown, error = %e, "could not remove partial output")
            }
        }
    }

    /// Whether the output's recorded folder still leads to the folder we write in.
    pub fn folder_in_place(&self) -> io::Result<bool> {
        let dir = self.output.parent().unwrap_or(Path::new("."));
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let there = match std::fs::metadata(dir) {
            Ok(m) => m,
            // Gone, or a part of the path is no longer a folder, or links loop: not there.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::ELOOP)) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(e),
        };
        let held = rustix::fs::fstat(&self.dir)?;
        Ok(there.ino() == held.st_ino && there.dev() == held.st_dev)
    }

    /// Give the temp file `mode` and the owner, fsync it, and (when the output's recorded
    /// folder is still the one held and the temp file's name still names it) rename it over
    /// the output's name in that folder and fsync the folder.
    pub fn promote(&self, mode: u32, uid: u32, gid: u32) -> io::Result<Promoted> {
        use std::os::unix::fs::PermissionsExt;
        self.temp
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
        match std::os::unix::fs::fchown(&self.temp, Some(uid), Some(gid)) {
            // Only root may give a file away; as anyone else the output is ours, mode and all,
            // with the source's group where we are in it.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                match std::os::unix::fs::fchown(&self.temp, None, Some(gid)) {
                    Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
                    other => other?,
                }
            }
            other => other?,
        }
        self.temp.sync_all()?;
        let size = self.temp.metadata()?.len();
        // Checked after the fsync (which may take a while on a large file), just before the
        // rename.
        if !self.folder_in_place()? {
            return Ok(Promoted::FolderMoved);
        }
        if !self.is_ours(&self.temp_name)? {
            return Ok(Promoted::NameTaken);
        }
        let name = self
            .output
            .file_name()
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        rustix::fs::renameat(&self.dir, &self.temp_name, &self.dir, name)?;
        rustix::fs::fsync(self.dir.as_fd())?;
        Ok(Promoted::Done(size))
    }
}

/// What [`Target::promote`] did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Promoted {
    /// In place; its size.
    Done(u64),
    /// The output's recorded folder leads elsewhere now: nothing renamed.
    FolderMoved,
    /// The temp file's name names another file now: nothing renamed.
    NameTaken,
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
