//! `POST /api/system/selftest` runs the self-test (`web::maintenance::selftest`) now and
//! answers the report; `GET /api/system/selftest` answers the last one.

use axum::Json;
use axum::extract::State;

use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::FullAccess;
use crate::web::maintenance::selftest::{SelfTestReport, last, run};

/// Run the self-test now: ffmpeg and ffprobe, a short test encode per verified backend (into
/// a temp dir in the data directory, never a library folder), store integrity, free space per
/// library filesystem, the clock, write access to each library folder, and whether configured
/// integrations, notification targets and the MQTT broker answer. Takes seconds (real
/// encodes); the report is kept and `GET` answers it.
#[utoipa::path(post, path = "/system/selftest", tag = "system", operation_id = "run_selftest",
    responses(
        (status = 200, description = "The report of this run", body = SelfTestReport),
        (status = 403, description = "Needs full access", body = crate::web::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A self-test is already running", body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn post(
    _access: FullAccess,
    State(state): State<AppState>,
) -> ApiResult<Json<SelfTestReport>> {
    Ok(Json(run(&state).await?))
}

/// The last self-test report.
#[utoipa::path(get, path = "/system/selftest", tag = "system",
    responses(
        (status = 200, description = "The last report", body = SelfTestReport),
        (status = 404, description = "No self-test has run yet", body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn get(State(state): State<AppState>) -> ApiResult<Json<SelfTestReport>> {
    last(&state).await?.map(Json).ok_or_else(|| {
        ApiError::not_found(
            "SELFTEST_NONE",
            "No self-test has run yet: POST /api/system/selftest runs one.",
        )
    })
}
