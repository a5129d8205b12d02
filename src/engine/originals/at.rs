//! The file steps of a replacement, each relative to a folder opened once: a name is checked
//! and then linked, moved or removed in the very folder it was checked in, so a folder path
//! swapped for a link meanwhile cannot send a step to another folder. The job's trash folder
//! (`.alchemist-trash/<job>`) is opened from the original's folder and never through a link,
//! so an original and its trashed name are always in one pair of folders: if the original's
//! folder path leads elsewhere by the time of a restore, the trash is not found there and
//! nothing moves.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::media::paths::TRASH_DIR;

/// A name in a folder held open.
#[derive(Debug)]
pub(super) struct Named {
    dir: OwnedFd,
    name: OsString,
}

impl Named {
    /// `path`'s folder, opened as the path stands now, and its file name in it; `None` when
    /// the folder does not exist.
    pub fn open(path: &Path) -> io::Result<Option<Named>> {
        let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} has no folder and name", path.display()),
            ));
        };
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match rustix::fs::open(folder, flags, Mode::empty()) {
            Ok(dir) => Ok(Some(Named {
                dir,
                name: name.to_os_string(),
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `path` and `other`, with one folder held for both when their paths share it.
    pub fn open_pair(path: &Path, other: &Path) -> io::Result<(Option<Named>, Option<Named>)> {
        let first = Named::open(path)?;
        let second = match (&first, other.file_name()) {
            (Some(f), Some(name)) if path.parent() == other.parent() => Some(f.sibling(name)?),
            _ => Named::open(other)?,
        };
        Ok((first, second))
    }

    /// Another name in the same folder.
    pub fn sibling(&self, name: &OsStr) -> io::Result<Named> {
        Ok(Named {
            dir: self.dir.try_clone()?,
            name: name.to_os_string(),
        })
    }

    /// The inode the name has now (a link is not followed); `None` when it is free.
    pub fn ino(&self) -> io::Result<Option<u64>> {
        match rustix::fs::statat(&self.dir, &self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st.st_ino)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Make the folder's entries durable.
    pub fn sync(&self) -> io::Result<()> {
        rustix::fs::fsync(&self.dir).map_err(io::Error::from)
    }

    /// Remove the name if it is still file `ino`; whether it was removed.
    pub fn remove_if(&self, ino: u64) -> io::Result<bool> {
        if self.ino()? != Some(ino) {
            return Ok(false);
        }
        match rustix::fs::unlinkat(&self.dir, &self.name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The job's trash folder beside this original (`.alchemist-trash/<job>`, made when
    /// `create`; each part opened without following a link), and the original's name in it.
    /// `None` when it does not exist and is not to be made.
    pub fn trash(&self, job: u64, create: bool) -> io::Result<Option<Named>> {
        let Some(top) = subfolder(&self.dir, OsStr::new(TRASH_DIR), create)? else {
            return Ok(None);
        };
        let Some(dir) = subfolder(&top, OsStr::new(&job.to_string()), create)? else {
            return Ok(None);
        };
        Ok(Some(Named {
            dir,
            name: self.name.clone(),
        }))
    }

    /// Remove the job's trash folder beside this original and the trash folder above it,
    /// each only if empty.
    pub fn remove_empty_trash(&self, job: u64) {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        if let Ok(top) = rustix::fs::openat(&self.dir, TRASH_DIR, flags, Mode::empty()) {
            let _ = rustix::fs::unlinkat(&top, job.to_string(), AtFlags::REMOVEDIR);
        }
        let _ = rustix::fs::unlinkat(&self.dir, TRASH_DIR, AtFlags::REMOVEDIR);
    }
}

/// Folder `name` in `dir`, never through a link; made (private to the box's users as the
/// umask says) when missing and `create`.
fn subfolder(dir: &OwnedFd, name: &OsStr, create: bool) -> io::Result<Option<OwnedFd>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => return Ok(Some(fd)),
        Err(Errno::NOENT) if create => {}
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    match rustix::fs::mkdirat(dir, name, Mode::from_bits_truncate(0o777)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Some(rustix::fs::openat(dir, name, flags, Mode::empty())?))
}

/// Move `from` to `to` without ever replacing `to`, if `from` is still file `ino` (a hard
/// link, then the old name removed). Idempotent: a crash between the two leaves two names of
/// one inode, which the rerun resolves.
pub(super) fn move_no_replace(from: &Named, to: &Named, ino: u64) -> io::Result<()> {
    match (from.ino()?, to.ino()?) {
        (Some(f), None) if f == ino => {
            rustix::fs::linkat(&from.dir, &from.name, &to.dir, &to.name, AtFlags::empty())?;
            to.sync()?;
            from.remove_if(ino)?;
            from.sync()
        }
        (Some(f), Some(t)) if f == ino && t == ino => {
            from.remove_if(ino)?;
            from.sync()
        }
        // Already moved, or not ours to move: leave everything as it is.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn ino(path: &Path) -> u64 {
        std::fs::symlink_metadata(path).unwrap().ino()
    }

    #[test]
    fn a_move_stays_in_the_folders_opened_when_their_paths_are_swapped_for_links() {
        let tmp = tempfile::tempdir().unwrap();
        let shows = tmp.path().join("shows");
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir_all(&shows).unwrap();
        std::fs::create_dir_all(elsewhere.join(TRASH_DIR).join("4")).unwrap();
        let film = shows.join("film.mkv");
        std::fs::write(&film, b"original").unwrap();
        let original_ino = ino(&film);

        let original = Named::open(&film).unwrap().unwrap();
        let trashed = original.trash(4, true).unwrap().unwrap();
        // The folder's path now leads elsewhere, where a trash folder of that job waits.
        let moved = tmp.path().join("shows.moved");
        std::fs::rename(&shows, &moved).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &shows).unwrap();
        move_no_replace(&original, &trashed, original_ino).unwrap();
        let in_trash = moved.join(TRASH_DIR).join("4").join("film.mkv");
        assert_eq!(std::fs::read(&in_trash).unwrap(), b"original");
        assert!(!moved.join("film.mkv").exists());
        assert_eq!(
            std::fs::read_dir(elsewhere.join(TRASH_DIR).join("4"))
                .unwrap()
                .count(),
            0
        );

        // Opened through the link now: no trash of the job is found beside "the original",
        // so a restore moves nothing out of a folder the link leads to.
        std::fs::write(elsewhere.join("film.mkv"), b"someone else's").unwrap();
        let there = Named::open(&film).unwrap().unwrap();
        let trash_there = there.trash(4, false).unwrap().unwrap();
        assert_eq!(trash_there.ino().unwrap(), None);
        move_no_replace(&trash_there, &there, original_ino).unwrap();
        assert_eq!(
            std::fs::read(elsewhere.join("film.mkv")).unwrap(),
            b"someone else's"
        );
    }

    #[test]
    fn a_trash_folder_that_is_a_link_is_refused_and_names_are_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let shows = tmp.path().join("shows");
        std::fs::create_dir_all(&shows).unwrap();
        let film = shows.join("film.mkv");
        std::fs::write(&film, b"original").unwrap();
        std::os::unix::fs::symlink(&outside, shows.join(TRASH_DIR)).unwrap();
        let original = Named::open(&film).unwrap().unwrap();
        let err = original.trash(9, true).unwrap_err();
        assert!(
            matches!(err.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

        // A taken name is never replaced, and a file that is not `ino` is not moved.
        std::fs::write(shows.join("film.alchemist.mkv"), b"output").unwrap();
        let (from, to) = Named::open_pair(&shows.join("film.alchemist.mkv"), &film).unwrap();
        let (from, to) = (from.unwrap(), to.unwrap());
        let output_ino = ino(&shows.join("film.alchemist.mkv"));
        move_no_replace(&from, &to, output_ino).unwrap();
        assert_eq!(std::fs::read(&film).unwrap(), b"original");
        move_no_replace(&to, &from, ino(&film)).unwrap();
        assert_eq!(
            std::fs::read(&film).unwrap(),
            b"original",
            "output name taken"
        );
        assert!(!to.remove_if(output_ino).unwrap());
        assert!(to.remove_if(ino(&film)).unwrap());
        assert!(!film.exists());
        assert!(
            Named::open(&tmp.path().join("gone").join("x"))
                .unwrap()
                .is_none()
        );
    }
}
