//! The segment folder of a run: recorded in the store before it is made, made and opened as
//! held in the output's folder (ours alone, or refused), filled or reused by its manifest,
//! and removed when its job ends ([`discard`]) or, at boot, when no queued job owns it
//! ([`sweep`]).

use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use crate::engine::failure::Failure;
use crate::engine::job::target::Made;
use crate::engine::job::{JobContext, Progress};
use crate::media::run::RunError;
use crate::media::{paths, segments as seg};
use crate::model::{JobId, now_ms};
use crate::store::{SegmentsEntry, Store};

/// Record, make and open the run's segment folder in the output's folder as held (never
/// through its path again), before any encoder tries: a folder refused is the output
/// folder's failure, not an encoder's (which would count against the hardware).
pub(in crate::engine::job) async fn hold_folder(
    ctx: &JobContext,
    run: &mut Progress,
) -> Result<(), Failure> {
    let Some(dir) = run.segments.clone() else {
        return Ok(());
    };
    let target = run.target.as_ref().ok_or_else(|| Failure::Internal {
        summary: "The segment folder could not be made.",
        detail: "no output folder yet".into(),
    })?;
    let outer = target.dir().try_clone().map_err(Failure::Promote)?;
    let made = target.made().map_err(Failure::Promote)?;
    register(ctx, &dir).await.map_err(|e| Failure::Internal {
        summary: "The segment folder could not be recorded.",
        detail: e.to_string(),
    })?;
    // The clean-up at the end of the run goes through the output's folder as held too.
    run.segments_outer = Some(outer.try_clone().map_err(Failure::Promote)?);
    let name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    let held = tokio::task::spawn_blocking(move || pin_folder(&outer, &name, made))
        .await
        .map_err(|e| Failure::Promote(io::Error::other(e.to_string())))?
        .map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => Failure::OutputLocation {
                why: format!("its segment folder {}: {e}", paths::shown(&dir)),
            },
            _ => Failure::Promote(e),
        })?;
    run.segments_held = Some(held);
    Ok(())
}

/// A new file `path` of ours (0600), whatever had its name removed first; `O_EXCL`, so a link
/// put in its place meanwhile is refused, not followed.
pub(super) fn new_file(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Record the folder in the store before it exists, so a crash cannot leave one unknown.
async fn register(ctx: &JobContext, dir: &Path) -> Result<(), RunError> {
    let entry = SegmentsEntry {
        job_id: ctx.id().0,
        dir: dir.to_path_buf(),
        created_at: now_ms(),
    };
    ctx.ledger
        .store()
        .call(move |s| s.segments_put(&entry))
        .await
        .map_err(|e| RunError::Spawn(io::Error::other(e.to_string())))
}

/// Make the segment folder `name` in the output's folder `outer`, and open it, refusing a link
/// in its place. Only this process may write in it: a folder of that name owned by someone
/// else than what we make there (put in place to plant links to files ffmpeg would then
/// write as root) is refused, as is one others may write in that cannot be closed to them;
/// one of ours from an earlier run is kept (to resume) and closed to others. On a filesystem
/// without real owners and modes (`made` tells), what it shows is what it shows for ours too.
fn pin_folder(outer: &OwnedFd, name: &std::ffi::OsStr, made: Made) -> io::Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    match rustix::fs::mkdirat(outer, name, Mode::from_bits_truncate(0o700)) {
        Ok(()) => rustix::fs::fsync(outer)?,
        Err(rustix::io::Errno::EXIST) => {}
        Err(e) => return Err(e.into()),
    }
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let dir = rustix::fs::openat(outer, name, flags, Mode::empty())?;
    let refused = |why: &str| io::Error::new(io::ErrorKind::PermissionDenied, why.to_string());
    let st = rustix::fs::fstat(&dir)?;
    if st.st_uid != made.uid {
        return Err(refused(
            "a folder of its name that another user made is in the way",
        ));
    }
    if st.st_mode & 0o777 != 0o700 {
        // Refused by a filesystem without modes: what it then shows is checked below.
        let _ = rustix::fs::fchmod(&dir, Mode::from_bits_truncate(0o700));
    }
    let st = rustix::fs::fstat(&dir)?;
    if st.st_mode & 0o022 != 0 && made.modes_kept {
        return Err(refused(
            "a folder of its name that others may write in is in the way",
        ));
    }
    Ok(dir)
}

/// Fill the segment folder (reached as `dir`), or reuse it when its manifest is this run's;
/// anything but the complete prefix of segments (a part file, a segment after a gap, another
/// run's files) is removed.
/// Returns how many segments are complete.
pub(super) fn open_folder(
    dir: &Path,
    fingerprint: &str,
    count: usize,
    ext: &str,
) -> io::Result<usize> {
    let manifest = dir.join(seg::MANIFEST);
    let same = std::fs::read_to_string(&manifest).is_ok_and(|m| m.trim() == fingerprint);
    if !same {
        for e in std::fs::read_dir(dir)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                std::fs::remove_dir_all(e.path())?;
            } else {
                std::fs::remove_file(e.path())?;
            }
        }
        let tmp = dir.join(".manifest.part");
        new_file(&tmp)?.write_all(fingerprint.as_bytes())?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &manifest)?;
        std::fs::File::open(dir)?.sync_all()?;
        return Ok(0);
    }
    let names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let complete = seg::complete_prefix(&names, count, ext);
    let keep: Vec<String> = (0..complete).map(|i| seg::segment_name(i, ext)).collect();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if name != seg::MANIFEST && !keep.iter().any(|k| name == k.as_str()) {
            std::fs::remove_file(e.path())?;
        }
    }
    Ok(complete)
}

/// fsync a finished segment, rename it to its complete name, fsync the folder; its size plus
/// the earlier segments' is returned.
pub(super) fn finish_segment(part: &Path, done: &Path) -> io::Result<u64> {
    std::fs::File::open(part)?.sync_all()?;
    std::fs::rename(part, done)?;
    let dir = done.parent().unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()?;
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        if name != seg::MANIFEST
            && name != seg::CONCAT_LIST
            && !name.to_string_lossy().ends_with(".part")
        {
            total += e.metadata()?.len();
        }
    }
    Ok(total)
}

fn sync_parent(dir: &Path) -> io::Result<()> {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => std::fs::File::open(p)?.sync_all(),
        _ => Ok(()),
    }
}

/// Remove a segment folder and what is in it (only ever one of ours, by its name).
fn clear(dir: &Path) -> io::Result<()> {
    if !paths::is_segments_dir(dir) {
        return Err(io::Error::other(
            "refusing to remove a folder that is not ours",
        ));
    }
    match std::fs::remove_dir_all(dir) {
        Ok(()) => sync_parent(dir),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The job ended (completed, failed, cancelled, skipped): its segments are not needed again.
pub(in crate::engine::job) async fn discard(store: &Store, id: JobId, dir: &Path) {
    let path = dir.to_path_buf();
    let had = tokio::task::spawn_blocking(move || {
        let had = path.exists();
        if let Err(e) = clear(&path) {
            tracing::warn!(path = ?path, error = %e, "could not remove the segments");
        }
        had
    })
    .await
    .unwrap_or(true);
    // Most jobs are never segmented: no store write for them.
    if !had {
        return;
    }
    if let Err(e) = store.call(move |s| s.segments_remove(id.0)).await {
        tracing::warn!(error = %e, "could not forget the segments");
    }
}

/// A queued job waiting to resume was cancelled: its segments go.
pub(crate) async fn discard_of(store: &Store, id: JobId) {
    match store.call(move |s| s.segments_get(id.0)).await {
        Ok(Some(entry)) => discard(store, id, &entry.dir).await,
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "could not look up the segments"),
    }
}

/// Boot recovery, after interrupted jobs went back to the queue: the segment folders of queued
/// jobs are kept (they resume); every other one (its job ended, was removed, or the folder
/// was left by a crash during clean-up) is removed. Returns the folders removed.
pub(crate) async fn sweep(store: &Store) -> Result<Vec<PathBuf>, crate::store::StoreError> {
    let entries = store.call(|s| s.segments_list()).await?;
    let mut removed = Vec::new();
    for entry in entries {
        let id = JobId(entry.job_id);
        let keep = store
            .call(move |s| Ok(s.get_job(id).ok()))
            .await?
            .is_some_and(|j| j.status == crate::model::JobState::Queued && !j.archived);
        if keep && entry.dir.exists() {
            continue;
        }
        let dir = entry.dir.clone();
        let result = tokio::task::spawn_blocking(move || clear(&dir))
            .await
            .unwrap_or_else(|e| Err(io::Error::other(e.to_string())));
        if let Err(e) = result {
            tracing::warn!(path = ?entry.dir, error = %e, "could not remove orphaned segments");
            continue;
        }
        store.call(move |s| s.segments_remove(id.0)).await?;
        if !keep {
            removed.push(entry.dir);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn open_dir(path: &Path) -> OwnedFd {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::open(path, flags, Mode::empty()).unwrap()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_segment_folder_is_ours_alone_or_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let outer = open_dir(tmp.path());
        let name = std::ffi::OsStr::new(".film.mkv.alchemist-seg-3");
        let dir = tmp.path().join(name);
        let me = Made {
            uid: rustix::process::geteuid().as_raw(),
            modes_kept: true,
        };

        // Made closed to others.
        pin_folder(&outer, name, me).unwrap();
        assert_eq!(mode(&dir), 0o700);

        // One of ours from an older release (0755), or opened to others, is kept and closed.
        std::fs::write(dir.join("00000.mkv"), b"segment").unwrap();
        for open in [0o755, 0o777] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(open)).unwrap();
            pin_folder(&outer, name, me).unwrap();
            assert_eq!(mode(&dir), 0o700);
        }
        assert!(dir.join("00000.mkv").exists());

        // One another user made (planted to hold links) is refused.
        let someone = Made {
            uid: me.uid.wrapping_add(1),
            ..me
        };
        let err = pin_folder(&outer, name, someone).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");

        // A link in its place is refused.
        std::fs::remove_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(tmp.path(), &dir).unwrap();
        assert!(pin_folder(&outer, name, me).is_err());
    }
}
