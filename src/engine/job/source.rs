//! Opening a job's source safely. The path is resolved below its library folder with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, so neither the file nor any folder below
//! the library root may be a symbolic link (a file swapped for a link to something outside the
//! library between the scan and the run is refused, not encoded into the library), and the open
//! file must be the one the scan recorded (device and inode). The run then hands this open file
//! to ffmpeg, and writes beside it through the folder opened on the way (`target`). On a kernel without `openat2` (before 5.6) the file itself is still opened with
//! `O_NOFOLLOW` and checked against the record.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::stages::Source;
use crate::engine::failure::{Failure, FileId};

/// Open `path` (below `root` when known) and check it against the recorded (device, inode);
/// 0 means "not recorded".
pub(super) fn open_checked(
    path: PathBuf,
    root: Option<PathBuf>,
    recorded: (u64, u64),
) -> Result<Source, Failure> {
    let (dir, file) = open_pinned(&path, root.as_deref()).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => Failure::SourceGone(e),
        Some(libc::ELOOP) | Some(libc::EXDEV) => Failure::SourceSwapped {
            why: "the path now leads through a symbolic link; only files inside the library \
                  folder are encoded"
                .into(),
        },
        _ => Failure::Unopenable(e),
    })?;
    let meta = file.metadata().map_err(Failure::SourceGone)?;
    if !meta.is_file() {
        return Err(Failure::NotAFile);
    }
    let (dev, inode) = recorded;
    if inode != 0 && (meta.ino() != inode || (dev != 0 && meta.dev() != dev)) {
        return Err(Failure::SourceSwapped {
            why: format!(
                "it is another file (device {}, inode {}) than the one queued (device {dev}, \
                 inode {inode})",
                meta.dev(),
                meta.ino()
            ),
        });
    }
    if meta.len() == 0 {
        return Err(Failure::Empty);
    }
    Ok(Source {
        size: meta.len(),
        id: FileId::of(&meta),
        mode: meta.mode(),
        uid: meta.uid(),
        gid: meta.gid(),
        file,
        dir,
        path,
    })
}

/// Open for reading without following any symbolic link below `root` (or, without a root, in
/// the last component). Non-blocking, so a FIFO put in a file's place cannot hang the open.
pub(crate) fn open_no_symlinks(path: &Path, root: Option<&Path>) -> io::Result<File> {
    Ok(open_pinned(path, root)?.1)
}

/// [`open_no_symlinks`], also returning the file's folder as opened on the way: what a run
/// writes beside the source goes there through this descriptor, never through the path again
/// (a folder renamed and replaced by a link after the open does not move the writes).
pub(crate) fn open_pinned(path: &Path, root: Option<&Path>) -> io::Result<(OwnedFd, File)> {
    let flags =
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::NONBLOCK;
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut dir = None;
    if let Some(root) = root
        && let Ok(relative) = parent.strip_prefix(root)
    {
        let top = rustix::fs::open(root, dir_flags, Mode::empty())?;
        dir = if relative.as_os_str().is_empty() {
            Some(top)
        } else {
            let resolve =
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
            match rustix::fs::openat2(&top, relative, dir_flags, Mode::empty(), resolve) {
                Ok(fd) => Some(fd),
                // A kernel without openat2: the folder is opened by its path below.
                Err(Errno::NOSYS) => None,
                Err(e) => return Err(e.into()),
            }
        };
    }
    let dir = match dir {
        Some(dir) => dir,
        None => rustix::fs::open(parent, dir_flags, Mode::empty())?,
    };
    let file = rustix::fs::openat(&dir, name, flags, Mode::empty())?;
    Ok((dir, File::from(file)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened(path: &Path, root: &Path, recorded: (u64, u64)) -> Result<Source, Failure> {
        open_checked(path.to_path_buf(), Some(root.to_path_buf()), recorded)
    }

    #[test]
    fn links_below_the_root_and_swapped_files_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let lib = tmp.path().join("lib");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(lib.join("shows")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.mp4"), b"not yours").unwrap();
        let film = lib.join("film.mp4");
        std::fs::write(&film, b"a film").unwrap();
        let meta = std::fs::metadata(&film).unwrap();
        let recorded = (meta.dev(), meta.ino());

        let source = opened(&film, &lib, recorded).unwrap();
        assert_eq!(source.size, 6);

        // The file swapped for a link to a file outside: refused as a changed source.
        std::fs::remove_file(&film).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.mp4"), &film).unwrap();
        let err = opened(&film, &lib, recorded).unwrap_err();
        assert_eq!(err.code(), "source_changed", "{err:?}");

        // A folder below the root swapped for a link.
        std::fs::remove_dir(lib.join("shows")).unwrap();
        std::os::unix::fs::symlink(&outside, lib.join("shows")).unwrap();
        let err = opened(&lib.join("shows/secret.mp4"), &lib, (0, 0)).unwrap_err();
        assert_eq!(err.code(), "source_changed", "{err:?}");

        // Another regular file under the same name: not the one queued.
        std::fs::remove_file(&film).unwrap();
        std::fs::write(&film, b"another film").unwrap();
        let err = opened(&film, &lib, recorded).unwrap_err();
        assert_eq!(err.code(), "source_changed", "{err:?}");
        assert!(err.explain().detail.contains("another file"), "{err:?}");

        // Gone, and not a file.
        assert_eq!(
            opened(&lib.join("missing.mp4"), &lib, (0, 0))
                .unwrap_err()
                .code(),
            "source_missing"
        );
        std::fs::create_dir(lib.join("dir.mp4")).unwrap();
        assert_eq!(
            opened(&lib.join("dir.mp4"), &lib, (0, 0))
                .unwrap_err()
                .code(),
            "not_a_file"
        );
    }
}
