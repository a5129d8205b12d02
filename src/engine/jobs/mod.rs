//! The jobs service: what the owner does to jobs (cancel, restart, priority, batch actions,
//! enqueue) and how they are shown (`views`). Queued jobs change in the store directly, through
//! the ledger; active ones are signalled through their slot and their run records the end
//! state. The `queued` events these changes publish are what the dispatcher and the analyser
//! wake on.

mod resolve;
mod views;

use std::path::PathBuf;

pub use views::{JobDetails, JobView};

use super::EngineError;
use super::dispatch::Slots;
use super::job::open_no_symlinks;
use super::ledger::Ledger;
use crate::media::paths;
use crate::model::{JobEvent, JobId, JobState, LogLevel};
use crate::store::{Job, ScanOutcome, ScannedFile, StoreError};

/// Handle to the jobs service. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Jobs {
    ledger: Ledger,
    slots: Slots,
}

/// Bulk actions of `POST /api/jobs/batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchAction {
    Restart,
    Cancel,
    Delete,
}

/// Why a path cannot be enqueued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("the path does not exist or cannot be read")]
    NotFound,
    #[error("the path is not a regular file")]
    NotAFile,
    #[error("the file is not a video file this server handles (by extension)")]
    Unsupported,
    #[error("the path is outside every library folder")]
    Forbidden,
    #[error("the file is an output or temp file of this server")]
    OwnFile,
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn not_found(id: JobId) -> impl Fn(StoreError) -> EngineError {
    move |e| match e {
        StoreError::NotFound => EngineError::JobNotFound(id),
        other => EngineError::Store(other),
    }
}

impl Jobs {
    pub fn new(ledger: Ledger, slots: Slots) -> Jobs {
        Jobs { ledger, slots }
    }

    /// Load a job; `JobNotFound` when there is none.
    async fn job(&self, id: JobId) -> Result<Job, EngineError> {
        self.ledger
            .store()
            .call(move |s| s.get_job(id))
            .await
            .map_err(not_found(id))
    }

    /// Cancel a job: queued → cancelled now; active → stop ffmpeg, the worker cleans up.
    /// Terminal jobs are left as they are, except that a failed job's scheduled retry is
    /// dropped.
    pub async fn cancel(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.job(id).await?;
        if job.status.is_active() {
            // The run is identified by its attempt, so a cancel meant for it cannot hit an
            // earlier run still letting go, and one that beats its admission is kept for it.
            let pid = self.slots.cancel(id, job.attempt_count);
            if let Some(pid) = pid {
                // A paused ffmpeg must run again to notice; SIGKILL works regardless.
                let _ = crate::process::resume(pid);
            }
            return Ok(());
        }
        if job.retry_at.is_some() {
            self.clear_retry(id).await.map_err(not_found(id))?;
            return Ok(());
        }
        if job.status != JobState::Queued {
            return Ok(());
        }
        let cancelled = self
            .ledger
            .apply(move |s| s.transition_job(id, JobEvent::Cancel, |_| {}))
            .await;
        match cancelled {
            Ok(_) => {
                // Segments left by an interrupted run of it will not be resumed now.
                crate::engine::job::discard_segments(self.ledger.store(), id).await;
                Ok(())
            }
            // Claimed in between: cancel the now-active job.
            Err(StoreError::Conflict(_)) => Box::pin(self.cancel(id)).await,
            Err(e) => Err(not_found(id)(e)),
        }
    }

    /// Put a terminal job back in the queue.
    pub async fn restart(&self, id: JobId) -> Result<(), EngineError> {
        let job = self.job(id).await?;
        if job.status.is_active() {
            return Err(EngineError::JobActive {
                id,
                status: job.status,
            });
        }
        if job.status == JobState::Queued {
            return Ok(());
        }
        self.ledger
            .apply(move |s| s.transition_job(id, JobEvent::Restart, reset_for_restart))
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => EngineError::JobActive {
                    id,
                    status: job.status,
                },
                other => not_found(id)(other),
            })?;
        Ok(())
    }

    pub async fn set_priority(&self, id: JobId, priority: i32) -> Result<(), EngineError> {
        self.ledger
            .store()
            .call(move |s| {
                s.update_job(id, |j| {
                    j.priority = priority;
                    Ok(())
                })
            })
            .await
            .map_err(not_found(id))?;
        Ok(())
    }

    /// Batch action. Restart and delete are all-or-nothing: any active (or unknown) job blocks
    /// the whole batch. Cancel applies to each job that can be cancelled.
    pub async fn batch(&self, action: BatchAction, ids: Vec<JobId>) -> Result<usize, EngineError> {
        match action {
            BatchAction::Cancel => {
                let mut count = 0;
                for id in ids {
                    let status = match self.ledger.store().call(move |s| s.get_job(id)).await {
                        Ok(j) => j.status,
                        Err(StoreError::NotFound) => continue,
                        Err(e) => return Err(e.into()),
                    };
                    if status == JobState::Queued || status.is_active() {
                        self.cancel(id).await?;
                        count += 1;
                    } else if status == JobState::Failed {
                        // Drops a scheduled retry, if any; not counted, nothing was running.
                        self.cancel(id).await?;
                    }
                }
                Ok(count)
            }
            BatchAction::Restart => {
                // Queued jobs are already where a restart would put them: leave them be.
                let mut todo = Vec::new();
                let mut blocked = Vec::new();
                for &id in &ids {
                    match self.ledger.store().call(move |s| s.get_job(id)).await {
                        Ok(j) if j.status == JobState::Queued => {}
                        Ok(j) if j.status.is_active() => blocked.push((id, Some(j.status))),
                        Ok(_) => todo.push(id),
                        Err(StoreError::NotFound) => blocked.push((id, None)),
                        Err(e) => return Err(e.into()),
                    }
                }
                if !blocked.is_empty() {
                    return Err(EngineError::Blocked(blocked));
                }
                let changed = self
                    .ledger
                    .apply(move |s| s.transition_all(&todo, JobEvent::Restart, reset_for_restart))
                    .await?
                    .map_err(EngineError::Blocked)?;
                Ok(changed.len())
            }
            BatchAction::Delete => self
                .ledger
                .store()
                .call(move |s| s.archive(&ids))
                .await?
                .map_err(EngineError::Blocked),
        }
    }

    /// Failed and cancelled jobs back to the queue.
    pub async fn restart_failed(&self) -> Result<usize, EngineError> {
        let changed = self
            .ledger
            .apply(|s| {
                s.transition_where(
                    &[JobState::Failed, JobState::Cancelled],
                    JobEvent::Restart,
                    reset_for_restart,
                )
            })
            .await?;
        Ok(changed.len())
    }

    /// Archive completed jobs (statistics keep them).
    pub async fn clear_completed(&self) -> Result<usize, EngineError> {
        Ok(self.ledger.store().call(|s| s.archive_completed()).await?)
    }

    /// Archive completed jobs; returns their ids, for an undo.
    pub async fn clear_completed_ids(&self) -> Result<Vec<JobId>, EngineError> {
        Ok(self
            .ledger
            .store()
            .call(|s| s.archive_completed_ids())
            .await?)
    }

    /// Bring archived jobs back into the list (undo of a clear or a delete).
    pub async fn unarchive(&self, ids: Vec<JobId>) -> Result<usize, EngineError> {
        Ok(self.ledger.store().call(move |s| s.unarchive(&ids)).await?)
    }

    /// Queue one file, which must lie inside a library folder.
    pub async fn enqueue(&self, path: PathBuf) -> Result<(JobId, bool), EnqueueError> {
        let folders = self
            .ledger
            .store()
            .call(|s| s.folders())
            .await
            .map_err(EngineError::from)?;
        let own = self
            .ledger
            .store()
            .call(crate::profiles::own_outputs)
            .await
            .map_err(EngineError::from)?;
        let scanned = tokio::task::spawn_blocking(move || -> Result<ScannedFile, EnqueueError> {
            // Where the path leads decides, existing or not: whatever leads outside the
            // library is 403, so the answer never tells whether a file exists there.
            let resolved = resolve::resolve(&path).ok_or(EnqueueError::Forbidden)?;
            let folder = folders
                .iter()
                .find(|f| resolved.starts_with(&f.path))
                .ok_or(EnqueueError::Forbidden)?;
            // Opened below the folder without following links, so what is recorded is what
            // the resolution found, not something swapped in since.
            let file = open_no_symlinks(&resolved, Some(&folder.path))
                .map_err(|_| EnqueueError::NotFound)?;
            let meta = file.metadata().map_err(|_| EnqueueError::NotFound)?;
            if !meta.is_file() {
                return Err(EnqueueError::NotAFile);
            }
            if own.is_own(&resolved) {
                return Err(EnqueueError::OwnFile);
            }
            if !paths::is_video_file(&resolved) {
                return Err(EnqueueError::Unsupported);
            }
            Ok(super::scanner::scanned_file(
                resolved,
                &meta,
                Some(folder.id),
            ))
        })
        .await
        .map_err(|e| EngineError::Invalid(e.to_string()))??;
        let path = scanned.path.clone();
        let outcome = self
            .ledger
            .apply(move |s| s.upsert_scanned(&[scanned]))
            .await
            .map_err(EngineError::from)?;
        let (id, queued) = match outcome.first() {
            Some(ScanOutcome::Queued(id)) | Some(ScanOutcome::Requeued(id)) => (*id, true),
            _ => {
                let id = self
                    .ledger
                    .store()
                    .call(move |s| s.job_id_by_path(&path))
                    .await
                    .map_err(EngineError::from)?
                    .ok_or(EnqueueError::NotFound)?;
                (id, false)
            }
        };
        Ok((id, queued))
    }
}

impl Jobs {
    /// Drop a failed job's scheduled retry (a user cancelled it). `true` when one was set.
    async fn clear_retry(&self, id: JobId) -> Result<bool, StoreError> {
        let cleared = self
            .ledger
            .store()
            .call(move |s| {
                let mut had = false;
                s.update_job(id, |j| {
                    had = j.retry_at.take().is_some();
                    Ok(())
                })?;
                Ok(had)
            })
            .await?;
        if cleared {
            self.ledger
                .log(id, LogLevel::Info, "automatic retry cancelled")
                .await;
        }
        Ok(cleared)
    }
}

/// Field resets when a job runs again. A user's restart also starts a new series of
/// automatic retries (the retrier counts its own retry after calling this).
pub(crate) fn reset_for_restart(job: &mut Job) {
    job.progress = 0.0;
    job.failure = None;
    job.clear_temp();
    job.retry_at = None;
    job.auto_retries = 0;
}
