//! The retry schedule: failed jobs waiting for an automatic retry, ordered by due time in
//! `RETRY_SCHEDULE` (kept by `put_job` in the same transaction as the job). The engine asks
//! for the earliest due time and re-queues what is due; the policy itself (which failures,
//! how often, how long to wait) lives in `engine::retry`.

use redb::{ReadableTable, TableError};

use super::jobs::{apply, load, put_job};
use super::records::Job;
use super::tables::RETRY_SCHEDULE;
use super::{Result, Store};
use crate::model::{JobEvent, JobId, JobState};

impl Store {
    /// Due time (ms) of the earliest scheduled retry.
    pub fn next_retry_at(&self) -> Result<Option<i64>> {
        let read = self.read()?;
        let t = match read.open_table(RETRY_SCHEDULE) {
            Ok(t) => t,
            // No job has been written since the table was introduced: nothing is scheduled.
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(t.first()?.map(|(k, _)| k.value().0))
    }

    /// Re-queue up to `limit` failed jobs whose retry is due at `now`, in one transaction,
    /// through the state machine's `Retry` event. `edit` resets per-run fields as a restart
    /// does; the retry is counted and the schedule cleared here. Returns the changed jobs and
    /// their previous states.
    pub fn requeue_due_retries(
        &self,
        now: i64,
        limit: usize,
        edit: impl Fn(&mut Job),
    ) -> Result<Vec<(Job, JobState)>> {
        self.write_jobs(|txn, changed| {
            let due: Vec<(i64, u64)> = {
                let t = txn.open_table(RETRY_SCHEDULE)?;
                let mut keys = Vec::new();
                for e in t.range((i64::MIN, 0)..=(now, u64::MAX))?.take(limit) {
                    keys.push(e?.0.value());
                }
                keys
            };
            let mut out = Vec::with_capacity(due.len());
            for (at, id) in due {
                let old = load(txn, JobId(id))?;
                if old.retry_due_at().is_none() {
                    // Cannot happen while `put_job` keeps the index; never let one stale row
                    // block every later retry.
                    txn.open_table(RETRY_SCHEDULE)?.remove((at, id))?;
                    continue;
                }
                let mut job = old.clone();
                let previous = apply(&mut job, JobEvent::Retry)?;
                edit(&mut job);
                job.retry_at = None;
                // Counted from the stored value: `edit` may be a restart's reset, which
                // starts a new series.
                job.auto_retries = old.auto_retries.saturating_add(1);
                put_job(txn, Some(&old), &job)?;
                changed.push(job.clone());
                out.push((job, previous));
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::codec::{decode, encode};
    use super::super::{ScannedFile, Store};
    use crate::model::{JobEvent, JobId, JobState};
    use crate::store::Job;

    fn failed_job(store: &Store, path: &str, retry_at: Option<i64>) -> JobId {
        store
            .upsert_scanned(&[ScannedFile {
                path: PathBuf::from(path),
                size: 1,
                mtime_ns: 1,
                inode: 1,
                dev: 1,
                folder_id: None,
            }])
            .unwrap();
        let job = store.claim_next().unwrap().unwrap();
        store
            .transition_job(job.id, JobEvent::Fail, |j| j.retry_at = retry_at)
            .unwrap();
        job.id
    }

    #[test]
    fn records_from_before_retries_decode_with_nothing_scheduled() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = failed_job(&store, "/m/a.mkv", None);
        let mut json = serde_json::to_value(store.get_job(id).unwrap()).unwrap();
        let obj = json.as_object_mut().unwrap();
        obj.remove("retry_at").unwrap();
        obj.remove("auto_retries").unwrap();
        // The layout of an older release: version byte 1, JSON without the new fields.
        let mut old = vec![1u8];
        old.extend_from_slice(serde_json::to_string(&json).unwrap().as_bytes());
        let job: Job = decode(&old).unwrap();
        assert_eq!((job.retry_at, job.auto_retries), (None, 0));
        assert_eq!(job.status, JobState::Failed);
        assert_eq!(decode::<Job>(&encode(&job)).unwrap(), job);
    }

    #[test]
    fn schedule_follows_the_job_and_due_jobs_are_requeued() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.next_retry_at().unwrap(), None, "fresh store");
        let a = failed_job(&store, "/m/a.mkv", Some(2_000));
        let b = failed_job(&store, "/m/b.mkv", Some(1_000));
        let c = failed_job(&store, "/m/c.mkv", Some(3_000));
        let _never = failed_job(&store, "/m/d.mkv", None);
        assert_eq!(store.next_retry_at().unwrap(), Some(1_000));

        // A user restart, an archive or a cleared schedule take a job out of it.
        store
            .transition_job(b, JobEvent::Restart, |j| j.retry_at = None)
            .unwrap();
        assert_eq!(store.next_retry_at().unwrap(), Some(2_000));
        store.archive(&[c]).unwrap().unwrap();
        assert_eq!(store.get_job(c).unwrap().retry_at, None);
        assert_eq!(store.next_retry_at().unwrap(), Some(2_000));

        assert!(
            store
                .requeue_due_retries(1_999, 10, |_| {})
                .unwrap()
                .is_empty()
        );
        store
            .update_job(a, |j| {
                j.auto_retries = 2;
                Ok(())
            })
            .unwrap();
        // A reset like a user restart's must not lose the count.
        let due = store
            .requeue_due_retries(2_000, 10, |j| j.auto_retries = 0)
            .unwrap();
        assert_eq!(due.len(), 1);
        let (job, previous) = &due[0];
        assert_eq!(
            (job.id, job.status, *previous),
            (a, JobState::Queued, JobState::Failed)
        );
        assert_eq!((job.retry_at, job.auto_retries), (None, 3));
        assert_eq!(store.next_retry_at().unwrap(), None);
        assert!(
            store
                .requeue_due_retries(i64::MAX, 10, |_| {})
                .unwrap()
                .is_empty()
        );
    }
}
