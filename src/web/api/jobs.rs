//! Jobs: list (filters, search, sort, pages, `X-Total-Count`), details, cancel, restart,
//! priority, batch actions, restart-failed, clear-completed and enqueue.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{CountBody, OkBody};
use crate::engine::{BatchAction, JobDetails, JobView};
use crate::model::JobId;
use crate::store::StoreError;
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, ApiPath, ApiQuery};
use crate::web::query::ListParams;

/// List jobs. The body is a bare array; `X-Total-Count` has the number of matches.
#[utoipa::path(get, path = "/jobs", tag = "jobs", operation_id = "list_jobs", params(ListParams),
    responses((status = 200, body = Vec<JobView>, headers(("X-Total-Count" = u64, description = "Matching jobs"), ("X-Next-Cursor" = String, description = "The `after` of the next page; absent on the last page"))),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Response> {
    // The body is written straight from the records (`JobPage`), already JSON.
    let page = state.engine.jobs.list_json(params.parse()?).await?;
    let mut response = Response::new(Body::from(page.body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("x-total-count", HeaderValue::from(page.total as u64));
    if let Some(next) = page.next
        && let Ok(v) = HeaderValue::from_str(&next.token())
    {
        headers.insert("x-next-cursor", v);
    }
    Ok(response)
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
    let id = JobId(id);
    let details = state
        .engine
        .jobs
        .details(id)
        .await
        .map_err(job_not_found(id))?;
    Ok(Json(details))
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
    state.engine.jobs.cancel(JobId(id)).await?;
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
    state.engine.jobs.restart(JobId(id)).await?;
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
    state
        .engine
        .jobs
        .set_priority(JobId(id), body.priority)
        .await?;
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
    let count = state.engine.jobs.batch(action, ids).await?;
    Ok(Json(CountBody { count }))
}

/// Queue every failed and cancelled job again.
#[utoipa::path(post, path = "/jobs/restart-failed", tag = "jobs", responses((status = 200, body = CountBody)))]
pub async fn restart_failed(State(state): State<AppState>) -> ApiResult<Json<CountBody>> {
    Ok(Json(CountBody {
        count: state.engine.jobs.restart_failed().await?,
    }))
}

/// Archive completed jobs (statistics keep them).
#[utoipa::path(post, path = "/jobs/clear-completed", tag = "jobs", responses((status = 200, body = CountBody)))]
pub async fn clear_completed(State(state): State<AppState>) -> ApiResult<Json<CountBody>> {
    Ok(Json(CountBody {
        count: state.engine.jobs.clear_completed().await?,
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
    let (id, enqueued) = state.engine.jobs.enqueue(path).await?;
    Ok(Json(Enqueued { id, enqueued }))
}
