//! Probing through the cache: a probe result is kept per path with the file's size, mtime and
//! inode, so an unchanged file is never probed twice (the analyser probes ahead of dispatch;
//! a job's run then finds the result here).

use std::path::Path;

use super::failure::FileId;
use crate::media::MediaInfo;
use crate::media::probe::{self, ProbeError};
use crate::store::{ProbeCacheEntry, Store};

/// The probe of this version of `input`, from the cache when there is one.
pub(crate) async fn cached(
    store: &Store,
    ffprobe: &Path,
    input: &Path,
    id: FileId,
) -> Result<MediaInfo, ProbeError> {
    let key = input.to_path_buf();
    if let Ok(Some(entry)) = store.call(move |s| s.probe_cache_get(&key)).await
        && entry_matches(&entry, id)
        && let Ok(info) = serde_json::from_value::<MediaInfo>(entry.info)
    {
        return Ok(info);
    }
    let info = probe::probe(ffprobe, input).await?;
    remember(store, input, id, &info).await;
    Ok(info)
}

/// Remember a probe result for this version of the file; failing to is only logged.
pub(crate) async fn remember(store: &Store, input: &Path, id: FileId, info: &MediaInfo) {
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
    if let Err(e) = store.call(move |s| s.probe_cache_put(&key, &entry)).await {
        tracing::warn!(error = %e, "could not cache a probe result");
    }
}

/// Whether a cached probe describes this version of the file.
pub(crate) fn entry_matches(entry: &ProbeCacheEntry, id: FileId) -> bool {
    entry.size == id.size && entry.mtime_ns == id.mtime_ns && entry.inode == id.inode
}
