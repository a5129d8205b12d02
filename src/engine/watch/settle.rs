//! Files waiting to settle: a file is ready once its size and mtime have not changed for the
//! settle time. Pure: the caller stats the files and gives the clock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One file being watched until it settles.
#[derive(Debug, Clone)]
struct Pending {
    folder: u64,
    size: u64,
    mtime_ns: i64,
    since: Instant,
}

/// The files waiting to settle.
#[derive(Debug, Default)]
pub struct Settler {
    files: BTreeMap<PathBuf, Pending>,
}

impl Settler {
    /// Record what `path` looks like now; a change (or a first sight) restarts its wait.
    /// Returns whether it was already waiting, unchanged.
    pub fn observe(
        &mut self,
        path: &Path,
        folder: u64,
        size: u64,
        mtime_ns: i64,
        now: Instant,
    ) -> bool {
        match self.files.get_mut(path) {
            Some(p) if p.size == size && p.mtime_ns == mtime_ns => return true,
            Some(p) => {
                (p.size, p.mtime_ns, p.since) = (size, mtime_ns, now);
            }
            None => {
                self.files.insert(
                    path.to_path_buf(),
                    Pending {
                        folder,
                        size,
                        mtime_ns,
                        since: now,
                    },
                );
            }
        }
        false
    }

    /// Start the wait of `path` again (it was found open for writing).
    pub fn restart(&mut self, path: &Path, now: Instant) {
        if let Some(p) = self.files.get_mut(path) {
            p.since = now;
        }
    }

    /// Forget `path` and anything below it (deleted, or queued).
    pub fn forget(&mut self, path: &Path) {
        self.files
            .retain(|p, _| p.as_path() != path && !p.starts_with(path));
    }

    /// `from` was renamed to `to`: its wait goes on under the new name.
    pub fn rename(&mut self, from: &Path, to: &Path) {
        let moved: Vec<PathBuf> = self
            .files
            .keys()
            .filter(|p| p.starts_with(from))
            .cloned()
            .collect();
        for old in moved {
            if let (Some(p), Ok(rest)) = (self.files.remove(&old), old.strip_prefix(from)) {
                let new = if rest.as_os_str().is_empty() {
                    to.to_path_buf()
                } else {
                    to.join(rest)
                };
                self.files.insert(new, p);
            }
        }
    }

    /// Files unchanged for `settle` by `now`.
    pub fn due(&self, settle: Duration, now: Instant) -> Vec<PathBuf> {
        self.files
            .iter()
            .filter(|(_, p)| p.since + settle <= now)
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// When the next file may be due.
    pub fn next_due(&self, settle: Duration) -> Option<Instant> {
        self.files.values().map(|p| p.since + settle).min()
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Waiting files of `folder`.
    pub fn count_in(&self, folder: u64) -> usize {
        self.files.values().filter(|p| p.folder == folder).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_due_once_unchanged_for_the_settle_time() {
        let settle = Duration::from_secs(30);
        let t0 = Instant::now();
        let (a, b) = (Path::new("/m/a.mkv"), Path::new("/m/d/b.mkv"));
        let mut s = Settler::default();
        s.observe(a, 1, 10, 1, t0);
        s.observe(b, 1, 5, 1, t0);
        assert_eq!(s.next_due(settle), Some(t0 + settle));
        // a grows at +20 s: its wait starts again; b's does not.
        s.observe(a, 1, 20, 2, t0 + Duration::from_secs(20));
        s.observe(b, 1, 5, 1, t0 + Duration::from_secs(20));
        assert_eq!(s.due(settle, t0 + settle), vec![b.to_path_buf()]);
        assert!(s.due(settle, t0 + Duration::from_secs(49)).len() == 1);
        assert_eq!(s.due(settle, t0 + Duration::from_secs(50)).len(), 2);
        s.restart(a, t0 + Duration::from_secs(50));
        assert_eq!(s.due(settle, t0 + Duration::from_secs(50)).len(), 1);
        s.rename(Path::new("/m/d"), Path::new("/m/e"));
        assert!(s.files.contains_key(Path::new("/m/e/b.mkv")));
        s.forget(Path::new("/m/e"));
        assert_eq!((s.len(), s.count_in(1)), (1, 1));
    }
}
