//! Hardware (encoder backends, codec matrix, probe log) and system (resources, temperatures,
//! version, uptime) pages, from the same functions as `/api/system/*`.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::render;
use crate::web::AppState;

pub async fn hardware(State(state): State<AppState>) -> Result<Response, PageError> {
    let caps = state.engine.capabilities();
    let probe_log = caps
        .as_ref()
        .map(|c| c.probe_log.clone())
        .unwrap_or_default();
    render::page(
        &state,
        "system/hardware.html",
        "hardware",
        context! { hw => Serde(state.engine.hardware_view()), probe_log => Serde(probe_log) },
    )
}

/// "Probe again": a new probe in the background (see the API's `POST
/// /system/hardware/probe`), then back to the hardware page.
pub async fn probe(State(state): State<AppState>) -> Response {
    state.engine.probe_hardware();
    Redirect::to("/hardware").into_response()
}

pub async fn overview(State(state): State<AppState>) -> Result<Response, PageError> {
    let resources = state.sample_resources().await;
    render::page(
        &state,
        "system/overview.html",
        "system",
        context! {
            r => Serde(resources),
            uptime => state.resources.uptime_seconds(),
            workers => Serde(state.engine.worker_statuses()),
            update => Serde(crate::update::shared().status().await),
        },
    )
}
