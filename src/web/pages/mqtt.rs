//! The Home Assistant card of the system page: the MQTT worker's line (connected, or retrying
//! and why) and a settings form that needs no JavaScript, saved through the same
//! `mqtt::settings::save` as `PUT /api/settings/mqtt`. The password field is never filled in:
//! left empty it keeps the stored password; "remove the password" clears it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::PageError;
use super::context::{Flash, redirect};
use super::form::Form;
use crate::mqtt::settings::{self, MqttError, MqttSettingsBody};
use crate::web::AppState;

/// What the card shows.
#[derive(Serialize)]
pub struct View {
    settings: MqttSettingsBody,
    has_password: bool,
    /// The worker's line, once it has run.
    line: Option<String>,
}

pub async fn view(state: &AppState) -> Result<View, PageError> {
    let s = state.store.call(settings::load).await?;
    let line = state
        .engine
        .worker_statuses()
        .into_iter()
        .find(|w| w.name == "mqtt")
        .map(|w| w.detail);
    Ok(View {
        has_password: s.password.is_some(),
        settings: s.view(),
        line,
    })
}

/// `POST /system/mqtt`.
pub async fn save(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let bad = |m: String| PageError::new(StatusCode::BAD_REQUEST, m);
    let port = form
        .get("port")
        .unwrap_or_default()
        .trim()
        .parse::<u32>()
        .map_err(|_| bad("The port must be a number between 1 and 65535.".into()))?;
    let password = match (form.get("clear_password"), form.get("password")) {
        (Some(_), _) => Some(String::new()),
        (None, Some(p)) if !p.is_empty() => Some(p.to_string()),
        // Left empty: the stored password stays.
        _ => None,
    };
    let body = MqttSettingsBody {
        enabled: form.get("enabled").is_some(),
        host: form.get("host").unwrap_or_default().to_string(),
        port,
        username: form.get("username").map(str::to_string),
        password,
        tls: form.get("tls").is_some(),
        discovery_prefix: form.get("discovery_prefix").unwrap_or_default().to_string(),
    };
    match settings::save(&state.store, state.engine.events(), body).await {
        Ok(saved) => {
            let text = if saved.enabled {
                format!(
                    "Home Assistant settings saved: connecting to {}:{}.",
                    saved.host, saved.port
                )
            } else {
                "Home Assistant settings saved; MQTT is off.".to_string()
            };
            Ok(redirect(&state, "/system", Flash::new(text)))
        }
        Err(MqttError::Invalid { field, message }) => Err(bad(format!(
            "The Home Assistant settings were not saved: `{field}` {message}."
        ))),
        Err(MqttError::Store(e)) => Err(e.into()),
    }
}
