//! What a scan found, into the store: new paths become queued jobs, a changed file is queued
//! again, all in one transaction per batch.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use redb::ReadableTable;

use super::jobs::{apply, load, put_job};
use super::records::Job;
use super::tables::*;
use super::{Result, Store};
use crate::model::{JobEvent, JobId, JobState, now_ms};

/// A media file found by a scan.
#[derive(Debug, Clone)]
pub struct ScannedFile {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
    /// The device holding the file (with the inode, its identity).
    pub dev: u64,
    pub folder_id: Option<u64>,
}

/// What a scan did with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanOutcome {
    Queued(JobId),
    /// The file changed since its job ran: queued again.
    Requeued(JobId),
    Unchanged,
}

/// Record the version of the file a scan saw.
fn set_identity(job: &mut Job, f: &ScannedFile) {
    job.input_size = f.size;
    job.input_mtime_ns = f.mtime_ns;
    job.input_inode = f.inode;
    job.input_dev = f.dev;
}

impl Store {
    /// Record scanned files: new paths become queued jobs; a known path whose size, mtime or
    /// inode changed, or whose job was retired when the file went missing, is queued again
    /// unless a worker holds it. One transaction for the batch.
    pub fn upsert_scanned(&self, files: &[ScannedFile]) -> Result<Vec<ScanOutcome>> {
        self.write_jobs(|txn, changed| {
            let mut out = Vec::with_capacity(files.len());
            let now = now_ms();
            for f in files {
                let existing = txn
                    .open_table(JOBS_BY_PATH)?
                    .get(f.path.as_os_str().as_bytes())?
                    .map(|v| v.value());
                match existing {
                    Some(id) => {
                        let old = load(txn, JobId(id))?;
                        let same = old.input_size == f.size
                            && old.input_mtime_ns == f.mtime_ns
                            && old.input_inode == f.inode
                            && old.input_dev == f.dev
                            && !super::watched::retired(&old);
                        if !same && old.status == JobState::Queued {
                            // Still waiting: its run must find the file as it is now.
                            let mut job = old.clone();
                            set_identity(&mut job, f);
                            put_job(txn, Some(&old), &job)?;
                            changed.push(job);
                        }
                        if same || old.status.is_active() || old.status == JobState::Queued {
                            out.push(ScanOutcome::Unchanged);
                            continue;
                        }
                        let mut job = old.clone();
                        apply(&mut job, JobEvent::Restart)?;
                        job.archived = false;
                        job.progress = 0.0;
                        job.attempt_count = 0;
                        job.retry_at = None;
                        job.auto_retries = 0;
                        set_identity(&mut job, f);
                        job.decision = None;
                        job.decision_action = None;
                        job.failure = None;
                        job.encode_stats = None;
                        job.output_size = None;
                        put_job(txn, Some(&old), &job)?;
                        out.push(ScanOutcome::Requeued(job.id));
                        changed.push(job);
                    }
                    None => {
                        let id = JobId(Store::next_id(txn, "next_job_id")?);
                        let mut job = Job {
                            folder_id: f.folder_id,
                            ..Job::queued(id, f.path.clone(), now)
                        };
                        set_identity(&mut job, f);
                        put_job(txn, None, &job)?;
                        out.push(ScanOutcome::Queued(id));
                        changed.push(job);
                    }
                }
            }
            Ok(out)
        })
    }
}
