//! Hardware (encoder backends, codec matrix, probe log) and system (resources, temperatures,
//! version, uptime) pages, from the same functions as `/api/system/*`.

use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::render;
use crate::hw;
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
        context! { hw => Serde(hw::view(caps.as_deref())), probe_log => Serde(probe_log) },
    )
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
