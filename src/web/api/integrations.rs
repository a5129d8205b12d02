//! Media servers and *arr links: `GET/PUT /api/settings/integrations` and
//! `POST /api/settings/integrations/{service}/test`. Keys are answered masked (their last 4
//! characters); a PUT that sends a masked key back keeps the stored one. A refused value is a
//! `VALIDATION_FAILED` problem whose `field` names it, like the schedule. A failed test is a
//! 502 problem whose code says why (unreachable, certificate refused, key refused, HTTP error,
//! odd answer). All of it needs full access: the settings hold keys to other systems.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::engine::integrations::client::CallError;
use crate::engine::integrations::{IntegrationsError, IntegrationsSettings, Service};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, ApiPath, FullAccess};

impl From<IntegrationsError> for ApiError {
    fn from(e: IntegrationsError) -> Self {
        match e {
            IntegrationsError::Invalid(why) => ApiError::bad_request(
                "VALIDATION_FAILED",
                format!("`{}`: {}.", why.field, why.message),
            )
            .with("field", serde_json::Value::String(why.field)),
            IntegrationsError::Store(e) => e.into(),
        }
    }
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        let status = match e {
            CallError::NotConfigured => StatusCode::CONFLICT,
            _ => StatusCode::BAD_GATEWAY,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

/// A successful test.
#[derive(Serialize, ToSchema)]
pub struct TestResult {
    ok: bool,
    service: Service,
    /// What answered, e.g. `Jellyfin 10.10.3 ("nas")`.
    detail: String,
}

/// The links to Jellyfin, Emby, Plex, Sonarr and Radarr (keys masked), the path map and
/// whether encodes yield to viewers. Any caller may read it (keys are masked), like the other
/// settings; changing it needs full access.
#[utoipa::path(get, path = "/settings/integrations", tag = "system",
    operation_id = "get_integrations",
    responses((status = 200, body = IntegrationsSettings)))]
pub async fn get(State(state): State<AppState>) -> Json<IntegrationsSettings> {
    Json(state.engine.integrations.masked())
}

/// Replace the integrations. A service sent as `null` or left out is not configured; a key
/// sent back masked keeps the stored key.
#[utoipa::path(put, path = "/settings/integrations", tag = "system",
    operation_id = "put_integrations",
    request_body = IntegrationsSettings,
    responses((status = 200, body = IntegrationsSettings),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 403, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn put(
    State(state): State<AppState>,
    _: FullAccess,
    ApiJson(body): ApiJson<IntegrationsSettings>,
) -> ApiResult<Json<IntegrationsSettings>> {
    Ok(Json(state.engine.integrations.set(body).await?))
}

/// Call the service's cheapest documented endpoint with the saved address and key.
#[utoipa::path(post, path = "/settings/integrations/{service}/test", tag = "system",
    operation_id = "test_integration",
    params(("service" = Service, Path, description = "jellyfin, emby, plex, sonarr or radarr")),
    responses((status = 200, body = TestResult),
              (status = 403, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 404, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 409, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 502, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn test(
    State(state): State<AppState>,
    _: FullAccess,
    ApiPath(service): ApiPath<String>,
) -> ApiResult<Json<TestResult>> {
    let service = Service::parse(&service).ok_or_else(|| {
        ApiError::not_found(
            "INTEGRATION_UNKNOWN",
            "No such service: jellyfin, emby, plex, sonarr or radarr.",
        )
    })?;
    match state.engine.integrations.test(service).await {
        Ok(detail) => Ok(Json(TestResult {
            ok: true,
            service,
            detail,
        })),
        Err(e) => {
            tracing::warn!(service = service.name(), code = e.code(), error = %e, "integration test failed");
            Err(e.into())
        }
    }
}
