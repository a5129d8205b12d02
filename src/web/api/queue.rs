//! The queue: its dispatch order (`GET/PUT /api/settings/queue`) and what is left
//! (`GET /api/stats/queue-eta`, the reference server's name). Any caller may read; changing
//! the order needs full access. An unknown order is refused by the JSON extractor as a
//! problem+json 400 like every other bad body.

use axum::Json;
use axum::extract::State;

use crate::engine::queue::QueueSettings;
use crate::engine::queue::eta::QueueEta;
use crate::web::AppState;
use crate::web::error::ApiResult;
use crate::web::extract::{ApiJson, FullAccess};

/// The queue order. Priority always comes first; within a priority `oldest_first` (default),
/// `largest_saving_first` (predicted from each file's probe and profile) or `smallest_first`.
#[utoipa::path(get, path = "/settings/queue", tag = "engine", operation_id = "get_queue_settings",
    responses((status = 200, body = QueueSettings)))]
pub async fn get(State(state): State<AppState>) -> Json<QueueSettings> {
    Json(state.engine.queue.settings())
}

/// Change the queue order; the next job the engine starts follows it.
#[utoipa::path(put, path = "/settings/queue", tag = "engine", operation_id = "put_queue_settings",
    request_body = QueueSettings,
    responses((status = 200, body = QueueSettings),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 403, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn put(
    State(state): State<AppState>,
    _: FullAccess,
    ApiJson(body): ApiJson<QueueSettings>,
) -> ApiResult<Json<QueueSettings>> {
    Ok(Json(state.engine.queue.set(body).await?))
}

/// What is left: queued jobs, the wall time they need at the encode speed measured on this
/// box (per backend and picture size; a stated default before the first encode) over the
/// engine's slots, and the bytes they are predicted to save. `basis` says whether the speed
/// was measured; `basis_detail` how.
#[utoipa::path(get, path = "/stats/queue-eta", tag = "stats", operation_id = "queue_eta",
    responses((status = 200, body = QueueEta)))]
pub async fn eta(State(state): State<AppState>) -> ApiResult<Json<QueueEta>> {
    let slots = state.engine.status().concurrent_limit;
    Ok(Json(state.engine.queue.eta(slots).await?))
}
