//! The owner's schedule windows: `GET/PUT /api/settings/schedule`, in the box's local time zone
//! (the pages' chosen zone, else the system's). A refused schedule is a `VALIDATION_FAILED`
//! problem whose `field` names the bad value; a saved one takes effect at once. Any caller may
//! read it; changing it needs full access.

use axum::Json;
use axum::extract::State;

use crate::engine::schedule::{ScheduleError, ScheduleSettings};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, FullAccess};

impl From<ScheduleError> for ApiError {
    fn from(e: ScheduleError) -> Self {
        match e {
            ScheduleError::Invalid(why) => ApiError::bad_request(
                "VALIDATION_FAILED",
                format!("`{}`: {}.", why.field, why.message),
            )
            .with("field", serde_json::Value::String(why.field)),
            ScheduleError::Store(e) => e.into(),
        }
    }
}

/// The schedule windows and what happens to running jobs outside them.
#[utoipa::path(get, path = "/settings/schedule", tag = "engine", operation_id = "get_schedule",
    responses((status = 200, body = ScheduleSettings)))]
pub async fn get(State(state): State<AppState>) -> Json<ScheduleSettings> {
    Json(state.engine.schedule.settings())
}

/// Replace the schedule. Outside a window no job starts; when one closes, running jobs
/// `finish`, are suspended (`suspend`, continued when a window opens) or are queued again
/// (`requeue`). A manual pause or resume wins until the next window boundary.
#[utoipa::path(put, path = "/settings/schedule", tag = "engine", operation_id = "put_schedule",
    request_body = ScheduleSettings,
    responses((status = 200, body = ScheduleSettings),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 403, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn put(
    State(state): State<AppState>,
    _: FullAccess,
    ApiJson(body): ApiJson<ScheduleSettings>,
) -> ApiResult<Json<ScheduleSettings>> {
    Ok(Json(state.engine.schedule.set(body).await?))
}
