//! Hardware (encoder backends, codec matrix, probe log) and system (resources, temperatures,
//! the time zone the pages show times in, the schedule card (`schedule`), version, uptime) pages, from the same functions as
//! `/api/system/*`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::context::{Flash, TZ_SETTING, redirect};
use super::form::Form;
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
    let chosen = state
        .store
        .call(|s| s.setting(TZ_SETTING))
        .await?
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    render::page(
        &state,
        "system/overview.html",
        "system",
        context! {
            r => Serde(resources),
            uptime => state.resources.uptime_seconds(),
            workers => Serde(state.engine.worker_statuses()),
            update => Serde(crate::update::shared().status().await),
            zones => zones(),
            schedule => Serde(super::schedule::view(&state)),
            queue => Serde(super::queue::view(&state)),
            integrations => Serde(super::integrations::view(&state)),
            mqtt => Serde(super::mqtt::view(&state).await?),
            maintenance => Serde(super::maintenance::view(&state).await?),
            chosen => chosen,
            box_zone => jiff::tz::TimeZone::try_system()
                .ok()
                .and_then(|z| z.iana_name().map(str::to_string))
                .unwrap_or_else(|| "UTC".into()),
        },
    )
}

/// Every zone name the bundled database knows, sorted.
fn zones() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.to_string()).collect();
    names.sort();
    names
}

/// `POST /system/timezone`: the zone the pages show times in; empty is the box's own.
pub async fn set_timezone(
    State(state): State<AppState>,
    form: Form,
) -> Result<Response, PageError> {
    let value = match form.get("timezone") {
        None => serde_json::Value::Null,
        Some(name) => {
            let zone = jiff::tz::TimeZone::get(name).map_err(|_| {
                PageError::new(
                    StatusCode::BAD_REQUEST,
                    format!("`{name}` is not a time zone this box knows."),
                )
            })?;
            serde_json::Value::String(zone.iana_name().unwrap_or(name).to_string())
        }
    };
    let text = match value.as_str() {
        Some(name) => format!("Times are now shown in {name}."),
        None => "Times are now shown in the box's own time zone.".to_string(),
    };
    state
        .store
        .call(move |s| s.set_setting(TZ_SETTING, &value))
        .await?;
    // The schedule's windows are in this zone too.
    state.engine.schedule.nudge();
    Ok(redirect(&state, "/system", Flash::new(text)))
}
