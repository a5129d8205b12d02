//! Notification targets: `GET/POST /api/settings/notifications`,
//! `PUT/DELETE /api/settings/notifications/{id}` and `POST /api/settings/notifications/{id}/test`.
//! Secrets (tokens, the Pushover user key, the SMTP password, a Discord webhook's token) come
//! back as `********`; a PUT that sends `********` keeps the stored secret. A refused target is
//! a `VALIDATION_FAILED` problem whose `field` names the bad value. Reading needs any access,
//! changing or testing full access.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::engine::notify::{EventKind, NotifyError, Target, TargetView};
use crate::web::AppState;
use crate::web::api::OkBody;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, ApiPath, FullAccess};

const PROBLEM: &str = "application/problem+json";

impl From<NotifyError> for ApiError {
    fn from(e: NotifyError) -> Self {
        match e {
            NotifyError::Invalid(why) => ApiError::bad_request(
                "VALIDATION_FAILED",
                format!("`{}`: {}.", why.field, why.message),
            )
            .with("field", serde_json::Value::String(why.field)),
            NotifyError::NotFound(id) => ApiError::not_found(
                "NOTIFICATION_TARGET_NOT_FOUND",
                format!("No notification target {id}."),
            ),
            NotifyError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "NOTIFIER_BUSY",
                "The notifier has too much waiting; try again shortly.",
            ),
            NotifyError::Store(e) => e.into(),
        }
    }
}

/// `POST /api/settings/notifications/{id}/test` (the body is optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// `test` (default) sends a test message; `daily_summary` sends today's summary now.
    #[serde(default)]
    pub event: Option<EventKind>,
}

/// The targets (secrets masked) with their delivery logs, newest attempt first. Full access
/// only: a target's URL may itself be a credential (an ntfy topic, a Home Assistant webhook
/// id, a user and password in it), which no mask can tell apart.
#[utoipa::path(get, path = "/settings/notifications", tag = "notifications",
    operation_id = "list_notification_targets",
    responses((status = 200, body = Vec<TargetView>),
              (status = 403, body = crate::web::error::Problem, content_type = PROBLEM)))]
pub async fn list(
    State(state): State<AppState>,
    _: FullAccess,
) -> ApiResult<Json<Vec<TargetView>>> {
    Ok(Json(state.engine.notifications.list().await?))
}

/// Add a target. Its kind decides what else it needs: Gotify a `token`, Telegram a `token`
/// and `chat_id`, Pushover a `token` and `user_key`, email the `email` block.
#[utoipa::path(post, path = "/settings/notifications", tag = "notifications",
    operation_id = "create_notification_target", request_body = Target,
    responses((status = 201, body = Target),
              (status = 400, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 403, body = crate::web::error::Problem, content_type = PROBLEM)))]
pub async fn create(
    State(state): State<AppState>,
    _: FullAccess,
    ApiJson(body): ApiJson<Target>,
) -> ApiResult<(StatusCode, Json<Target>)> {
    let t = state.engine.notifications.create(body).await?;
    Ok((StatusCode::CREATED, Json(t)))
}

/// Replace a target; `********` in a secret field keeps the stored secret.
#[utoipa::path(put, path = "/settings/notifications/{id}", tag = "notifications",
    operation_id = "replace_notification_target", request_body = Target,
    params(("id" = u64, Path, description = "Target id")),
    responses((status = 200, body = Target),
              (status = 400, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 403, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 404, body = crate::web::error::Problem, content_type = PROBLEM)))]
pub async fn replace(
    State(state): State<AppState>,
    _: FullAccess,
    ApiPath(id): ApiPath<u64>,
    ApiJson(body): ApiJson<Target>,
) -> ApiResult<Json<Target>> {
    Ok(Json(state.engine.notifications.update(id, body).await?))
}

/// Remove a target and its delivery log.
#[utoipa::path(delete, path = "/settings/notifications/{id}", tag = "notifications",
    operation_id = "delete_notification_target",
    params(("id" = u64, Path, description = "Target id")),
    responses((status = 200, body = OkBody),
              (status = 403, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 404, body = crate::web::error::Problem, content_type = PROBLEM)))]
pub async fn delete(
    State(state): State<AppState>,
    _: FullAccess,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<OkBody>> {
    state.engine.notifications.delete(id).await?;
    Ok(Json(OkBody::OK))
}

/// Send a test message (or the daily summary) to a target now, past quiet hours and
/// grouping. Accepted at once: the outcome appears in the target's delivery log.
#[utoipa::path(post, path = "/settings/notifications/{id}/test", tag = "notifications",
    operation_id = "test_notification_target", request_body = Option<TestRequest>,
    params(("id" = u64, Path, description = "Target id")),
    responses((status = 202, body = OkBody),
              (status = 400, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 403, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 404, body = crate::web::error::Problem, content_type = PROBLEM),
              (status = 503, body = crate::web::error::Problem, content_type = PROBLEM)))]
pub async fn test(
    State(state): State<AppState>,
    _: FullAccess,
    ApiPath(id): ApiPath<u64>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<OkBody>)> {
    // The body is optional, so it is read here rather than by `ApiJson`.
    let request: TestRequest = if body.iter().all(u8::is_ascii_whitespace) {
        TestRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(
                "VALIDATION_FAILED",
                format!("The body is not a test request: {e}."),
            )
        })?
    };
    let event = request.event.unwrap_or(EventKind::Test);
    state.engine.notifications.test(id, event)?;
    Ok((StatusCode::ACCEPTED, Json(OkBody::OK)))
}
