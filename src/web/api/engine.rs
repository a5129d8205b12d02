//! Engine control: status, pause (suspends ffmpeg), resume, drain, mode and overrides.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::engine::EngineCommand;
use crate::engine::state::MAX_OVERRIDE;
use crate::model::{EngineMode, EngineStatus};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::ApiJson;

/// Current state, mode and limits.
#[utoipa::path(get, path = "/engine/status", tag = "engine", responses((status = 200, body = EngineStatus)))]
pub async fn status(State(state): State<AppState>) -> Json<EngineStatus> {
    Json(state.engine.status())
}

/// Pause: running ffmpeg processes are suspended (SIGSTOP) and nothing new starts.
#[utoipa::path(post, path = "/engine/pause", tag = "engine", responses((status = 200, body = EngineStatus)))]
pub async fn pause(State(state): State<AppState>) -> ApiResult<Json<EngineStatus>> {
    Ok(Json(state.engine.command(EngineCommand::Pause).await?))
}

/// Resume: suspended processes continue (SIGCONT) and dispatch restarts.
#[utoipa::path(post, path = "/engine/resume", tag = "engine", responses((status = 200, body = EngineStatus)))]
pub async fn resume(State(state): State<AppState>) -> ApiResult<Json<EngineStatus>> {
    Ok(Json(state.engine.command(EngineCommand::Resume).await?))
}

/// Drain: active jobs finish, nothing new starts, then the engine is paused.
#[utoipa::path(post, path = "/engine/drain", tag = "engine", responses((status = 200, body = EngineStatus)))]
pub async fn drain(State(state): State<AppState>) -> ApiResult<Json<EngineStatus>> {
    Ok(Json(state.engine.command(EngineCommand::Drain).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeRequest {
    mode: EngineMode,
    /// 0 = no override
    concurrent_jobs_override: Option<i64>,
    /// 0 = no override
    threads_override: Option<i64>,
}

fn override_value(name: &str, v: Option<i64>) -> Result<u32, ApiError> {
    match v.unwrap_or(0) {
        n if n < 0 => Err(ApiError::bad_request(
            "VALIDATION_FAILED",
            format!("`{name}` must not be negative (0 = no override)"),
        )),
        n if n > i64::from(MAX_OVERRIDE) => Err(ApiError::bad_request(
            "VALIDATION_FAILED",
            format!("`{name}` must be at most {MAX_OVERRIDE}"),
        )),
        n => Ok(n as u32),
    }
}

/// Switch mode (background, balanced, throughput) and set overrides.
#[utoipa::path(post, path = "/engine/mode", tag = "engine", request_body = ModeRequest,
    responses((status = 200, body = EngineStatus),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn mode(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ModeRequest>,
) -> ApiResult<Json<EngineStatus>> {
    let jobs = override_value("concurrent_jobs_override", body.concurrent_jobs_override)?;
    let threads = override_value("threads_override", body.threads_override)?;
    Ok(Json(state.engine.set_mode(body.mode, jobs, threads).await?))
}
