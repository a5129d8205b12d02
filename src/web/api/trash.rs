//! Replaced originals: list them and restore one (`original = "replace"` in the config). The
//! Trash page shows the same views.

use std::path::Path;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::store::{TrashEntry, TrashState};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiPath, ApiQuery};

#[derive(Serialize, ToSchema)]
pub struct TrashView {
    pub job_id: u64,
    pub original_path: String,
    pub trash_path: String,
    /// Where the output is now.
    pub output_path: String,
    pub state: TrashState,
    pub created_at: String,
    pub updated_at: String,
    /// Size of the original held in the trash; null once it is no longer there.
    pub size_bytes: Option<u64>,
    /// When the original is purged for good (RFC 3339); null unless it is in the trash.
    pub purge_at: Option<String>,
    /// The restore also removed the encoded output.
    pub output_removed: bool,
}

impl TrashView {
    /// `e` as shown, with its size on disk and its purge date (`trash_days` after it moved).
    /// Reads the file's metadata: call from blocking code.
    pub fn new(e: TrashEntry, trash_days: u32) -> TrashView {
        let trashed = e.state == TrashState::Trashed;
        let output = if trashed {
            &e.final_path
        } else {
            &e.output_path
        };
        let size_bytes = trashed
            .then(|| std::fs::metadata(&e.trash_path).ok())
            .flatten()
            .map(|m| m.len());
        let purge_at = trashed
            .then(|| crate::model::rfc3339(e.updated_at + i64::from(trash_days) * 86_400_000));
        TrashView {
            job_id: e.job_id,
            original_path: lossy(&e.original_path),
            trash_path: lossy(&e.trash_path),
            output_path: lossy(output),
            state: e.state,
            created_at: crate::model::rfc3339(e.created_at),
            updated_at: crate::model::rfc3339(e.updated_at),
            size_bytes,
            purge_at,
            output_removed: e.output_removed,
        }
    }
}

fn lossy(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Every replaced original and where it stands, newest first when `newest_first`.
pub async fn views(state: &AppState, newest_first: bool) -> ApiResult<Vec<TrashView>> {
    let days = state.engine.settings.get().trash_days;
    let mut views = state
        .store
        .call(move |s| {
            Ok(s.trash_list()?
                .into_iter()
                .map(|e| TrashView::new(e, days))
                .collect::<Vec<_>>())
        })
        .await?;
    if newest_first {
        views.reverse();
    }
    Ok(views)
}

/// The trash entry of one job, if its original was ever replaced.
pub async fn view_of(state: &AppState, job_id: u64) -> ApiResult<Option<TrashView>> {
    let days = state.engine.settings.get().trash_days;
    Ok(state
        .store
        .call(move |s| Ok(s.trash_get(job_id)?.map(|e| TrashView::new(e, days))))
        .await?)
}

/// Every replaced original and where it stands.
#[utoipa::path(get, path = "/trash", tag = "library", responses((status = 200, body = Vec<TrashView>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<TrashView>>> {
    Ok(Json(views(&state, false).await?))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct RestoreParams {
    /// `true`: also remove the encoded output (undo the encode); default `false`: the output
    /// stays beside the original under its `.alchemist.` name.
    remove_output: Option<bool>,
}

/// Put a trashed original back at its path; the output moves back to its `.alchemist.` name,
/// or is removed with `remove_output=true`.
#[utoipa::path(post, path = "/trash/{job_id}/restore", tag = "library",
    params(("job_id" = u64, Path, description = "Job id"), RestoreParams),
    responses((status = 200, body = TrashView),
              (status = 404, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 409, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn restore(
    State(state): State<AppState>,
    ApiPath(job_id): ApiPath<u64>,
    ApiQuery(params): ApiQuery<RestoreParams>,
) -> ApiResult<Json<TrashView>> {
    Ok(Json(
        restore_original(&state, job_id, params.remove_output.unwrap_or(false)).await?,
    ))
}

/// Restore job `job_id`'s original (the API route and the Trash page).
pub async fn restore_original(
    state: &AppState,
    job_id: u64,
    remove_output: bool,
) -> ApiResult<TrashView> {
    match crate::engine::originals::restore(&state.store, job_id, remove_output).await? {
        None => Err(ApiError::not_found(
            "TRASH_NOT_FOUND",
            format!("Job {job_id} has no replaced original."),
        )),
        Some(Err(msg)) => Err(ApiError::new(StatusCode::CONFLICT, "RESTORE_REFUSED", msg)),
        Some(Ok(entry)) => {
            let days = state.engine.settings.get().trash_days;
            Ok(
                tokio::task::spawn_blocking(move || TrashView::new(entry, days))
                    .await
                    .map_err(ApiError::internal)?,
            )
        }
    }
}
