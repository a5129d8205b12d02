//! Jobs as the API and the pages show them: a [`JobView`] per job (live progress from its slot
//! while it runs) and [`JobDetails`] for one job's page. The API's job list is written
//! straight from the stored records ([`JobPage`]): each job's [`JobRow`] borrows from its
//! record and is serialized in the shape of a [`JobView`], so a page does not decode whole
//! jobs (probe metadata and all) to show a few fields of each.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use super::Jobs;
use crate::engine::dispatch::Slots;
use crate::media::MediaInfo;
use crate::model::{Explanation, JobId, JobState, rfc3339};
use crate::store::{Attempt, Cursor, EncodeStats, Job, JobQuery, JobRow, LogLine, StoreError};

/// Log lines a job's details carry (the store keeps as many).
const DETAIL_LOG_LINES: usize = 500;

/// A job as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    pub id: JobId,
    pub input_path: String,
    pub output_path: Option<String>,
    pub status: JobState,
    pub priority: i32,
    /// 0-100
    pub progress: f64,
    pub attempt_count: u32,
    pub created_at: String,
    pub updated_at: String,
    pub archived: bool,
    pub input_size_bytes: u64,
    pub output_size_bytes: Option<u64>,
    /// Size of the source when it was last encoded (after a replacement `input_size_bytes`
    /// is the encoded file now at the path); null until an encode completed.
    pub source_size_bytes: Option<u64>,
    pub decision: Option<Explanation>,
    pub failure: Option<Explanation>,
    /// When a failed job will run again by itself (RFC 3339); null when no retry is
    /// scheduled. An extension of the compat job object.
    pub retry_at: Option<String>,
    /// Which run in a row that retry will be (2 for the first retry); null with `retry_at`.
    pub retry_attempt: Option<u32>,
}

/// Everything about one job.
#[derive(Serialize, ToSchema)]
pub struct JobDetails {
    pub job: JobView,
    pub metadata: Option<MediaInfo>,
    pub encode_stats: Option<EncodeStats>,
    pub attempts: Vec<Attempt>,
    /// Last 500 lines, oldest first.
    pub logs: Vec<LogLine>,
    pub queue_position: Option<u64>,
    /// The encoding profile the job's last run planned with (the most specific library
    /// folder's); null until a run has decided.
    pub profile: Option<String>,
}

/// One page of the job list as the API sends it.
pub struct JobPage {
    /// A JSON array of jobs, each exactly as its [`JobView`] would serialize.
    pub body: Vec<u8>,
    /// Jobs matching the query on every page.
    pub total: usize,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// A listed job in the shape (field names and order) of [`JobView`], borrowing its text.
#[derive(Serialize)]
struct ListedJob<'a> {
    id: JobId,
    input_path: Cow<'a, str>,
    output_path: Option<Cow<'a, str>>,
    status: JobState,
    priority: i32,
    progress: f64,
    attempt_count: u32,
    created_at: String,
    updated_at: String,
    archived: bool,
    input_size_bytes: u64,
    output_size_bytes: Option<u64>,
    source_size_bytes: Option<u64>,
    decision: Option<&'a RawValue>,
    failure: Option<&'a RawValue>,
    retry_at: Option<String>,
    retry_attempt: Option<u32>,
}

/// Bytes reserved per listed job: about what one takes with a decision explained.
const LISTED_JOB_BYTES: usize = 640;

/// Append `row` to a page's JSON array, as its [`JobView`] would serialize.
fn write_listed(body: &mut Vec<u8>, row: &JobRow, slots: &Slots) -> Result<(), StoreError> {
    let live = row
        .status
        .is_active()
        .then(|| slots.progress(row.id))
        .flatten();
    let retry_at = row.retry_due_at();
    let listed = ListedJob {
        id: row.id,
        input_path: row.input_path.text(),
        output_path: row.output_path.as_ref().map(|p| p.text()),
        status: row.status,
        priority: row.priority,
        progress: live.unwrap_or(row.progress),
        attempt_count: row.attempt_count,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
        archived: row.archived,
        input_size_bytes: row.input_size,
        output_size_bytes: row.output_size,
        source_size_bytes: row.encode_stats.as_ref().map(|s| s.input_size_bytes),
        decision: row.decision.as_deref(),
        failure: row.failure.as_deref(),
        retry_at: retry_at.map(rfc3339),
        retry_attempt: retry_at.map(|_| row.auto_retries + 2),
    };
    body.push(if body.is_empty() { b'[' } else { b',' });
    serde_json::to_writer(body, &listed).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// End a page's JSON array that [`write_listed`] began (or an empty one).
fn close_array(body: &mut Vec<u8>) {
    if body.is_empty() {
        body.push(b'[');
    }
    body.push(b']');
}

fn view(job: Job, live: Option<f64>) -> JobView {
    let retry_at = job.retry_due_at();
    JobView {
        id: job.id,
        input_path: job.input_path.to_string_lossy().into_owned(),
        output_path: job.output_path.map(|p| p.to_string_lossy().into_owned()),
        status: job.status,
        priority: job.priority,
        progress: live.unwrap_or(job.progress),
        attempt_count: job.attempt_count,
        created_at: rfc3339(job.created_at),
        updated_at: rfc3339(job.updated_at),
        archived: job.archived,
        input_size_bytes: job.input_size,
        output_size_bytes: job.output_size,
        source_size_bytes: job.encode_stats.as_ref().map(|s| s.input_size_bytes),
        retry_at: retry_at.map(rfc3339),
        retry_attempt: retry_at.map(|_| job.auto_retries + 2),
        decision: job.decision,
        failure: job.failure,
    }
}

impl Jobs {
    /// A job with live progress when it is running.
    pub fn view(&self, job: Job) -> JobView {
        let live = job
            .status
            .is_active()
            .then(|| self.slots.progress(job.id))
            .flatten();
        view(job, live)
    }

    /// One page of jobs, the number of matches, and the next page's cursor.
    pub async fn list(
        &self,
        query: JobQuery,
    ) -> Result<(Vec<JobView>, usize, Option<Cursor>), StoreError> {
        let (jobs, total, next) = self
            .ledger
            .store()
            .call(move |s| s.list_jobs(&query))
            .await?;
        Ok((
            jobs.into_iter().map(|j| self.view(j)).collect(),
            total,
            next,
        ))
    }

    /// One page of jobs as the API's JSON, with the number of matches and the next cursor.
    pub async fn list_json(&self, query: JobQuery) -> Result<JobPage, StoreError> {
        let slots = self.slots.clone();
        self.ledger
            .store()
            .call(move |s| {
                let mut body = Vec::with_capacity(query.limit.min(64) * LISTED_JOB_BYTES);
                let (total, next) =
                    s.list_job_rows(&query, |row| write_listed(&mut body, &row, &slots))?;
                close_array(&mut body);
                Ok(JobPage { body, total, next })
            })
            .await
    }

    /// Everything about one job (archived jobs too); `NotFound` when there is none.
    pub async fn details(&self, id: JobId) -> Result<JobDetails, StoreError> {
        let store = self.ledger.store();
        let (job, attempts, logs) = store
            .call(move |s| {
                Ok((
                    s.get_job(id)?,
                    s.attempts(id)?,
                    s.job_logs(id, DETAIL_LOG_LINES)?,
                ))
            })
            .await?;
        let metadata = job
            .metadata
            .clone()
            .and_then(|m| serde_json::from_value::<MediaInfo>(m).ok());
        let encode_stats = job.encode_stats.clone();
        let profile = job.profile.clone();
        let queue_position = store.queue_position(id);
        Ok(JobDetails {
            job: self.view(job),
            metadata,
            encode_stats,
            attempts,
            logs,
            queue_position,
            profile,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;

    use super::*;

    /// The list's JSON must be what the API sent before it was written straight from the
    /// records: each job exactly as its `JobView` serializes (names, order, values).
    #[test]
    fn a_listed_job_serializes_as_its_job_view() {
        let failed = Job {
            output_path: Some(PathBuf::from("/out/\"quoted\"\\ é.mkv")),
            decision: Some(Explanation::new("c", "summary \u{1f}", "d").with("bpp", 0.07)),
            failure: Some(Explanation::new("f", "It broke", "").with("exit", 1)),
            status: JobState::Failed,
            retry_at: Some(1_700_000_100),
            auto_retries: 1,
            attempt_count: 2,
            output_size: Some(12),
            progress: 42.5,
            ..Job::queued(JobId(7), PathBuf::from("/m/Show 1.mkv"), 1_700_000_000)
        };
        let completed = Job {
            status: JobState::Completed,
            output_size: Some(40),
            encode_stats: Some(crate::store::EncodeStats {
                input_size_bytes: 100,
                output_size_bytes: 40,
                compression_ratio: 0.6,
                encode_time_seconds: 2.5,
                encode_speed: 4.0,
                avg_bitrate_kbps: 900.0,
                encoder: "libx265".into(),
                backend: crate::model::Backend::Cpu,
                hardware_fallback: None,
            }),
            ..Job::queued(JobId(9), PathBuf::from("/m/done.mkv"), 5)
        };
        let mut odd = Job::queued(
            JobId(8),
            PathBuf::from(OsStr::from_bytes(b"/m/\xff.mkv")),
            1,
        );
        odd.archived = true;
        let slots = Slots::default();
        for jobs in [vec![], vec![failed.clone()], vec![failed, completed, odd]] {
            // Both ways a row is made: from the stored record's bytes (what the list reads)
            // and from a job in memory.
            let mut body = Vec::new();
            let mut from_memory = Vec::new();
            for job in &jobs {
                let stored = crate::store::codec::encode(job);
                write_listed(&mut body, &JobRow::decode(&stored).unwrap(), &slots).unwrap();
                write_listed(&mut from_memory, &JobRow::of(job).unwrap(), &slots).unwrap();
            }
            close_array(&mut from_memory);
            assert_eq!(from_memory, {
                let mut b = body.clone();
                close_array(&mut b);
                b
            });
            close_array(&mut body);
            let views: Vec<JobView> = jobs.into_iter().map(|j| view(j, None)).collect();
            assert_eq!(
                String::from_utf8(body).unwrap(),
                serde_json::to_string(&views).unwrap()
            );
        }
    }
}
