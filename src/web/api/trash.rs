//! Replaced originals: list them and restore one (`original = "replace"` in the config). The
//! Trash page shows the same views.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::engine::originals::{self, TrashView};
use crate::web::AppState;
use crate::web::error::ApiResult;
use crate::web::extract::{ApiPath, ApiQuery};

/// Every replaced original and where it stands.
#[utoipa::path(get, path = "/trash", tag = "library", responses((status = 200, body = Vec<TrashView>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<TrashView>>> {
    let days = state.engine.settings.get().trash_days;
    Ok(Json(originals::views(&state.store, days, false).await?))
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
    let days = state.engine.settings.get().trash_days;
    let remove_output = params.remove_output.unwrap_or(false);
    let view = originals::restore_view(&state.store, days, job_id, remove_output).await?;
    // The original is back under its name: tell the media servers and *arrs.
    state
        .engine
        .integrations
        .changed(std::path::Path::new(&view.original_path));
    Ok(Json(view))
}
