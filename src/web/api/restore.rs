//! `POST /api/system/restore`: restore a backup (the archive as the request body) into the
//! running server (`web::maintenance::restore`). A refused archive answers 422 and nothing
//! changes.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::backup::Manifest;
use crate::web::AppState;
use crate::web::error::ApiResult;
use crate::web::extract::FullAccess;
use crate::web::maintenance::restore::{MAX_ARCHIVE_BYTES, RestoreError, receive};

/// `{"restoring": true, ...}`
#[derive(Serialize, ToSchema)]
pub struct Restoring {
    restoring: bool,
    /// What the archive holds.
    pub manifest: Manifest,
    message: String,
}

/// Restore a backup made by `GET /api/system/backup` (the `.tar` as the body). The archive is
/// checked completely first (manifest, store file with every listed table and row count,
/// config file); a refused archive changes nothing. A valid one is kept, the server shuts
/// down and starts again by itself, backing the current state up into `<data>/backups/`
/// and then putting the archive's store and config in place. Wait for `/api/ready`.
#[utoipa::path(post, path = "/system/restore", tag = "system", operation_id = "restore_backup",
    request_body(content = Vec<u8>, content_type = "application/x-tar", description = "The backup archive"),
    responses(
        (status = 202, description = "Checked; the server restarts to apply it", body = Restoring),
        (status = 403, description = "Needs full access", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A restore is already under way", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 4 GiB", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid backup; nothing was changed", body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn restore(
    _access: FullAccess,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Restoring>)> {
    // An announced size over the limit is refused before a byte is read, not after 4 GiB.
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_ARCHIVE_BYTES) {
        return Err(RestoreError::TooLarge.into());
    }
    let manifest = receive(&state, body.into_data_stream()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Restoring {
            restoring: true,
            message: format!(
                "The backup of {} is checked; the server restarts to restore it.",
                manifest.created
            ),
            manifest,
        }),
    ))
}
