//! Jobs as the API and the pages show them: a [`JobView`] per job (live progress from its slot
//! while it runs) and [`JobDetails`] for one job's page.

use serde::Serialize;
use utoipa::ToSchema;

use super::Jobs;
use crate::media::MediaInfo;
use crate::model::{Explanation, JobId, JobState, rfc3339};
use crate::store::{Attempt, Cursor, EncodeStats, Job, JobQuery, LogLine, StoreError};

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
