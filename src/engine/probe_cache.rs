//! The two file-system steps around an encode that must be exactly right: probing through the
//! cache (keyed by path, size, mtime and inode, so an unchanged file is never probed twice) and
//! promotion (fsync the verified temp file, rename it into place, fsync the directory).

use std::path::Path;

use super::Engine;
use super::faults::FileId;
use crate::media::{MediaInfo, probe};
use crate::model::Explanation;
use crate::store::ProbeCacheEntry;

impl Engine {
    pub(super) async fn probe_cached(
        &self,
        input: &Path,
        meta: &std::fs::Metadata,
    ) -> Result<MediaInfo, Explanation> {
        let key = input.to_path_buf();
        let id = FileId::of(meta);
        if let Ok(Some(entry)) = self
            .inner
            .store
            .call(move |s| s.probe_cache_get(&key))
            .await
            && entry_matches(&entry, id)
            && let Ok(info) = serde_json::from_value::<MediaInfo>(entry.info)
        {
            return Ok(info);
        }
        let info = probe::probe(&self.inner.ffprobe, input)
            .await
            .map_err(|e| e.explanation())?;
        self.cache_probe(input, id, &info).await;
        Ok(info)
    }

    /// Remember a probe result for this version of the file; failing to is only logged.
    pub(super) async fn cache_probe(&self, input: &Path, id: FileId, info: &MediaInfo) {
        let Ok(json) = serde_json::to_value(info) else {
            return;
        };
        let key = input.to_path_buf();
        let entry = ProbeCacheEntry {
            size: id.size,
            mtime_ns: id.mtime_ns,
            inode: id.inode,
            info: json,
        };
        if let Err(e) = self
            .inner
            .store
            .call(move |s| s.probe_cache_put(&key, &entry))
            .await
        {
            tracing::warn!(error = %e, "could not cache a probe result");
        }
    }
}

/// Whether a cached probe describes this version of the file.
pub(super) fn entry_matches(entry: &ProbeCacheEntry, id: FileId) -> bool {
    entry.size == id.size && entry.mtime_ns == id.mtime_ns && entry.inode == id.inode
}

/// fsync the temp file, rename it over the final name, fsync the directory. Returns the size.
pub(super) fn promote(temp: &Path, output: &Path) -> std::io::Result<u64> {
    let file = std::fs::File::open(temp)?;
    file.sync_all()?;
    let size = file.metadata()?.len();
    drop(file);
    std::fs::rename(temp, output)?;
    if let Some(dir) = output.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(size)
}
