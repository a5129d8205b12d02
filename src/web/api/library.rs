//! Library folders (with the encoding profile each uses) and scans.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::OkBody;
use crate::engine::{FolderView, ScanStatus};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, ApiPath};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddFolder {
    /// Absolute path of an existing directory.
    path: String,
    /// Scan sub-folders too (default true).
    recursive: Option<bool>,
    /// Encoding profile (see `/api/profiles`); absent or `null` is `default`.
    profile: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFolder {
    /// Encoding profile name; `null` (or `"default"`) is the default profile. Required.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    profile: Option<Option<String>>,
}

/// A field that is present, possibly `null` (absent stays `None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Library folders.
#[utoipa::path(get, path = "/library/folders", tag = "library", responses((status = 200, body = Vec<FolderView>)))]
pub async fn folders(State(state): State<AppState>) -> ApiResult<Json<Vec<FolderView>>> {
    Ok(Json(state.engine.folders.list().await?))
}

/// Add a folder; it must exist and be a directory.
#[utoipa::path(post, path = "/library/folders", tag = "library", request_body = AddFolder,
    responses((status = 201, body = FolderView),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 409, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn add_folder(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<AddFolder>,
) -> ApiResult<(StatusCode, Json<FolderView>)> {
    let recursive = body.recursive.unwrap_or(true);
    let folder = state
        .engine
        .folders
        .add(body.path.into(), recursive, body.profile)
        .await?;
    Ok((StatusCode::CREATED, Json(folder)))
}

/// Remove a folder from the library (files and jobs stay).
#[utoipa::path(delete, path = "/library/folders/{id}", tag = "library",
    params(("id" = u64, Path, description = "Folder id")),
    responses((status = 200, body = OkBody),
              (status = 404, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn remove_folder(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<OkBody>> {
    state.engine.folders.remove(id).await?;
    Ok(Json(OkBody::OK))
}

/// Choose the folder's encoding profile: `{"profile": "name"}`, or `null` for the default.
#[utoipa::path(patch, path = "/library/folders/{id}", tag = "library", operation_id = "update_folder", request_body = UpdateFolder,
    params(("id" = u64, Path, description = "Folder id")),
    responses((status = 200, body = FolderView),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 404, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn update_folder(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<UpdateFolder>,
) -> ApiResult<Json<FolderView>> {
    let Some(profile) = body.profile else {
        return Err(ApiError::bad_request(
            "VALIDATION_FAILED",
            "Give `profile`: a profile name, or null for the default.",
        ));
    };
    Ok(Json(state.engine.folders.set_profile(id, profile).await?))
}

/// Scan progress.
#[utoipa::path(get, path = "/library/scan", tag = "library", responses((status = 200, body = ScanStatus)))]
pub async fn scan_status(State(state): State<AppState>) -> Json<ScanStatus> {
    Json(state.engine.scanner.status())
}

#[derive(Serialize, ToSchema)]
pub struct ScanStarted {
    /// false when a scan was already running
    started: bool,
}

/// Start a scan of every folder (202). Emits scan_started, then scan_completed.
#[utoipa::path(post, path = "/library/scan", tag = "library", responses((status = 202, body = ScanStarted)))]
pub async fn start_scan(State(state): State<AppState>) -> (StatusCode, Json<ScanStarted>) {
    let started = state.engine.scanner.start();
    (StatusCode::ACCEPTED, Json(ScanStarted { started }))
}
