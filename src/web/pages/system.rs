//! Hardware (encoder backends, codec matrix, probe log) and system (resources, temperatures,
//! version, uptime) pages, from the same functions as `/api/system/*`.

use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::render;
use crate::web::AppState;
use crate::web::api::system::{hardware_view, sample_resources};

pub async fn hardware(State(state): State<AppState>) -> Result<Response, PageError> {
    let probe_log = state
        .engine
        .capabilities()
        .map(|c| c.probe_log)
        .unwrap_or_default();
    render::page(
        &state,
        "system/hardware.html",
        "hardware",
        context! { hw => Serde(hardware_view(&state)), probe_log => Serde(probe_log) },
    )
}

pub async fn overview(State(state): State<AppState>) -> Result<Response, PageError> {
    let resources = sample_resources(&state).await?;
    render::page(
        &state,
        "system/overview.html",
        "system",
        context! {
            r => Serde(resources),
            uptime => state.started.elapsed().as_secs(),
            update => Serde(crate::update::shared().status().await),
        },
    )
}
