//! Statistics from recorded encode results, and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::JobState;
use crate::store::{Aggregated, DailyEntry, Savings};
use crate::web::AppState;
use crate::web::error::ApiResult;

#[derive(Serialize, ToSchema)]
pub struct JobCounts {
    queued: u64,
    active: u64,
    completed: u64,
    skipped: u64,
    failed: u64,
    cancelled: u64,
}

#[derive(Serialize, ToSchema)]
pub struct AggregatedView {
    #[serde(flatten)]
    totals: Aggregated,
    jobs: JobCounts,
}

/// Totals: bytes in and out, savings, encode time, jobs per state. Each file counts once (its
/// latest encode). `realized_savings_bytes` is what was freed on disk (originals replaced or
/// deleted), `potential_savings_bytes` what could be freed (outputs kept beside their
/// originals); `total_savings_bytes` (input minus output, whatever became of the originals) is
/// kept for compatibility.
#[utoipa::path(get, path = "/stats/aggregated", tag = "stats", responses((status = 200, body = AggregatedView)))]
pub async fn aggregated(State(state): State<AppState>) -> ApiResult<Json<AggregatedView>> {
    let totals = state.store.call(|s| s.aggregated()).await?;
    let c = state.store.status_counts();
    Ok(Json(AggregatedView {
        totals,
        jobs: JobCounts {
            queued: c.get(JobState::Queued),
            active: c.active(),
            completed: c.get(JobState::Completed),
            skipped: c.get(JobState::Skipped),
            failed: c.get(JobState::Failed),
            cancelled: c.get(JobState::Cancelled),
        },
    }))
}

/// The last 30 UTC days, oldest first, including days without activity.
#[utoipa::path(get, path = "/stats/daily", tag = "stats", responses((status = 200, body = Vec<DailyEntry>)))]
pub async fn daily(State(state): State<AppState>) -> ApiResult<Json<Vec<DailyEntry>>> {
    Ok(Json(state.store.call(|s| s.daily()).await?))
}

/// Savings by codec and folder, and the largest single savings; the same realized/potential
/// split as `/stats/aggregated`.
#[utoipa::path(get, path = "/stats/savings", tag = "stats", responses((status = 200, body = Savings)))]
pub async fn savings(State(state): State<AppState>) -> ApiResult<Json<Savings>> {
    Ok(Json(state.store.call(|s| s.savings()).await?))
}

/// Prometheus text metrics (needs a session or token like any read route).
#[utoipa::path(get, path = "/metrics", tag = "stats",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    // Counters must not go down: the work done, re-encodes included.
    let (input, output, seconds) = state.store.call(|s| s.work_totals()).await?;
    let counts = state.store.status_counts();
    let engine = state.engine.status();
    let mut out = String::with_capacity(1024);
    out.push_str(
        "# HELP alchemist_jobs Jobs per state (not archived).\n# TYPE alchemist_jobs gauge\n",
    );
    for s in JobState::ALL {
        out.push_str(&format!(
            "alchemist_jobs{{status=\"{s}\"}} {}\n",
            counts.get(s)
        ));
    }
    out.push_str(&format!(
        "# HELP alchemist_input_bytes_total Bytes of sources that were encoded.\n# TYPE alchemist_input_bytes_total counter\nalchemist_input_bytes_total {}\n\
# HELP alchemist_output_bytes_total Bytes of the outputs.\n# TYPE alchemist_output_bytes_total counter\nalchemist_output_bytes_total {}\n\
# HELP alchemist_encode_seconds_total Wall time spent encoding.\n# TYPE alchemist_encode_seconds_total counter\nalchemist_encode_seconds_total {}\n\
# HELP alchemist_engine_active_jobs Jobs running now.\n# TYPE alchemist_engine_active_jobs gauge\nalchemist_engine_active_jobs {}\n\
# HELP alchemist_engine_concurrent_limit Jobs allowed at once.\n# TYPE alchemist_engine_concurrent_limit gauge\nalchemist_engine_concurrent_limit {}\n",
        input,
        output,
        seconds,
        engine.active_jobs,
        engine.concurrent_limit,
    ));
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out))
}
