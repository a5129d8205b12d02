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
            // Only root may give a file away; as anyone else the output is ours, mode and all.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
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
mod tests {
    use super::*;

    fn open_dir(path: &Path) -> OwnedFd {
        rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap()
    }

    /// A library folder `shows` and a folder `outside` it, with job 7's output and temp
    /// file paths in `shows`.
    fn folders() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let shows = tmp.path().join("shows");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&shows).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let output = shows.join("film.alchemist.mkv");
        let temp = shows.join(".film.alchemist.mkv.alchemist-tmp-7");
        (tmp, shows, outside, output, temp)
    }

    #[test]
    fn writes_stay_in_the_folder_opened_when_its_path_is_swapped_for_a_link() {
        let (tmp, shows, outside, output, temp) = folders();
        // A stale temp of ours is replaced.
        std::fs::write(&temp, b"stale").unwrap();
        let target = Target::create(open_dir(&shows), output.clone(), temp.clone()).unwrap();
        assert_eq!(std::fs::metadata(&temp).unwrap().len(), 0);
        assert!(target.folder_in_place().unwrap());

        // The folder is renamed and a link to elsewhere takes its name.
        let moved = tmp.path().join("shows.moved");
        std::fs::rename(&shows, &moved).unwrap();
        std::os::unix::fs::symlink(&outside, &shows).unwrap();
        std::fs::write(target.temp_path(), b"encoded").unwrap();
        assert_eq!(
            std::fs::read(moved.join(temp.file_name().unwrap())).unwrap(),
            b"encoded"
        );
        assert!(!target.folder_in_place().unwrap());
        assert_eq!(target.promote(0o640, 0, 0).unwrap(), Promoted::FolderMoved);
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        // Removed where it really is, not through the link.
        target.remove();
        assert_eq!(std::fs::read_dir(&moved).unwrap().count(), 0);
    }

    #[test]
    fn a_promoted_temp_file_takes_the_output_name_and_mode() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("lib");
        std::fs::create_dir_all(&dir).unwrap();
        let output = dir.join("a.alchemist.mkv");
        // An earlier output of the same name is replaced, as a rename does.
        std::fs::write(&output, b"older").unwrap();
        let temp = dir.join(".a.alchemist.mkv.alchemist-tmp-4");
        let target = Target::create(open_dir(&dir), output.clone(), temp.clone()).unwrap();
        std::fs::write(target.temp_path(), b"encoded").unwrap();
        assert_eq!(target.promote(0o640, 0, 0).unwrap(), Promoted::Done(7));
        assert_eq!(std::fs::read(&output).unwrap(), b"encoded");
        let mode = std::fs::metadata(&output).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        assert!(!temp.exists());
    }

    #[test]
    fn a_temp_name_taken_over_is_neither_promoted_nor_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("lib");
        std::fs::create_dir_all(&dir).unwrap();
        let victim = tmp.path().join("victim");
        std::fs::write(&victim, b"keep me").unwrap();
        let temp = dir.join(".a.alchemist.mkv.alchemist-tmp-3");
        let target =
            Target::create(open_dir(&dir), dir.join("a.alchemist.mkv"), temp.clone()).unwrap();
        std::fs::write(target.temp_path(), b"out").unwrap();
        // Someone with write access to the folder puts a link where the temp file was.
        std::fs::remove_file(&temp).unwrap();
        std::os::unix::fs::symlink(&victim, &temp).unwrap();
        assert_eq!(target.promote(0o644, 0, 0).unwrap(), Promoted::NameTaken);
        assert!(!dir.join("a.alchemist.mkv").exists());
        target.remove();
        assert!(std::fs::symlink_metadata(&temp).unwrap().is_symlink());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    }

    #[test]
    fn a_left_temp_is_removed_only_while_its_path_names_the_file_the_run_made() {
        let (tmp, shows, outside, output, temp) = folders();
        let name = temp.file_name().unwrap();
        let target = Target::create(open_dir(&shows), output.clone(), temp.clone()).unwrap();
        let made = target.temp_id().unwrap();
        drop(target); // the crash: the file stays, the record keeps its path and identity

        // The folder is swapped for a link to a folder holding a file of that name.
        let moved = tmp.path().join("shows.moved");
        std::fs::rename(&shows, &moved).unwrap();
        std::os::unix::fs::symlink(&outside, &shows).unwrap();
        std::fs::write(outside.join(name), b"someone else's").unwrap();
        remove_left(&temp, Some(made));
        assert_eq!(
            std::fs::read(outside.join(name)).unwrap(),
            b"someone else's"
        );
        assert!(moved.join(name).exists());

        // The name in the real folder replaced by another file: kept as well.
        std::fs::remove_file(&shows).unwrap();
        std::fs::rename(&moved, &shows).unwrap();
        // (the run's file still exists elsewhere, so the new one cannot reuse its inode)
        std::fs::rename(&temp, shows.join("kept")).unwrap();
        std::fs::write(&temp, b"another").unwrap();
        remove_left(&temp, Some(made));
        assert_eq!(std::fs::read(&temp).unwrap(), b"another");

        // The file the run made is removed; a record without the identity (an older
        // release's) removes a regular file of our name; a link of our name is left.
        std::fs::remove_file(&temp).unwrap();
        let target = Target::create(open_dir(&shows), output, temp.clone()).unwrap();
        let made = target.temp_id().unwrap();
        drop(target);
        remove_left(&temp, Some(made));
        assert!(!temp.exists());
        std::fs::write(&temp, b"old").unwrap();
        remove_left(&temp, None);
        assert!(!temp.exists());
        std::os::unix::fs::symlink(outside.join(name), &temp).unwrap();
        remove_left(&temp, None);
        assert!(temp.symlink_metadata().is_ok());
        assert!(outside.join(name).exists());
        // Gone already, or its folder gone: nothing to do.
        std::fs::remove_file(&temp).unwrap();
        remove_left(&temp, Some(made));
        remove_left(&tmp.path().join("gone").join(name), None);
    }
}
