//! What the folder watcher asks of the jobs: which walked files are already known as they are,
//! moving jobs with their files when a file or a directory is renamed, and retiring queued
//! jobs whose file was deleted. Paths are compared as bytes, a directory by its `dir/` prefix.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use redb::ReadableTable;

use super::jobs::{apply, load, put_job};
use super::records::Job;
use super::tables::JOBS_BY_PATH;
use super::{Result, Store};
use crate::model::{Explanation, JobEvent, JobId, JobState};

/// Job ids at `path` itself or anywhere below it (when it is a directory).
fn jobs_at_or_under(
    table: &impl ReadableTable<&'static [u8], u64>,
    path: &Path,
) -> Result<Vec<(PathBuf, JobId)>> {
    let exact = path.as_os_str().as_bytes();
    let mut out = Vec::new();
    if let Some(id) = table.get(exact)? {
        out.push((path.to_path_buf(), JobId(id.value())));
    }
    let mut prefix = exact.to_vec();
    prefix.push(b'/');
    for row in table.range(prefix.as_slice()..)? {
        let (key, id) = row?;
        if !key.value().starts_with(&prefix) {
            break;
        }
        let p = PathBuf::from(OsStr::from_bytes(key.value()));
        out.push((p, JobId(id.value())));
    }
    Ok(out)
}

impl Store {
    /// For each file, whether a job already holds it as it is now (same size, mtime, inode and
    /// device): a walk then needs nothing more for it. One read transaction.
    pub fn known_unchanged(&self, files: &[super::ScannedFile]) -> Result<Vec<bool>> {
        let read = self.read()?;
        let by_path = read.open_table(JOBS_BY_PATH)?;
        let jobs = read.open_table(super::tables::JOBS)?;
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            let Some(id) = by_path.get(f.path.as_os_str().as_bytes())? else {
                out.push(false);
                continue;
            };
            let same = match jobs.get(id.value())? {
                Some(v) => {
                    let job: Job = super::codec::decode(v.value())?;
                    job.input_size == f.size
                        && job.input_mtime_ns == f.mtime_ns
                        && job.input_inode == f.inode
                        && job.input_dev == f.dev
                        && !retired(&job)
                }
                None => false,
            };
            out.push(same);
        }
        Ok(out)
    }

    /// `from` (a file or a directory) was renamed to `to`: the jobs of the files it holds take
    /// their new paths. A job being worked on keeps its path (its run holds the file and its
    /// end decides), as does one whose new path already has a job. Returns the moved jobs.
    pub fn move_job_paths(&self, from: &Path, to: &Path) -> Result<Vec<Job>> {
        self.write_jobs(|txn, changed| {
            let found = jobs_at_or_under(&txn.open_table(JOBS_BY_PATH)?, from)?;
            for (old_path, id) in found {
                let Ok(rest) = old_path.strip_prefix(from) else {
                    continue;
                };
                let new_path = if rest.as_os_str().is_empty() {
                    to.to_path_buf()
                } else {
                    to.join(rest)
                };
                let taken = txn
                    .open_table(JOBS_BY_PATH)?
                    .get(new_path.as_os_str().as_bytes())?
                    .is_some();
                let old = load(txn, id)?;
                if taken || old.status.is_active() {
                    continue;
                }
                let mut job = old.clone();
                job.input_path = new_path;
                job.updated_at = crate::model::now_ms().max(old.updated_at);
                put_job(txn, Some(&old), &job)?;
                changed.push(job);
            }
            Ok(changed.clone())
        })
    }

    /// `path` (a file or a directory) was deleted or moved out of the library: its queued jobs
    /// are cancelled and archived, so none waits for a file that is gone. Jobs in other states
    /// keep their history. Returns each retired job with its previous state.
    pub fn retire_missing(&self, path: &Path) -> Result<Vec<(Job, JobState)>> {
        self.write_jobs(|txn, changed| {
            let found = jobs_at_or_under(&txn.open_table(JOBS_BY_PATH)?, path)?;
            let mut out = Vec::new();
            for (p, id) in found {
                let old = load(txn, id)?;
                if old.status == JobState::Queued && gone(&p) {
                    out.push(retire(txn, changed, old)?);
                }
            }
            Ok(out)
        })
    }

    /// A walk of the library folder `root` (on device `root_dev`) read every entry and found
    /// the files in `seen`: the queued jobs below it that it did not find and whose file is
    /// not there (`ENOENT`, not any other error). Only jobs whose file was on the folder's own
    /// device: a share that is not mounted leaves an empty directory on another device, and
    /// its files are absent, not deleted. One read transaction; the watcher retires those still
    /// missing at its next walk (`retire_gone`).
    pub fn unseen_queued(
        &self,
        root: &Path,
        root_dev: u64,
        seen: &HashSet<PathBuf>,
    ) -> Result<Vec<PathBuf>> {
        let read = self.read()?;
        let found = jobs_at_or_under(&read.open_table(JOBS_BY_PATH)?, root)?;
        let jobs = read.open_table(super::tables::JOBS)?;
        let mut out = Vec::new();
        for (p, id) in found {
            if seen.contains(&p) {
                continue;
            }
            let Some(v) = jobs.get(id.0)? else {
                continue;
            };
            let job: Job = super::codec::decode(v.value())?;
            if job.status == JobState::Queued && job.input_dev == root_dev && gone(&p) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Retire the queued jobs at `paths` whose file is gone (checked again here), in one
    /// transaction. Returns each retired job with its previous state.
    pub fn retire_gone(&self, paths: &[PathBuf]) -> Result<Vec<(Job, JobState)>> {
        self.write_jobs(|txn, changed| {
            let mut out = Vec::new();
            for p in paths {
                let id = txn
                    .open_table(JOBS_BY_PATH)?
                    .get(p.as_os_str().as_bytes())?
                    .map(|v| JobId(v.value()));
                let Some(id) = id else {
                    continue;
                };
                let old = load(txn, id)?;
                if old.status == JobState::Queued && gone(p) {
                    out.push(retire(txn, changed, old)?);
                }
            }
            Ok(out)
        })
    }
}

/// The file is not there: a rename that reuses the name, or a fast replace, leaves a file, and
/// an unreadable one (a share gone stale, a permission) is not known to be gone.
fn gone(path: &Path) -> bool {
    matches!(path.symlink_metadata(), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

/// Code of the failure a retired job records (the one a run that finds no file records).
const RETIRED: &str = "source_missing";
/// The measured value that marks the retirement as the watcher's: an owner who brings the job
/// back clears it ([`owner_saw`]), so archiving it again is the owner's choice, kept.
const RETIRED_BY: &str = "retired_by";

/// Whether the watcher retired `job` because its file was gone: when the file is seen again,
/// even unchanged (moved out of the library and back, a share's disk back in place), the job
/// is queued again rather than known as it is.
pub(super) fn retired(job: &Job) -> bool {
    job.status == JobState::Cancelled
        && job.archived
        && job
            .failure
            .as_ref()
            .is_some_and(|f| f.code == RETIRED && f.measured.contains_key(RETIRED_BY))
}

/// The owner brought `job` back from the archive: it is no longer the watcher's retirement.
pub(super) fn owner_saw(job: &mut Job) {
    if let Some(f) = &mut job.failure {
        f.measured.remove(RETIRED_BY);
    }
}

/// Cancel and archive a queued job whose file is gone.
fn retire(
    txn: &redb::WriteTransaction,
    changed: &mut Vec<Job>,
    old: Job,
) -> Result<(Job, JobState)> {
    let mut job = old.clone();
    let previous = apply(&mut job, JobEvent::Cancel)?;
    job.archived = true;
    job.failure = Some(
        Explanation::new(
            RETIRED,
            "The file was deleted or moved out of the library while the job waited.",
            "The job was cancelled and archived. If the file comes back, a scan or the folder \
         watch queues it again.",
        )
        .with(RETIRED_BY, "watch"),
    );
    put_job(txn, Some(&old), &job)?;
    changed.push(job.clone());
    Ok((job, previous))
}

#[cfg(test)]
mod tests {
    use super::super::{ScanOutcome, ScannedFile};
    use super::*;

    fn scanned(path: &str, size: u64) -> ScannedFile {
        ScannedFile {
            path: PathBuf::from(path),
            size,
            mtime_ns: 1,
            inode: 7,
            dev: 1,
            folder_id: Some(1),
        }
    }

    #[test]
    fn moves_files_and_directories_and_retires_missing_queued_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let files = [
            scanned("/m/a.mkv", 1),
            scanned("/m/show/e1.mkv", 2),
            scanned("/m/show2/e1.mkv", 3),
        ];
        store.upsert_scanned(&files).unwrap();
        assert_eq!(store.known_unchanged(&files).unwrap(), [true; 3]);
        assert_eq!(
            store.known_unchanged(&[scanned("/m/a.mkv", 9)]).unwrap(),
            [false]
        );
        let a = store
            .job_id_by_path(Path::new("/m/a.mkv"))
            .unwrap()
            .unwrap();
        let moved = store
            .move_job_paths(Path::new("/m/a.mkv"), Path::new("/m/b.mkv"))
            .unwrap();
        assert_eq!(moved.len(), 1);
        assert_eq!(
            store.job_id_by_path(Path::new("/m/b.mkv")).unwrap(),
            Some(a)
        );
        assert_eq!(store.job_id_by_path(Path::new("/m/a.mkv")).unwrap(), None);
        // A directory moves its files, and only its own (not `show2`).
        let moved = store
            .move_job_paths(Path::new("/m/show"), Path::new("/m/Show"))
            .unwrap();
        assert_eq!(moved.len(), 1);
        assert!(
            store
                .job_id_by_path(Path::new("/m/Show/e1.mkv"))
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .job_id_by_path(Path::new("/m/show2/e1.mkv"))
                .unwrap()
                .is_some()
        );
        // These paths do not exist on disk: their queued jobs are retired.
        let retired = store.retire_missing(Path::new("/m/Show")).unwrap();
        assert_eq!(retired.len(), 1);
        assert_eq!(retired[0].0.status, JobState::Cancelled);
        assert!(retired[0].0.archived);
        assert!(
            store
                .retire_missing(Path::new("/m/Show"))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            retired[0].0.failure.as_ref().map(|f| f.code.as_str()),
            Some("source_missing")
        );
        // The file comes back as it was (moved out and back in): the job is queued again.
        let back = ScannedFile {
            path: PathBuf::from("/m/Show/e1.mkv"),
            ..scanned("/m/show/e1.mkv", 2)
        };
        assert_eq!(
            store.known_unchanged(std::slice::from_ref(&back)).unwrap(),
            [false]
        );
        let outcome = store.upsert_scanned(std::slice::from_ref(&back)).unwrap();
        assert_eq!(outcome, [ScanOutcome::Requeued(retired[0].0.id)]);
        let job = store.get_job(retired[0].0.id).unwrap();
        assert_eq!((job.status, job.archived), (JobState::Queued, false));
        assert_eq!(job.failure, None);
        assert_eq!(
            store.known_unchanged(std::slice::from_ref(&back)).unwrap(),
            [true]
        );
        // Retired again, brought back by the owner and archived by the owner: the owner's
        // choice, which the file coming back does not undo.
        let id = retired[0].0.id;
        assert_eq!(store.retire_missing(Path::new("/m/Show")).unwrap().len(), 1);
        store.unarchive(&[id]).unwrap();
        store.archive(&[id]).unwrap().unwrap();
        let outcome = store.upsert_scanned(std::slice::from_ref(&back)).unwrap();
        assert_eq!(outcome, [ScanOutcome::Unchanged]);
        assert_eq!(store.get_job(id).unwrap().status, JobState::Cancelled);
    }

    #[test]
    fn walks_find_unseen_queued_jobs_whose_file_is_gone_from_the_folders_device() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("data")).unwrap();
        let root = dir.path().join("lib");
        std::fs::create_dir(&root).unwrap();
        let dev = std::fs::metadata(&root).unwrap().dev();
        let at = |name: &str, dev: u64| ScannedFile {
            path: root.join(name),
            dev,
            ..scanned("/", 1)
        };
        let kept = at("kept.mkv", dev);
        std::fs::write(&kept.path, b"x").unwrap();
        // Not walked (an unreadable directory, a file that came during the walk) but there.
        let unseen_present = at("late.mkv", dev);
        std::fs::write(&unseen_present.path, b"x").unwrap();
        let deleted = at("deleted.mkv", dev);
        // Gone, but recorded on another device: the folder's share may simply not be mounted.
        let elsewhere = at("sub/mount.mkv", dev + 1);
        let outside = ScannedFile {
            path: dir.path().join("other/x.mkv"),
            ..deleted.clone()
        };
        let files = [kept, unseen_present, deleted, elsewhere, outside];
        store.upsert_scanned(&files).unwrap();
        let seen: HashSet<PathBuf> = [files[0].path.clone()].into();
        let unseen = store.unseen_queued(&root, dev, &seen).unwrap();
        assert_eq!(unseen, [files[2].path.clone()]);
        let retired = store.retire_gone(&unseen).unwrap();
        let paths: Vec<&Path> = retired
            .iter()
            .map(|(j, _)| j.input_path.as_path())
            .collect();
        assert_eq!(paths, [files[2].path.as_path()]);
        assert_eq!(retired[0].1, JobState::Queued);
        assert!(retired[0].0.archived);
        assert!(store.unseen_queued(&root, dev, &seen).unwrap().is_empty());
        assert!(store.retire_gone(&unseen).unwrap().is_empty());
        std::fs::write(&files[1].path, b"x").unwrap();
        assert!(
            store
                .retire_gone(std::slice::from_ref(&files[1].path))
                .unwrap()
                .is_empty(),
            "a file that is there is not retired"
        );
    }
}
