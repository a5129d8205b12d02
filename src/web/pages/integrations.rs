//! The integrations card of the system page: a form for each service's address and key, the
//! path map (saved rows plus blank ones to add; a row left empty is removed) and
//! `yield_to_viewers` (optionally only for transcodes), saved through the same `Integrations::set` as
//! `PUT /api/settings/integrations`; and a "Test" button per service (a `formaction` of the
//! same form, so no JavaScript is needed) that tries the saved settings. A stored key is never
//! put in the page: the field stays empty with the masked key beside it, and an empty field
//! keeps the stored key.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::PageError;
use super::context::{Flash, redirect};
use super::form::Form;
use crate::engine::integrations::{
    IntegrationsError, IntegrationsSettings, MAX_PATH_MAP, PathMap, Service, ServiceSettings,
};
use crate::web::AppState;
use crate::web::extract::ApiPath;

/// Blank path map rows offered below the saved ones.
const BLANK_ROWS: usize = 2;

#[derive(Serialize)]
struct ServiceRow {
    name: &'static str,
    label: &'static str,
    url: String,
    /// The masked key, when one is stored.
    key: Option<String>,
    /// Check an https service's certificate (true unless the owner turned it off).
    verify_tls: bool,
}

#[derive(Serialize)]
struct MapRow {
    index: usize,
    remote: String,
    local: String,
}

/// What the card shows.
#[derive(Serialize)]
pub struct View {
    services: Vec<ServiceRow>,
    rows: Vec<MapRow>,
    yield_to_viewers: bool,
    yield_only_transcoding: bool,
}

pub fn view(state: &AppState) -> View {
    let s = state.engine.integrations.masked();
    let services = Service::ALL
        .into_iter()
        .map(|svc| {
            let saved = s.service(svc);
            ServiceRow {
                name: svc.name(),
                label: svc.label(),
                url: saved.map(|x| x.url.clone()).unwrap_or_default(),
                key: saved.map(|x| x.api_key.clone()),
                verify_tls: saved.is_none_or(|x| x.verify_tls),
            }
        })
        .collect();
    let blank = MAX_PATH_MAP
        .saturating_sub(s.path_map.len())
        .min(BLANK_ROWS);
    let rows = (0..s.path_map.len() + blank)
        .map(|i| {
            let m = s.path_map.get(i);
            MapRow {
                index: i,
                remote: m.map(|m| m.remote.clone()).unwrap_or_default(),
                local: m.map(|m| m.local.clone()).unwrap_or_default(),
            }
        })
        .collect();
    View {
        services,
        rows,
        yield_to_viewers: s.yield_to_viewers,
        yield_only_transcoding: s.yield_only_transcoding,
    }
}

fn bad(message: impl Into<String>) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, message.into())
}

/// `POST /system/integrations`.
pub async fn save(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let stored = state.engine.integrations.masked();
    let mut settings = IntegrationsSettings {
        yield_to_viewers: form.get("yield_to_viewers").is_some(),
        yield_only_transcoding: form.get("yield_only_transcoding").is_some(),
        ..Default::default()
    };
    for svc in Service::ALL {
        let name = svc.name();
        let Some(url) = form.get(&format!("{name}_url")) else {
            continue; // no address: not configured
        };
        // An empty key field keeps the stored key (sent masked, as the API takes it back).
        let api_key = match form.get(&format!("{name}_key")) {
            Some(k) => k.to_string(),
            None => stored
                .service(svc)
                .map(|s| s.api_key.clone())
                .ok_or_else(|| bad(format!("{}: enter its API key.", svc.label())))?,
        };
        // A box to tick to skip the check, so a form without it verifies (the safe default).
        let entry = Some(ServiceSettings {
            url: url.to_string(),
            api_key,
            verify_tls: form.get(&format!("{name}_insecure")).is_none(),
        });
        match svc {
            Service::Jellyfin => settings.jellyfin = entry,
            Service::Emby => settings.emby = entry,
            Service::Plex => settings.plex = entry,
            Service::Sonarr => settings.sonarr = entry,
            Service::Radarr => settings.radarr = entry,
        }
    }
    for i in 0..MAX_PATH_MAP + BLANK_ROWS {
        let remote = form.get(&format!("m{i}_remote")).unwrap_or_default();
        let local = form.get(&format!("m{i}_local")).unwrap_or_default();
        if remote.is_empty() && local.is_empty() {
            continue;
        }
        settings.path_map.push(PathMap {
            remote: remote.to_string(),
            local: local.to_string(),
        });
    }
    match state.engine.integrations.set(settings).await {
        Ok(saved) => {
            let n = Service::ALL
                .into_iter()
                .filter(|s| saved.service(*s).is_some())
                .count();
            let text = format!(
                "Integrations saved: {n} service(s), {} path map entr{}.",
                saved.path_map.len(),
                if saved.path_map.len() == 1 {
                    "y"
                } else {
                    "ies"
                }
            );
            Ok(redirect(&state, "/system#integrations", Flash::new(text)))
        }
        Err(IntegrationsError::Invalid(why)) => Err(bad(format!(
            "The integrations were not saved: {}: {}.",
            why.field, why.message
        ))),
        Err(IntegrationsError::Store(e)) => Err(e.into()),
    }
}

/// `POST /system/integrations/{service}/test`: try the saved settings, answer in the flash.
pub async fn test(
    State(state): State<AppState>,
    ApiPath(service): ApiPath<String>,
) -> Result<Response, PageError> {
    let service = Service::parse(&service)
        .ok_or_else(|| PageError::new(StatusCode::NOT_FOUND, "No such service."))?;
    let label = service.label();
    let text = match state.engine.integrations.test(service).await {
        Ok(detail) => format!("{label}: connected to {detail}."),
        Err(e) => {
            tracing::warn!(service = service.name(), code = e.code(), error = %e, "integration test failed");
            format!("{label}: the test failed: {e}.")
        }
    };
    Ok(redirect(&state, "/system#integrations", Flash::new(text)))
}
