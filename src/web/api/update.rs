//! Firmware updates: `GET /api/system/update` (slots, versions, the current install; with
//! `Accept: text/event-stream` the install's progress as SSE), `POST /api/system/update` (the
//! signed bundle as the body: checked before anything is written, then installed into the
//! slot group that is not booted while the box keeps serving) and `POST /api/system/reboot`.
//! The work is `crate::update`'s; off an appliance these answer 409 `UPDATE_UNAVAILABLE`.

use std::convert::Infallible;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use futures_util::stream::{self, Stream};
use serde::Serialize;
use utoipa::ToSchema;

use crate::update::{self, InstallState, UpdateError, UpdateStatus};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{Caller, FullAccess};
use crate::web::sse::KEEP_ALIVE;

/// Paths whose body is a bundle, not JSON: the request-size guard lets them through (the
/// upload has its own limit, `update::MAX_BUNDLE_BYTES`).
pub fn takes_large_body(path: &str) -> bool {
    matches!(path, "/api/system/update" | "/api/v1/system/update")
        || matches!(
            path,
            "/api/system/restore" | "/api/v1/system/restore" | "/system/restore"
        )
}

impl From<UpdateError> for ApiError {
    fn from(e: UpdateError) -> Self {
        let status = match &e {
            UpdateError::Unavailable(_) | UpdateError::Busy => StatusCode::CONFLICT,
            UpdateError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            UpdateError::NoSpace { .. } => StatusCode::INSUFFICIENT_STORAGE,
            UpdateError::Rejected(_) | UpdateError::Incompatible { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            UpdateError::Interrupted(_) => StatusCode::BAD_REQUEST,
            UpdateError::Io(_) => return ApiError::internal(e),
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

/// Update state (JSON); with `Accept: text/event-stream`, an SSE stream of `install` events
/// (the install state, on every change) that ends once no update is under way.
#[utoipa::path(get, path = "/system/update", tag = "system",
    responses((status = 200, description = "The slots and the current install as JSON, or its progress as SSE",
        content((UpdateStatus = "application/json"), (String = "text/event-stream")))))]
pub async fn update_status(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
) -> Response {
    let wants_stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if wants_stream {
        return progress(state).into_response();
    }
    Json(update::shared().status().await).into_response()
}

fn progress(state: AppState) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = update::shared().subscribe();
    let shutdown = state.shutdown.clone();
    // (receiver, whether the state to send next is the first one, finished)
    let events = stream::unfold((rx, true, false), move |(mut rx, first, finished)| {
        let shutdown = shutdown.clone();
        async move {
            if finished {
                return None;
            }
            if !first {
                tokio::select! {
                    changed = rx.changed() => changed.ok()?,
                    _ = shutdown.cancelled() => return None,
                }
            }
            let current = rx.borrow_and_update().clone();
            let busy = matches!(
                current.phase,
                update::InstallPhase::Receiving
                    | update::InstallPhase::Verifying
                    | update::InstallPhase::Installing
            );
            let event = SseEvent::default()
                .event("install")
                .data(serde_json::to_string(&current).unwrap_or_default());
            Some((Ok(event), (rx, false, !busy)))
        }
    });
    Sse::new(events.boxed()).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// Upload a signed update bundle (`.raucb`) as the request body. Its signature (against the
/// keyring in the firmware) and board are checked before anything is written; it is then
/// installed into the slot group that is not booted, in the background: follow
/// `GET /api/system/update`. Reboot to run it.
#[utoipa::path(post, path = "/system/update", tag = "system",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The RAUC bundle"),
    responses(
        (status = 202, description = "Checked; installing", body = InstallState),
        (status = 409, description = "No updates here, or one is under way", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 1 GiB", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad signature, not a bundle, or for another board; nothing was written", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 507, description = "No room for the bundle", body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn update_upload(
    _access: FullAccess,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<InstallState>)> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut upload = update::shared().begin_upload(announced).await?;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let result = match chunk {
            Ok(bytes) => upload.write(bytes).await,
            Err(e) => Err(UpdateError::Interrupted(e.to_string())),
        };
        if let Err(e) = result {
            return Err(upload.fail(e).into());
        }
    }
    match upload.finish().await {
        Ok(started) => Ok((StatusCode::ACCEPTED, Json(started))),
        Err(e) => Err(upload.fail(e).into()),
    }
}

/// `{"rebooting": true}`
#[derive(Serialize, ToSchema)]
pub struct Rebooting {
    rebooting: bool,
}

/// Restart the box: after an install, into the new slot (on trial until it answers
/// /api/ready). Refused while an update is under way.
#[utoipa::path(post, path = "/system/reboot", tag = "system",
    responses(
        (status = 202, description = "Rebooting in a second", body = Rebooting),
        (status = 409, description = "Not an appliance, or an update is under way", body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn reboot(_access: FullAccess) -> ApiResult<(StatusCode, Json<Rebooting>)> {
    update::shared().reboot().await?;
    Ok((StatusCode::ACCEPTED, Json(Rebooting { rebooting: true })))
}
