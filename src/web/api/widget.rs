//! `GET /api/widget`: one small, flat JSON for home dashboards (Homepage's and Homarr's
//! "custom API" widgets map flat fields to tiles). It answers any authenticated caller, so a
//! read-only API token is enough: the token a dashboard should hold, since it can change
//! nothing. Savings use the realized/potential split of `/api/stats/aggregated`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::{EngineRunState, JobId, JobState};
use crate::web::AppState;
use crate::web::error::ApiResult;

/// The job a widget shows as running.
#[derive(Serialize, ToSchema)]
pub struct WidgetJob {
    pub id: JobId,
    /// The file name, without its folders.
    pub file: String,
    pub status: JobState,
    /// 0-100, live while it encodes.
    pub progress: f64,
}

/// `GET /api/widget`.
#[derive(Serialize, ToSchema)]
pub struct Widget {
    pub state: EngineRunState,
    pub queued: u64,
    pub active: u64,
    /// The oldest running job; null when none runs.
    pub job: Option<WidgetJob>,
    /// Freed on disk (originals replaced or deleted).
    pub realized_savings_bytes: i64,
    /// Could be freed (outputs kept beside their originals).
    pub potential_savings_bytes: i64,
    /// Both: what the encodes shrank.
    pub total_savings_bytes: i64,
}

/// State, queue, the running job and the saved totals, for Homepage/Homarr-style dashboards.
/// Readable with a read-only token.
#[utoipa::path(get, path = "/widget", tag = "stats", operation_id = "widget",
    responses((status = 200, body = Widget),
              (status = 401, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn widget(State(state): State<AppState>) -> ApiResult<Json<Widget>> {
    let status = state.engine.status();
    let (totals, job) = state
        .store
        .call(|s| {
            let active: Vec<JobState> = JobState::ALL
                .into_iter()
                .filter(|s| s.is_active())
                .collect();
            let first = s.job_ids_in(&active)?.into_iter().min();
            let job = match first {
                Some(id) => Some(s.get_job(id)?),
                None => None,
            };
            Ok((s.aggregated()?, job))
        })
        .await?;
    let job = job.map(|j| WidgetJob {
        id: j.id,
        file: j
            .input_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        status: j.status,
        progress: state.engine.live_progress(j.id).unwrap_or(j.progress),
    });
    Ok(Json(Widget {
        state: status.status,
        queued: status.queued_jobs,
        active: status.active_jobs,
        job,
        realized_savings_bytes: totals.split.realized_savings_bytes,
        potential_savings_bytes: totals.split.potential_savings_bytes,
        total_savings_bytes: totals.total_savings_bytes,
    }))
}
