//! System: encoder backends and their probe log, live resources, the engine's workers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::engine::WorkerStatus;
use crate::hw::{HardwareView, ProbeLogEntry};
use crate::resources::Resources;
use crate::web::AppState;

/// Encoder backends, the codec matrix, and the hardware encoders demoted after failed jobs.
#[utoipa::path(get, path = "/system/hardware", tag = "system", responses((status = 200, body = HardwareView)))]
pub async fn hardware(State(state): State<AppState>) -> Json<HardwareView> {
    Json(state.engine.hardware_view())
}

/// Probe the hardware again (test encodes on every device; the stored result is not reused).
/// Starts in the background: the answer is the hardware as it is now, with `probing` true;
/// the new result replaces it when the probe ends and clears the demotions.
#[utoipa::path(post, path = "/system/hardware/probe", tag = "system", responses((status = 202, body = HardwareView)))]
pub async fn probe(State(state): State<AppState>) -> (StatusCode, Json<HardwareView>) {
    state.engine.probe_hardware();
    (StatusCode::ACCEPTED, Json(state.engine.hardware_view()))
}

#[derive(Serialize, ToSchema)]
pub struct ProbeLog {
    entries: Vec<ProbeLogEntry>,
}

/// Every probe command with its real output.
#[utoipa::path(get, path = "/system/hardware/probe-log", tag = "system", responses((status = 200, body = ProbeLog)))]
pub async fn probe_log(State(state): State<AppState>) -> Json<ProbeLog> {
    Json(ProbeLog {
        entries: state
            .engine
            .capabilities()
            .map(|c| c.probe_log.clone())
            .unwrap_or_default(),
    })
}

/// CPU, load, memory, GPU busy, temperatures, uptime and this process's RSS.
#[utoipa::path(get, path = "/system/resources", tag = "system", responses((status = 200, body = Resources)))]
pub async fn resources(State(state): State<AppState>) -> Json<Resources> {
    Json(state.sample_resources().await)
}

/// The engine's background workers: what each is doing or waiting for.
#[utoipa::path(get, path = "/system/workers", tag = "system", responses((status = 200, body = Vec<WorkerStatus>)))]
pub async fn workers(State(state): State<AppState>) -> Json<Vec<WorkerStatus>> {
    Json(state.engine.worker_statuses())
}
