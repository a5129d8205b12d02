//! Library folders (with the encoding profile each uses) and scans.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::OkBody;
use crate::engine::{FolderError, ScanStatus};
use crate::store::{LibraryFolder, StoreError};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, ApiPath};

#[derive(Serialize, ToSchema)]
pub struct FolderView {
    pub id: u64,
    pub path: String,
    pub recursive: bool,
    /// The folder's encoding profile; `null` is `default` (the configuration).
    pub profile: Option<String>,
}

impl From<LibraryFolder> for FolderView {
    fn from(f: LibraryFolder) -> Self {
        FolderView {
            id: f.id,
            path: f.path.to_string_lossy().into_owned(),
            recursive: f.recursive,
            profile: f.profile,
        }
    }
}

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
    let folders = state.store.call(|s| s.folders()).await?;
    Ok(Json(folders.into_iter().map(FolderView::from).collect()))
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
    let folder = add(&state, &body.path, recursive, body.profile).await?;
    Ok((StatusCode::CREATED, Json(folder)))
}

/// Validate and add a folder; shared by the API and the library page.
pub async fn add(
    state: &AppState,
    path: &str,
    recursive: bool,
    profile: Option<String>,
) -> ApiResult<FolderView> {
    let folder = state
        .engine
        .add_folder_with_profile(std::path::PathBuf::from(path), recursive, profile)
        .await
        .map_err(|e| match e {
            FolderError::Invalid(msg) => ApiError::bad_request("FOLDER_INVALID", msg),
            e @ FolderError::UnknownProfile(_) => {
                ApiError::bad_request("FOLDER_PROFILE_UNKNOWN", e.to_string())
            }
            FolderError::Store(StoreError::Conflict(msg)) => {
                ApiError::new(StatusCode::CONFLICT, "FOLDER_EXISTS", msg)
            }
            FolderError::Store(e) => e.into(),
        })?;
    Ok(folder.into())
}

/// Remove a folder; shared by the API and the library page.
pub async fn remove(state: &AppState, id: u64) -> ApiResult<()> {
    state
        .store
        .call(move |s| s.remove_folder(id))
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                ApiError::not_found("FOLDER_NOT_FOUND", format!("Folder {id} does not exist."))
            }
            other => other.into(),
        })
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
    remove(&state, id).await?;
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
    let folder = state.engine.set_folder_profile(id, profile).await?;
    Ok(Json(folder.into()))
}

/// Scan progress.
#[utoipa::path(get, path = "/library/scan", tag = "library", responses((status = 200, body = ScanStatus)))]
pub async fn scan_status(State(state): State<AppState>) -> Json<ScanStatus> {
    Json(state.engine.scan_status())
}

#[derive(Serialize, ToSchema)]
pub struct ScanStarted {
    /// false when a scan was already running
    started: bool,
}

/// Start a scan of every folder (202). Emits scan_started, then scan_completed.
#[utoipa::path(post, path = "/library/scan", tag = "library", responses((status = 202, body = ScanStarted)))]
pub async fn start_scan(State(state): State<AppState>) -> (StatusCode, Json<ScanStarted>) {
    let started = state.engine.start_scan();
    (StatusCode::ACCEPTED, Json(ScanStarted { started }))
}
