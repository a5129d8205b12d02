//! Watched folders that change under the watch: a folder replaced (renamed away and another put
//! in its place) or remounted (a USB disk or a share mounted again) keeps its path, but the
//! inotify watch stays on the old directory and no event says so. Every [`ROOT_CHECK`], and at
//! once when an event names a watched folder itself, each folder's identity (device and inode)
//! is compared with the one it had when it was watched; a changed one is watched again and
//! walked, and a folder whose watch could not be set up is tried again.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use super::events::Sorted;
use super::worker::Watcher;
use crate::media::paths;
use crate::model::LogLevel;

/// How often the watched folders' identities are checked: a stat per folder.
pub(super) const ROOT_CHECK: Duration = Duration::from_secs(60);

/// Device and inode of a directory.
pub(super) fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_dir())
        .map(|m| (m.dev(), m.ino()))
}

impl Watcher {
    /// A watched folder itself was removed or moved: check the folders now.
    pub(super) fn note_root_events(&mut self, s: &Sorted) {
        let named = s
            .removed
            .iter()
            .chain(&s.moved_out)
            .chain(s.renamed.iter().map(|(from, _)| from));
        if named.into_iter().any(|p| self.root_ids.contains_key(p)) {
            self.root_check_due = true;
        }
    }

    /// When the folders are checked next (`None`: nothing to check).
    pub(super) fn next_root_check(&self) -> Option<Instant> {
        let any = !self.root_ids.is_empty() || self.folders.iter().any(|f| f.watch_failed);
        any.then_some(self.next_root_check)
    }

    /// Check the watched folders' identities if due; watch changed ones again.
    pub(super) async fn check_roots(&mut self) {
        let now = Instant::now();
        if !std::mem::take(&mut self.root_check_due) && now < self.next_root_check {
            return;
        }
        self.next_root_check = now + ROOT_CHECK;
        let roots: Vec<(PathBuf, (u64, u64))> = self
            .root_ids
            .iter()
            .map(|(p, id)| (p.clone(), *id))
            .collect();
        let changed: Vec<PathBuf> = tokio::task::spawn_blocking(move || {
            roots
                .into_iter()
                .filter(|(p, id)| identity(p) != Some(*id))
                .map(|(p, _)| p)
                .collect()
        })
        .await
        .unwrap_or_default();
        let retry = self.folders.iter().any(|f| f.watch_failed);
        if changed.is_empty() && !retry {
            return;
        }
        for path in &changed {
            self.ledger.note(
                LogLevel::Warning,
                format!(
                    "library folder {} was replaced, removed or remounted: watching it again",
                    paths::shown(path)
                ),
            );
            self.forget_watch(path);
        }
        self.configure().await;
        // Files may have come and gone while the folder was not watched.
        for f in &mut self.folders {
            if changed.contains(&f.stored.path) {
                f.next_walk = Some(now);
            }
        }
    }
}
