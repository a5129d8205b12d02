//! Health, readiness and the OpenAPI document: public, for monitors and tooling.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::IndexStatus;
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always "ok" when the process answers.
    status: &'static str,
    version: &'static str,
    uptime_seconds: u64,
}

/// Liveness.
#[utoipa::path(get, path = "/health", security(()), tag = "system", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_seconds: state.resources.uptime_seconds(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct Ready {
    ready: bool,
}

/// Readiness: 200 once the job index is built (in the background after start; `/health`
/// answers meanwhile) and the store answers.
#[utoipa::path(get, path = "/ready", security(()), tag = "system",
    responses((status = 200, body = Ready),
              (status = 503, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn ready(State(state): State<AppState>) -> ApiResult<Json<Ready>> {
    match state.store.index_status() {
        IndexStatus::Ready => {}
        IndexStatus::Loading { loaded, total } => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "INDEX_LOADING",
                format!("The job list is being loaded ({loaded} of {total} jobs)."),
            ));
        }
        // The reason (which record, which error) is in the log, not in a public answer.
        IndexStatus::Failed(_) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "INDEX_FAILED",
                "The job list could not be loaded; the log says why.",
            ));
        }
    }
    let ok = state.store.call(|s| Ok(s.ping())).await.unwrap_or(false);
    if ok {
        Ok(Json(Ready { ready: true }))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "STORE_UNAVAILABLE",
            "The database is not answering.",
        ))
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", security(()), tag = "system",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json.to_string(),
    )
}
