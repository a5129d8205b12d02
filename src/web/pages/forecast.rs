//! `POST /library/folders/{id}/forecast` (the library page's "Forecast" button, a plain form):
//! run the folder forecast (`engine::forecast`) and render its result: predicted saving,
//! encode time and each sampled file's decision. No script needed; the request waits for the
//! sample encodes.

use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::form::Form;
use super::render;
use crate::engine::forecast::ForecastRequest;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiPath;

pub async fn run(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    form: Form,
) -> Result<Response, PageError> {
    let req = ForecastRequest {
        sample_files: form.get("sample_files").and_then(|n| n.parse().ok()),
    };
    let forecast = state
        .engine
        .forecast
        .run(id, &req)
        .await
        .map_err(ApiError::from)?;
    render::page(
        &state,
        "forecast.html",
        "library",
        context! { f => Serde(forecast) },
    )
}
