//! Jobs: records plus their index tables (status, dispatch queue, recency, path), all written in
//! the same transaction by `put_job`. Every state change goes through `JobState::transition`.

use std::path::{Path, PathBuf};

use redb::{ReadableTable, WriteTransaction};

use super::codec::{decode, encode};
use super::index::{Cursor, JobQuery};
use super::listing::JobRow;
use super::records::{Attempt, EncodeResult, Job};
use super::tables::*;
use super::{Result, Store, StoreError};
use crate::model::{JobEvent, JobId, JobState, now_ms};
use std::os::unix::ffi::OsStrExt;

/// Number of non-archived jobs per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts(pub [u64; 8]);

impl StatusCounts {
    pub fn get(&self, s: JobState) -> u64 {
        self.0[s.code() as usize]
    }
    pub fn active(&self) -> u64 {
        JobState::ALL
            .into_iter()
            .filter(|s| s.is_active())
            .map(|s| self.get(s))
            .sum()
    }
}

fn in_queue(job: &Job) -> bool {
    job.status == JobState::Queued && !job.archived
}

fn queue_key(job: &Job) -> (i64, i64, u64) {
    (-(job.priority as i64), job.created_at, job.id.0)
}

/// Store a job and keep every index table in step with it.
pub(super) fn put_job(txn: &WriteTransaction, old: Option<&Job>, new: &Job) -> Result<()> {
    let id = new.id.0;
    let mut by_status = txn.open_table(JOBS_BY_STATUS)?;
    let mut queue = txn.open_table(JOBS_QUEUE)?;
    let mut by_updated = txn.open_table(JOBS_BY_UPDATED)?;
    let mut by_path = txn.open_table(JOBS_BY_PATH)?;
    let mut retries = txn.open_table(RETRY_SCHEDULE)?;
    if let Some(old) = old {
        if let Some(at) = old.retry_due_at() {
            retries.remove((at, id))?;
        }
        by_status.remove((old.status.code(), id))?;
        if in_queue(old) {
            queue.remove(queue_key(old))?;
        }
        by_updated.remove((old.updated_at, id))?;
        if old.input_path != new.input_path {
            by_path.remove(old.input_path.as_os_str().as_bytes())?;
        }
    }
    by_status.insert((new.status.code(), id), ())?;
    if in_queue(new) {
        queue.insert(queue_key(new), ())?;
    }
    by_updated.insert((new.updated_at, id), ())?;
    if let Some(at) = new.retry_due_at() {
        retries.insert((at, id), ())?;
    }
    by_path.insert(new.input_path.as_os_str().as_bytes(), id)?;
    txn.open_table(JOBS)?.insert(id, encode(new).as_slice())?;
    Ok(())
}

pub(super) fn load(txn: &WriteTransaction, id: JobId) -> Result<Job> {
    let jobs = txn.open_table(JOBS)?;
    let v = jobs.get(id.0)?.ok_or(StoreError::NotFound)?;
    decode(v.value())
}

/// Apply one state-machine event to a loaded job (in place); returns the previous state.
pub(super) fn apply(job: &mut Job, event: JobEvent) -> Result<JobState> {
    let previous = job.status;
    job.status = previous
        .transition(event)
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
    job.updated_at = now_ms().max(job.updated_at);
    Ok(previous)
}

/// How a run ended, for [`Store::finish_run`]: the state-machine event, the field changes
/// that go with it, and a completed encode's result.
pub struct RunEnd {
    event: JobEvent,
    edit: Box<dyn FnOnce(&mut Job) + Send>,
    result: Option<EncodeResult>,
}

impl RunEnd {
    pub fn new(event: JobEvent, edit: impl FnOnce(&mut Job) + Send + 'static) -> RunEnd {
        RunEnd {
            event,
            edit: Box::new(edit),
            result: None,
        }
    }

    pub fn with_result(mut self, result: EncodeResult) -> RunEnd {
        self.result = Some(result);
        self
    }
}

impl Store {
    pub fn get_job(&self, id: JobId) -> Result<Job> {
        let read = self.read()?;
        let jobs = read.open_table(JOBS)?;
        let v = jobs.get(id.0)?.ok_or(StoreError::NotFound)?;
        decode(v.value())
    }

    pub fn job_id_by_path(&self, path: &Path) -> Result<Option<JobId>> {
        let read = self.read()?;
        let t = read.open_table(JOBS_BY_PATH)?;
        Ok(t.get(path.as_os_str().as_bytes())?
            .map(|v| JobId(v.value())))
    }

    /// One page of the job list, the number of matches, and the cursor of the next page (when
    /// the page is full).
    pub fn list_jobs(&self, q: &JobQuery) -> Result<(Vec<Job>, usize, Option<Cursor>)> {
        let page = self.inner.index.with(|index| index.query(q))?;
        let read = self.read()?;
        let jobs = read.open_table(JOBS)?;
        let mut out = Vec::with_capacity(page.ids.len());
        for id in page.ids {
            if let Some(v) = jobs.get(id.0)? {
                out.push(decode(v.value())?);
            }
        }
        Ok((out, page.total, page.next))
    }

    /// One page of the job list, each job handed to `each` as a [`JobRow`] that borrows from
    /// its record (nothing of the record is copied but what `each` keeps); the number of
    /// matches and the cursor of the next page (when the page is full).
    pub fn list_job_rows(
        &self,
        q: &JobQuery,
        mut each: impl FnMut(JobRow<'_>) -> Result<()>,
    ) -> Result<(usize, Option<Cursor>)> {
        let page = self.inner.index.with(|index| index.query(q))?;
        let read = self.read()?;
        let jobs = read.open_table(JOBS)?;
        for id in page.ids {
            if let Some(v) = jobs.get(id.0)? {
                each(JobRow::decode(v.value())?)?;
            }
        }
        Ok((page.total, page.next))
    }

    /// Jobs per state, not counting archived ones (zero everywhere if the index could not be
    /// built).
    pub fn status_counts(&self) -> StatusCounts {
        StatusCounts(self.inner.index.with(|i| i.counts()).unwrap_or_default())
    }

    pub fn job_count(&self) -> usize {
        self.inner.index.with(|i| i.len()).unwrap_or_default()
    }

    pub fn queue_position(&self, id: JobId) -> Option<u64> {
        if self.queue_order() != super::QueueOrder::OldestFirst {
            return self.queue_position_in_order(id);
        }
        self.inner
            .index
            .with(|i| i.queue_position(id))
            .ok()
            .flatten()
    }

    /// Ids of jobs in the given states (from the status index).
    pub fn job_ids_in(&self, states: &[JobState]) -> Result<Vec<JobId>> {
        let read = self.read()?;
        let t = read.open_table(JOBS_BY_STATUS)?;
        let mut out = Vec::new();
        for s in states {
            for e in t.range((s.code(), 0)..=(s.code(), u64::MAX))? {
                out.push(JobId(e?.0.value().1));
            }
        }
        Ok(out)
    }

    /// Up to `limit` queued, non-archived jobs with ids from `from` on, in id order, as
    /// (id, input path): lets a caller walk a large queue in bounded chunks.
    pub fn queued_from(&self, from: JobId, limit: usize) -> Result<Vec<(JobId, PathBuf)>> {
        let read = self.read()?;
        let by_status = read.open_table(JOBS_BY_STATUS)?;
        let jobs = read.open_table(JOBS)?;
        let queued = JobState::Queued.code();
        let mut out = Vec::with_capacity(limit.min(1024));
        for e in by_status.range((queued, from.0)..=(queued, u64::MAX))? {
            if out.len() >= limit {
                break;
            }
            let id = e?.0.value().1;
            if let Some(v) = jobs.get(id)? {
                let job: Job = decode(v.value())?;
                if !job.archived {
                    out.push((job.id, job.input_path));
                }
            }
        }
        Ok(out)
    }

    /// Take the next job in dispatch order (priority desc, then the queue order: see `queue`)
    /// and mark it analyzing.
    pub fn claim_next(&self) -> Result<Option<Job>> {
        self.write_jobs(|txn, changed| {
            let Some(id) = self.next_queued(txn)? else {
                return Ok(None);
            };
            let old = load(txn, id)?;
            let mut job = old.clone();
            apply(&mut job, JobEvent::Claim)?;
            job.attempt_count += 1;
            job.progress = 0.0;
            job.failure = None;
            put_job(txn, Some(&old), &job)?;
            changed.push(job.clone());
            Ok(Some(job))
        })
    }

    /// Apply a state-machine event (plus any field changes) to one job.
    /// Returns the updated job and its previous state.
    pub fn transition_job(
        &self,
        id: JobId,
        event: JobEvent,
        edit: impl FnOnce(&mut Job),
    ) -> Result<(Job, JobState)> {
        self.write_jobs(|txn, changed| {
            let old = load(txn, id)?;
            let mut job = old.clone();
            let previous = apply(&mut job, event)?;
            edit(&mut job);
            put_job(txn, Some(&old), &job)?;
            changed.push(job.clone());
            Ok((job, previous))
        })
    }

    /// Record the end of a run in one transaction: its attempt, the job's end state and
    /// fields (`end`), and for a completed encode its result with the day's bucket and the
    /// totals, for a failure the day's failure count.
    pub fn finish_run(&self, id: JobId, attempt: &Attempt, end: RunEnd) -> Result<(Job, JobState)> {
        self.write_jobs(|txn, changed| {
            txn.open_table(ATTEMPTS)?
                .insert((id.0, attempt.number), encode(attempt).as_slice())?;
            let old = load(txn, id)?;
            let mut job = old.clone();
            let previous = apply(&mut job, end.event)?;
            if end.event == JobEvent::Complete {
                job.progress = 100.0;
            }
            (end.edit)(&mut job);
            put_job(txn, Some(&old), &job)?;
            if let Some(result) = &end.result {
                Store::record_result(txn, result)?;
            }
            if end.event == JobEvent::Fail {
                Store::count_failure(txn)?;
            }
            changed.push(job.clone());
            Ok((job, previous))
        })
    }

    /// Change fields that are not the state (priority, metadata, decision...).
    pub fn update_job(&self, id: JobId, edit: impl FnOnce(&mut Job) -> Result<()>) -> Result<Job> {
        self.write_jobs(|txn, changed| {
            let old = load(txn, id)?;
            let mut job = old.clone();
            edit(&mut job)?;
            if job.status != old.status {
                return Err(StoreError::Invalid(
                    "state changes go through transition_job".into(),
                ));
            }
            job.updated_at = now_ms().max(old.updated_at);
            put_job(txn, Some(&old), &job)?;
            changed.push(job.clone());
            Ok(job)
        })
    }

    /// Insert jobs in bulk (benchmarks and tests of large stores). Paths must be new.
    pub fn insert_jobs_bulk(&self, jobs: Vec<Job>) -> Result<()> {
        self.write_jobs(|txn, changed| {
            for mut job in jobs {
                job.id = JobId(Store::next_id(txn, "next_job_id")?);
                put_job(txn, None, &job)?;
                changed.push(job);
            }
            Ok(())
        })
    }
}
