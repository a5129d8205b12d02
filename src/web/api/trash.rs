//! Replaced originals: list them and restore one (`original = "replace"` in the config).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::{TrashEntry, TrashState};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::ApiPath;

#[derive(Serialize, ToSchema)]
pub struct TrashView {
    job_id: u64,
    original_path: String,
    trash_path: String,
    /// Where the output is now.
    output_path: String,
    state: TrashState,
    created_at: String,
    updated_at: String,
}

impl From<TrashEntry> for TrashView {
    fn from(e: TrashEntry) -> Self {
        let output = if e.state == TrashState::Trashed {
            &e.final_path
        } else {
            &e.output_path
        };
        TrashView {
            job_id: e.job_id,
            original_path: e.original_path.to_string_lossy().into_owned(),
            trash_path: e.trash_path.to_string_lossy().into_owned(),
            output_path: output.to_string_lossy().into_owned(),
            state: e.state,
            created_at: crate::model::rfc3339(e.created_at),
            updated_at: crate::model::rfc3339(e.updated_at),
        }
    }
}

/// Every replaced original and where it stands.
#[utoipa::path(get, path = "/trash", tag = "library", responses((status = 200, body = Vec<TrashView>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<TrashView>>> {
    let entries = state.store.call(|s| s.trash_list()).await?;
    Ok(Json(entries.into_iter().map(TrashView::from).collect()))
}

/// Put a trashed original back at its path; the output moves back to its `.alchemist.` name.
#[utoipa::path(post, path = "/trash/{job_id}/restore", tag = "library",
    params(("job_id" = u64, Path, description = "Job id")),
    responses((status = 200, body = TrashView),
              (status = 404, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 409, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn restore(
    State(state): State<AppState>,
    ApiPath(job_id): ApiPath<u64>,
) -> ApiResult<Json<TrashView>> {
    match crate::engine::originals::restore(&state.store, job_id).await? {
        None => Err(ApiError::not_found(
            "TRASH_NOT_FOUND",
            format!("Job {job_id} has no replaced original."),
        )),
        Some(Err(msg)) => Err(ApiError::new(StatusCode::CONFLICT, "RESTORE_REFUSED", msg)),
        Some(Ok(entry)) => Ok(Json(entry.into())),
    }
}
