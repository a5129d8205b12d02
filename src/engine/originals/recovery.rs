//! Recovery at boot (undo what a crash interrupted) and the purge of expired trash.

use std::path::PathBuf;

use super::{ReplaceError, purge, undo};
use crate::engine::failure::Failure;
use crate::model::{JobEvent, JobId, LogLevel, now_ms};
use crate::store::{Store, StoreError, TrashState};

/// Purge trashed originals older than `trash_days` whose job is not running. Safe while the
/// engine runs (an in-flight replacement's job is active, so it is never purged).
pub fn purge_expired(store: &Store, trash_days: u32) -> Result<usize, ReplaceError> {
    let expiry = i64::from(trash_days) * 86_400_000;
    let mut purged = 0;
    for mut entry in store.trash_list()? {
        let running = store
            .get_job(JobId(entry.job_id))
            .is_ok_and(|j| j.status.is_active());
        if entry.state == TrashState::Trashed && !running && now_ms() - entry.updated_at >= expiry {
            purge(store, &mut entry)?;
            purged += 1;
        }
    }
    Ok(purged)
}

/// Boot recovery: undo every replacement whose job did not complete; purge expired entries.
/// Returns the paths restored.
pub fn recover(store: &Store, trash_days: u32) -> Result<Vec<PathBuf>, ReplaceError> {
    let mut restored = Vec::new();
    let expiry = i64::from(trash_days) * 86_400_000;
    for mut entry in store.trash_list()? {
        // Interrupted: the run that made this replacement was still active at the crash.
        let interrupted = store
            .get_job(JobId(entry.job_id))
            .is_ok_and(|j| j.status.is_active() && j.attempt_count == entry.attempt);
        let incomplete = match entry.state {
            TrashState::Moving | TrashState::Restoring => true,
            TrashState::Trashed => interrupted,
            TrashState::Restored | TrashState::Purged => false,
        };
        if incomplete {
            // One entry that cannot be undone (its folder gone, the original's name taken)
            // must not keep the box from starting: it stays as it is for the next boot, and
            // an interrupted job of it is stopped rather than run again over a replacement
            // half done.
            match undo(store, &mut entry) {
                Ok(()) => restored.push(entry.original_path.clone()),
                Err(ReplaceError::Store(e)) => return Err(e.into()),
                Err(why) => {
                    tracing::error!(job = entry.job_id, %why, "an interrupted replacement could not be undone");
                    if interrupted {
                        stop_job(store, JobId(entry.job_id), &why)?;
                    }
                }
            }
        } else if entry.state == TrashState::Trashed && now_ms() - entry.updated_at >= expiry {
            purge(store, &mut entry)?;
        }
    }
    Ok(restored)
}

/// Fail job `id`, interrupted during a replacement that could not be undone, for good (no
/// automatic retry): the owner finds why on its page.
fn stop_job(store: &Store, id: JobId, why: &ReplaceError) -> Result<(), StoreError> {
    let failure = Failure::Internal {
        summary: "The original could not be put back after a restart.",
        detail: format!(
            "The box stopped while replacing the original, and undoing that failed: {why}. The \
             job does not run again by itself; once the original is back where it was, try again."
        ),
    }
    .explain();
    store.transition_job(id, JobEvent::Fail, |j| {
        j.failure = Some(failure);
        j.clear_temp();
    })?;
    store.append_log(
        id,
        LogLevel::Error,
        "stopped: the replacement interrupted by a restart could not be undone",
    )?;
    Ok(())
}

/// Undo interrupted replacements and purge expired ones; runs at boot before jobs are
/// re-queued.
pub(crate) async fn recover_at_start(store: &Store, trash_days: u32) -> Result<(), StoreError> {
    let restored = store
        .call(move |s| {
            recover(s, trash_days).map_err(|e| match e {
                ReplaceError::Store(e) => e,
                other => StoreError::Task(other.to_string()),
            })
        })
        .await?;
    for path in restored {
        tracing::warn!(path = ?path, "undid a replacement interrupted by a crash");
    }
    Ok(())
}
