//! Replaced originals as the API and the Trash page show them: a [`TrashView`] per entry, with
//! its size on disk and its purge date, and the restore that answers with one.

use std::path::Path;

use serde::Serialize;
use utoipa::ToSchema;

use crate::model::rfc3339;
use crate::store::{Store, StoreError, TrashEntry, TrashState};

/// A replaced original and where it stands.
#[derive(Serialize, ToSchema)]
pub struct TrashView {
    pub job_id: u64,
    pub original_path: String,
    pub trash_path: String,
    /// Where the output is now.
    pub output_path: String,
    pub state: TrashState,
    pub created_at: String,
    pub updated_at: String,
    /// Size of the original held in the trash; null once it is no longer there.
    pub size_bytes: Option<u64>,
    /// When the original is purged for good (RFC 3339); null unless it is in the trash.
    pub purge_at: Option<String>,
    /// The restore also removed the encoded output.
    pub output_removed: bool,
}

impl TrashView {
    /// `e` as shown, with its size on disk and its purge date (`trash_days` after it moved).
    /// Reads the file's metadata: call from blocking code.
    fn new(e: TrashEntry, trash_days: u32) -> TrashView {
        let trashed = e.state == TrashState::Trashed;
        let output = if trashed {
            &e.final_path
        } else {
            &e.output_path
        };
        let size_bytes = trashed
            .then(|| std::fs::metadata(&e.trash_path).ok())
            .flatten()
            .map(|m| m.len());
        let purge_at = trashed.then(|| rfc3339(e.updated_at + i64::from(trash_days) * 86_400_000));
        TrashView {
            job_id: e.job_id,
            original_path: lossy(&e.original_path),
            trash_path: lossy(&e.trash_path),
            output_path: lossy(output),
            state: e.state,
            created_at: rfc3339(e.created_at),
            updated_at: rfc3339(e.updated_at),
            size_bytes,
            purge_at,
            output_removed: e.output_removed,
        }
    }
}

fn lossy(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Why a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("Job {0} has no replaced original.")]
    NotFound(u64),
    /// The entry exists but cannot be restored (restored or purged already, or in motion).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every replaced original and where it stands, newest first when `newest_first`.
pub async fn views(
    store: &Store,
    trash_days: u32,
    newest_first: bool,
) -> Result<Vec<TrashView>, StoreError> {
    let mut views = store
        .call(move |s| {
            Ok(s.trash_list()?
                .into_iter()
                .map(|e| TrashView::new(e, trash_days))
                .collect::<Vec<_>>())
        })
        .await?;
    if newest_first {
        views.reverse();
    }
    Ok(views)
}

/// The trash entry of one job, if its original was ever replaced.
pub async fn view_of(
    store: &Store,
    trash_days: u32,
    job_id: u64,
) -> Result<Option<TrashView>, StoreError> {
    store
        .call(move |s| Ok(s.trash_get(job_id)?.map(|e| TrashView::new(e, trash_days))))
        .await
}

/// Restore job `job_id`'s original (see [`super::restore`]) and show the entry as it is now.
pub async fn restore_view(
    store: &Store,
    trash_days: u32,
    job_id: u64,
    remove_output: bool,
) -> Result<TrashView, RestoreError> {
    match super::restore(store, job_id, remove_output).await? {
        None => Err(RestoreError::NotFound(job_id)),
        Some(Err(why)) => Err(RestoreError::Refused(why)),
        Some(Ok(entry)) => store
            .call(move |_| Ok(TrashView::new(entry, trash_days)))
            .await
            .map_err(RestoreError::Store),
    }
}
