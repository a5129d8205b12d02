//! Operations over many jobs at once, each in one transaction: all-or-nothing transitions
//! (batch restart), transitions by state (restart-failed, recovery) and archiving.

use super::jobs::{apply, load, put_job};
use super::records::Job;
use super::{Result, Store, StoreError};
use crate::model::{JobEvent, JobId, JobState, now_ms};

/// Jobs that cannot take a batch action: id and state (`None` when the job does not exist).
pub type Blocked = Vec<(JobId, Option<JobState>)>;

impl Store {
    /// Apply `event` to every listed job, or to none: if any job cannot take the event (or is
    /// missing) nothing is written and the offenders are returned.
    pub fn transition_all(
        &self,
        ids: &[JobId],
        event: JobEvent,
        edit: impl Fn(&mut Job),
    ) -> Result<std::result::Result<Vec<(Job, JobState)>, Blocked>> {
        self.write_jobs(|txn, changed| {
            let mut loaded = Vec::with_capacity(ids.len());
            let mut blocked = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for &id in ids {
                if !seen.insert(id) {
                    continue;
                }
                match load(txn, id) {
                    Ok(job) => {
                        if job.status.transition(event).is_err() {
                            blocked.push((id, Some(job.status)));
                        } else {
                            loaded.push(job);
                        }
                    }
                    Err(StoreError::NotFound) => blocked.push((id, None)),
                    Err(e) => return Err(e),
                }
            }
            if !blocked.is_empty() {
                return Ok(Err(blocked));
            }
            let mut out = Vec::with_capacity(loaded.len());
            for old in loaded {
                let mut job = old.clone();
                let previous = apply(&mut job, event)?;
                edit(&mut job);
                put_job(txn, Some(&old), &job)?;
                changed.push(job.clone());
                out.push((job, previous));
            }
            Ok(Ok(out))
        })
    }

    /// Apply `event` to every non-archived job in `states`; returns the changed jobs.
    pub fn transition_where(
        &self,
        states: &[JobState],
        event: JobEvent,
        edit: impl Fn(&mut Job),
    ) -> Result<Vec<(Job, JobState)>> {
        let ids = self.job_ids_in(states)?;
        self.write_jobs(|txn, changed| {
            let mut out = Vec::new();
            for id in ids {
                let old = load(txn, id)?;
                if old.archived || !states.contains(&old.status) {
                    continue;
                }
                let mut job = old.clone();
                let previous = apply(&mut job, event)?;
                edit(&mut job);
                put_job(txn, Some(&old), &job)?;
                changed.push(job.clone());
                out.push((job, previous));
            }
            Ok(out)
        })
    }

    /// Archive jobs (hide them from the default list). Active jobs are refused as a whole.
    pub fn archive(&self, ids: &[JobId]) -> Result<std::result::Result<usize, Blocked>> {
        self.write_jobs(|txn, changed| {
            let mut loaded = Vec::new();
            let mut blocked = Vec::new();
            for &id in ids {
                match load(txn, id) {
                    Ok(job) if job.status.is_active() => blocked.push((id, Some(job.status))),
                    Ok(job) => loaded.push(job),
                    Err(StoreError::NotFound) => blocked.push((id, None)),
                    Err(e) => return Err(e),
                }
            }
            if !blocked.is_empty() {
                return Ok(Err(blocked));
            }
            let mut count = 0;
            for old in loaded {
                if old.archived {
                    continue;
                }
                let mut job = old.clone();
                job.archived = true;
                // An archived job is out of sight: it is not retried behind the user's back.
                job.retry_at = None;
                job.updated_at = now_ms().max(old.updated_at);
                put_job(txn, Some(&old), &job)?;
                changed.push(job);
                count += 1;
            }
            Ok(Ok(count))
        })
    }

    /// Archive every non-archived completed job.
    pub fn archive_completed(&self) -> Result<usize> {
        Ok(self.archive_completed_ids()?.len())
    }

    /// Archive every non-archived completed job; returns their ids (what an undo brings back).
    pub fn archive_completed_ids(&self) -> Result<Vec<JobId>> {
        let ids = self.job_ids_in(&[JobState::Completed])?;
        self.write_jobs(|txn, changed| {
            let mut out = Vec::new();
            for id in ids {
                let old = load(txn, id)?;
                if old.archived || old.status != JobState::Completed {
                    continue;
                }
                let mut job = old.clone();
                job.archived = true;
                job.updated_at = now_ms().max(old.updated_at);
                put_job(txn, Some(&old), &job)?;
                changed.push(job);
                out.push(id);
            }
            Ok(out)
        })
    }

    /// Bring archived jobs back into the list (the undo of an archive); unknown ids and jobs
    /// that are not archived are left alone. Returns how many came back.
    pub fn unarchive(&self, ids: &[JobId]) -> Result<usize> {
        self.write_jobs(|txn, changed| {
            let mut count = 0;
            for &id in ids {
                let old = match load(txn, id) {
                    Ok(job) => job,
                    Err(StoreError::NotFound) => continue,
                    Err(e) => return Err(e),
                };
                if !old.archived {
                    continue;
                }
                let mut job = old.clone();
                job.archived = false;
                super::watched::owner_saw(&mut job);
                job.updated_at = now_ms().max(old.updated_at);
                put_job(txn, Some(&old), &job)?;
                changed.push(job);
                count += 1;
            }
            Ok(count)
        })
    }
}
