//! `POST /api/library/folders/{id}/forecast`: what encoding a folder would bring, measured on
//! samples of a few of its files before anything is encoded (`engine::forecast`). It runs real
//! sample encodes, so it answers after seconds to minutes; one at a time (409
//! `FORECAST_RUNNING`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::engine::forecast::{Forecast, ForecastError, ForecastRequest};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, ApiPath};

impl From<ForecastError> for ApiError {
    fn from(e: ForecastError) -> Self {
        match e {
            ForecastError::NoFolder(id) => {
                ApiError::not_found("FOLDER_NOT_FOUND", format!("Folder {id} does not exist."))
            }
            e @ ForecastError::Busy => {
                ApiError::new(StatusCode::CONFLICT, "FORECAST_RUNNING", e.to_string())
            }
            e @ ForecastError::Invalid => ApiError::bad_request("FORECAST_INVALID", e.to_string()),
            ForecastError::Io(e) => ApiError::internal(e),
            ForecastError::Store(e) => e.into(),
        }
    }
}

/// Sample a few of the folder's files (`sample_files`, 1–10, default 3) and predict the
/// saving, the encode time on this machine and each sampled file's decision.
#[utoipa::path(post, path = "/library/folders/{id}/forecast", tag = "library",
    operation_id = "forecast_folder", request_body = ForecastRequest,
    params(("id" = u64, Path, description = "Folder id")),
    responses((status = 200, body = Forecast),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 404, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 409, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn forecast(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    ApiJson(req): ApiJson<ForecastRequest>,
) -> ApiResult<Json<Forecast>> {
    Ok(Json(state.engine.forecast.run(id, &req).await?))
}
