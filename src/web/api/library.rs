//! Library folders (with the encoding profile each uses) and scans.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::OkBody;
use crate::engine::{FolderView, MAX_RESCAN_MINUTES, ScanStatus};
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
    /// Queue new files as they appear (default true).
    watch: Option<bool>,
    /// Walk the folder this often as a safety net (default 360; 0 = never).
    #[schema(maximum = 525600)]
    rescan_interval_minutes: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFolder {
    /// Encoding profile name; `null` (or `"default"`) is the default profile. Absent: unchanged.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    profile: Option<Option<String>>,
    /// Queue new files as they appear. Absent: unchanged.
    watch: Option<bool>,
    /// Walk the folder this often as a safety net (0 = never). Absent: unchanged.
    #[schema(maximum = 525600)]
    rescan_interval_minutes: Option<u32>,
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
    check_rescan(body.rescan_interval_minutes)?;
    let folders = &state.engine.folders;
    let mut folder = folders
        .add(body.path.into(), recursive, body.profile)
        .await?;
    if body.watch.is_some() || body.rescan_interval_minutes.is_some() {
        folder = folders
            .set_watch(folder.id, body.watch, body.rescan_interval_minutes)
            .await?;
    }
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

/// Change a folder: its encoding profile (`{"profile": "name"}`, or `null` for the default),
/// `watch` and `rescan_interval_minutes`. At least one field.
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
    let folders = &state.engine.folders;
    let watch = body.watch.is_some() || body.rescan_interval_minutes.is_some();
    if body.profile.is_none() && !watch {
        return Err(ApiError::bad_request(
            "VALIDATION_FAILED",
            "Give `profile` (a name, or null for the default), `watch` or \
             `rescan_interval_minutes`.",
        ));
    }
    check_rescan(body.rescan_interval_minutes)?;
    // The profile first: it is the change that may be refused (unknown profile).
    let profiled = match body.profile {
        Some(profile) => Some(folders.set_profile(id, profile).await?),
        None => None,
    };
    match profiled {
        Some(folder) if !watch => Ok(Json(folder)),
        _ => Ok(Json(
            folders
                .set_watch(id, body.watch, body.rescan_interval_minutes)
                .await?,
        )),
    }
}

/// Refuse a rescan interval beyond the bound before anything changes.
fn check_rescan(minutes: Option<u32>) -> Result<(), ApiError> {
    match minutes {
        Some(m) if m > MAX_RESCAN_MINUTES => Err(ApiError::bad_request(
            "VALIDATION_FAILED",
            format!(
                "`rescan_interval_minutes` must be between 0 (never) and {MAX_RESCAN_MINUTES}."
            ),
        )),
        _ => Ok(()),
    }
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
