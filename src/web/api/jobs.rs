//! Jobs: list (filters, search, sort, pages, `X-Total-Count`), details, cancel, restart,
//! priority, batch actions, restart-failed, clear-completed and enqueue.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{CountBody, OkBody};
use crate::engine::BatchAction;
use crate::media::MediaInfo;
use crate::model::{Explanation, JobId, JobState, rfc3339};
use crate::store::{Attempt, EncodeStats, Job, JobQuery, LogLine, SortKey, StoreError};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, ApiPath, ApiQuery};

/// Largest page.
pub const MAX_LIMIT: usize = 200;

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
    pub decision: Option<Explanation>,
    pub failure: Option<Explanation>,
    /// When a failed job will run again by itself (RFC 3339); null when no retry is
    /// scheduled. An extension of the compat job object.
    pub retry_at: Option<String>,
    /// Which run in a row that retry will be (2 for the first retry); null with `retry_at`.
    pub retry_attempt: Option<u32>,
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
        retry_at: retry_at.map(rfc3339),
        retry_attempt: retry_at.map(|_| job.auto_retries + 2),
        decision: job.decision,
        failure: job.failure,
    }
}

/// A job with live progress from the engine when it is running.
pub fn job_view(state: &AppState, job: Job) -> JobView {
    let live = job
        .status
        .is_active()
        .then(|| state.engine.live_progress(job.id))
        .flatten();
    view(job, live)
}

/// Query of `GET /api/jobs`; everything is text here and validated in `parse`.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1..200, default 50
    pub limit: Option<String>,
    /// 1-based page, default 1
    pub page: Option<String>,
    /// Comma-separated job states
    pub status: Option<String>,
    /// Case-insensitive substring of the input path
    pub search: Option<String>,
    /// created_at | updated_at | input_path | size | priority
    pub sort_by: Option<String>,
    pub sort_desc: Option<String>,
    /// Archived jobs only (default false)
    pub archived: Option<String>,
}

fn parse_bool(name: &str, v: Option<&str>) -> Result<bool, ApiError> {
    match v.map(str::trim) {
        None | Some("") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(ApiError::bad_request(
            "INVALID_QUERY",
            format!("`{name}` must be true or false, not `{other}`"),
        )),
    }
}

fn parse_num(name: &str, v: Option<&str>, default: usize) -> Result<usize, ApiError> {
    match v.map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => text.parse::<usize>().map_err(|_| {
            ApiError::bad_request(
                "INVALID_QUERY",
                format!("`{name}` must be a positive integer"),
            )
        }),
    }
}

impl ListParams {
    /// The store query, or 400 for invalid input (the pages use the same rules).
    pub fn parse(&self) -> Result<JobQuery, ApiError> {
        let statuses = match self.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(list) => Some(
                list.split(',')
                    .map(|s| s.trim().parse::<JobState>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ApiError::bad_request("INVALID_JOB_STATUS_FILTER", e))?,
            ),
        };
        let sort = match self.sort_by.as_deref().map(str::trim) {
            None | Some("") => SortKey::default(),
            Some(s) => s
                .parse()
                .map_err(|e: String| ApiError::bad_request("INVALID_QUERY", e))?,
        };
        Ok(JobQuery {
            statuses,
            search: self.search.clone().filter(|s| !s.is_empty()),
            sort,
            desc: parse_bool("sort_desc", self.sort_desc.as_deref())?,
            archived: parse_bool("archived", self.archived.as_deref())?,
            limit: parse_num("limit", self.limit.as_deref(), 50)?.clamp(1, MAX_LIMIT),
            page: parse_num("page", self.page.as_deref(), 1)?.max(1),
        })
    }
}

/// List jobs. The body is a bare array; `X-Total-Count` has the number of matches.
#[utoipa::path(get, path = "/jobs", tag = "jobs", operation_id = "list_jobs", params(ListParams),
    responses((status = 200, body = Vec<JobView>, headers(("X-Total-Count" = u64, description = "Matching jobs"))),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<(HeaderMap, Json<Vec<JobView>>)> {
    let query = params.parse()?;
    let (jobs, total) = state.store.call(move |s| s.list_jobs(&query)).await?;
    let mut headers = HeaderMap::new();
    headers.insert("x-total-count", HeaderValue::from(total as u64));
    Ok((
        headers,
        Json(jobs.into_iter().map(|j| job_view(&state, j)).collect()),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct JobDetails {
    pub job: JobView,
    pub metadata: Option<MediaInfo>,
    pub encode_stats: Option<EncodeStats>,
    pub attempts: Vec<Attempt>,
    /// Last 500 lines, oldest first.
    pub logs: Vec<LogLine>,
    pub queue_position: Option<u64>,
}

fn job_not_found(id: JobId) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => {
            ApiError::not_found("JOB_NOT_FOUND", format!("Job {id} does not exist."))
        }
        other => other.into(),
    }
}

/// Everything about one job (archived jobs too).
#[utoipa::path(get, path = "/jobs/{id}/details", tag = "jobs",
    params(("id" = u64, Path, description = "Job id")),
    responses((status = 200, body = JobDetails),
              (status = 404, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn details(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<JobDetails>> {
    Ok(Json(load_details(&state, JobId(id)).await?))
}

/// Everything about one job; shared by the API and the job page.
pub async fn load_details(state: &AppState, id: JobId) -> ApiResult<JobDetails> {
    let (job, attempts, logs) = state
        .store
        .call(move |s| Ok((s.get_job(id)?, s.attempts(id)?, s.job_logs(id, 500)?)))
        .await
        .map_err(job_not_found(id))?;
    let metadata = job
        .metadata
        .clone()
        .and_then(|m| serde_json::from_value::<MediaInfo>(m).ok());
    let encode_stats = job.encode_stats.clone();
    let queue_position = state.store.queue_position(id);
    Ok(JobDetails {
        job: job_view(state, job),
        metadata,
        encode_stats,
        attempts,
        logs,
        queue_position,
    })
}

/// Cancel a queued or active job (active: ffmpeg is stopped and the partial file removed).
#[utoipa::path(post, path = "/jobs/{id}/cancel", tag = "jobs",
    params(("id" = u64, Path, description = "Job id")),
    responses((status = 200, body = OkBody),
              (status = 404, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<OkBody>> {
    state.engine.cancel(JobId(id)).await?;
    Ok(Json(OkBody::OK))
}

/// Queue a finished job again; 409 while it is active.
#[utoipa::path(post, path = "/jobs/{id}/restart", tag = "jobs",
    params(("id" = u64, Path, description = "Job id")),
    responses((status = 200, body = OkBody),
              (status = 409, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn restart(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<OkBody>> {
    state.engine.restart(JobId(id)).await?;
    Ok(Json(OkBody::OK))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Priority {
    priority: i32,
}

#[derive(Serialize, ToSchema)]
pub struct PriorityChanged {
    id: JobId,
    priority: i32,
}

/// Set a job's priority (higher runs first, then oldest).
#[utoipa::path(post, path = "/jobs/{id}/priority", tag = "jobs", request_body = Priority,
    params(("id" = u64, Path, description = "Job id")),
    responses((status = 200, body = PriorityChanged),
              (status = 404, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn priority(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<Priority>,
) -> ApiResult<Json<PriorityChanged>> {
    state.engine.set_priority(JobId(id), body.priority).await?;
    Ok(Json(PriorityChanged {
        id: JobId(id),
        priority: body.priority,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchActionName {
    Restart,
    Cancel,
    Delete,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    action: BatchActionName,
    ids: Vec<u64>,
}

/// Most ids in one batch.
const MAX_BATCH: usize = 10_000;

/// Bulk restart, cancel or delete (archive). Restart and delete are atomic: any active job
/// gives 409 with `blocked` and nothing changes.
#[utoipa::path(post, path = "/jobs/batch", tag = "jobs", request_body = Batch,
    responses((status = 200, body = CountBody),
              (status = 409, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn batch(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Batch>,
) -> ApiResult<Json<CountBody>> {
    if body.ids.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            "VALIDATION_FAILED",
            format!("at most {MAX_BATCH} ids per batch"),
        ));
    }
    let action = match body.action {
        BatchActionName::Restart => BatchAction::Restart,
        BatchActionName::Cancel => BatchAction::Cancel,
        BatchActionName::Delete => BatchAction::Delete,
    };
    let ids = body.ids.into_iter().map(JobId).collect();
    let count = state.engine.batch(action, ids).await?;
    Ok(Json(CountBody { count }))
}

/// Queue every failed and cancelled job again.
#[utoipa::path(post, path = "/jobs/restart-failed", tag = "jobs", responses((status = 200, body = CountBody)))]
pub async fn restart_failed(State(state): State<AppState>) -> ApiResult<Json<CountBody>> {
    Ok(Json(CountBody {
        count: state.engine.restart_failed().await?,
    }))
}

/// Archive completed jobs (statistics keep them).
#[utoipa::path(post, path = "/jobs/clear-completed", tag = "jobs", responses((status = 200, body = CountBody)))]
pub async fn clear_completed(State(state): State<AppState>) -> ApiResult<Json<CountBody>> {
    Ok(Json(CountBody {
        count: state.engine.clear_completed().await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enqueue {
    /// Absolute path of a video file inside a library folder.
    path: String,
}

#[derive(Serialize, ToSchema)]
pub struct Enqueued {
    id: JobId,
    /// false when the file was already known and unchanged.
    enqueued: bool,
}

/// Queue one file (it must be inside a library folder, else 403).
#[utoipa::path(post, path = "/jobs/enqueue", tag = "jobs", request_body = Enqueue,
    responses((status = 200, body = Enqueued),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 403, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn enqueue(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Enqueue>,
) -> ApiResult<Json<Enqueued>> {
    let path = std::path::PathBuf::from(&body.path);
    if body.path.is_empty() || !path.is_absolute() {
        return Err(ApiError::bad_request(
            "VALIDATION_FAILED",
            "`path` must be an absolute path",
        ));
    }
    let (id, enqueued) = state.engine.enqueue(path).await?;
    Ok(Json(Enqueued { id, enqueued }))
}
