//! Links to the owner's media servers and download managers: Jellyfin, Emby, Plex, Sonarr and
//! Radarr. [`Integrations`] is the handle: the settings (each service's URL and API key, the
//! path map between their paths and ours, `yield_to_viewers`), checked and persisted under one
//! store key; keys never leave it in full (`masked`), and a save that sends a masked key back
//! keeps the stored one. `client` makes the outbound calls (test connection, refresh, rescan);
//! `notifier` is the worker that tells every configured service after a file changed (an
//! output promoted, an original replaced or restored), retrying with backoff and never
//! holding up a job; `paths` translates paths through the map both ways.

pub mod client;
mod notifier;
pub mod paths;
mod viewers;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::ToSchema;

pub(crate) use notifier::Notifier;
pub use paths::PathMap;
pub(crate) use viewers::Viewers;

use crate::store::{Store, StoreError};

/// Store key of the integrations settings.
const SETTING: &str = "integrations";
/// Changed files waiting for the notifier; beyond this a change is dropped with a warning
/// (the next scan of the media server finds it anyway).
const QUEUE: usize = 1024;
/// Longest URL or key accepted: real ones are far shorter; this bounds what is stored.
const MAX_FIELD: usize = 2048;
/// Most path map entries.
pub const MAX_PATH_MAP: usize = 64;

/// The services, as named in the API paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    Jellyfin,
    Emby,
    Plex,
    Sonarr,
    Radarr,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::Jellyfin,
        Service::Emby,
        Service::Plex,
        Service::Sonarr,
        Service::Radarr,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Service::Jellyfin => "jellyfin",
            Service::Emby => "emby",
            Service::Plex => "plex",
            Service::Sonarr => "sonarr",
            Service::Radarr => "radarr",
        }
    }

    /// Shown in logs and pages.
    pub fn label(self) -> &'static str {
        match self {
            Service::Jellyfin => "Jellyfin",
            Service::Emby => "Emby",
            Service::Plex => "Plex",
            Service::Sonarr => "Sonarr",
            Service::Radarr => "Radarr",
        }
    }

    pub fn parse(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One service's address and key. In responses `api_key` is masked (`…` and its last 4
/// characters); a request that sends the masked value back keeps the stored key.
/// `verify_tls` (default true) checks an `https://` service's certificate against the web PKI
/// roots; false accepts any certificate, for a self-signed one on the LAN (still encrypted,
/// but open to an active attacker on the network, so the owner turns it off per service).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// `http://host:port` or `https://host:port` (with a base path if the service has one).
    #[schema(example = "http://192.168.1.20:8096")]
    pub url: String,
    #[schema(example = "…a1b2")]
    pub api_key: String,
    /// Check an `https://` service's certificate (ignored for `http://`).
    #[serde(default = "verify_by_default")]
    #[schema(default = true)]
    pub verify_tls: bool,
}

fn verify_by_default() -> bool {
    true
}

/// `GET/PUT /api/settings/integrations`. A service left `null` is not configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationsSettings {
    #[serde(default)]
    pub jellyfin: Option<ServiceSettings>,
    #[serde(default)]
    pub emby: Option<ServiceSettings>,
    #[serde(default)]
    pub plex: Option<ServiceSettings>,
    #[serde(default)]
    pub sonarr: Option<ServiceSettings>,
    #[serde(default)]
    pub radarr: Option<ServiceSettings>,
    /// Their paths (`remote`) and ours (`local`); the longest matching prefix wins.
    #[serde(default)]
    pub path_map: Vec<PathMap>,
    /// Suspend encodes while someone watches on Jellyfin, Emby or Plex.
    #[serde(default)]
    pub yield_to_viewers: bool,
    /// With `yield_to_viewers`: yield only to streams the media server transcodes (direct
    /// play costs the box almost nothing, a transcode competes with the encode for the CPU).
    #[serde(default)]
    pub yield_only_transcoding: bool,
}

impl IntegrationsSettings {
    pub fn service(&self, s: Service) -> Option<&ServiceSettings> {
        match s {
            Service::Jellyfin => self.jellyfin.as_ref(),
            Service::Emby => self.emby.as_ref(),
            Service::Plex => self.plex.as_ref(),
            Service::Sonarr => self.sonarr.as_ref(),
            Service::Radarr => self.radarr.as_ref(),
        }
    }

    fn service_mut(&mut self, s: Service) -> &mut Option<ServiceSettings> {
        match s {
            Service::Jellyfin => &mut self.jellyfin,
            Service::Emby => &mut self.emby,
            Service::Plex => &mut self.plex,
            Service::Sonarr => &mut self.sonarr,
            Service::Radarr => &mut self.radarr,
        }
    }

    /// The same settings with every key masked, as responses show them.
    pub fn masked(&self) -> IntegrationsSettings {
        let mut out = self.clone();
        for s in Service::ALL {
            if let Some(svc) = out.service_mut(s) {
                svc.api_key = mask(&svc.api_key);
            }
        }
        out
    }
}

/// `…` and the key's last 4 characters (keys shorter than 8 show nothing of themselves).
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 8 {
        return "…".into();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("…{tail}")
}

/// A refused settings value: which field and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Why the settings could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationsError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Check `new`, taking a masked key back from `old`.
fn check(
    mut new: IntegrationsSettings,
    old: &IntegrationsSettings,
) -> Result<IntegrationsSettings, Invalid> {
    for s in Service::ALL {
        let old_key = old.service(s).map(|o| o.api_key.clone());
        let Some(svc) = new.service_mut(s) else {
            continue;
        };
        let field = s.name();
        svc.url = svc.url.trim().trim_end_matches('/').to_string();
        let url: axum::http::Uri = svc.url.parse().map_err(|_| {
            invalid(
                format!("{field}.url"),
                "is not a URL (http://host:port or https://host:port)",
            )
        })?;
        if !matches!(url.scheme_str(), Some("http" | "https")) {
            return Err(invalid(
                format!("{field}.url"),
                "must start with http:// or https://",
            ));
        }
        if url.host().is_none_or(str::is_empty) || svc.url.len() > MAX_FIELD {
            return Err(invalid(format!("{field}.url"), "needs a host"));
        }
        if let Some(old_key) = old_key.filter(|k| *k != svc.api_key && mask(k) == svc.api_key) {
            svc.api_key = old_key;
        }
        let key = svc.api_key.trim();
        if key.is_empty() || key.starts_with('…') {
            return Err(invalid(format!("{field}.api_key"), "is required"));
        }
        if key.len() > MAX_FIELD || key.chars().any(|c| c.is_control() || c == ' ') {
            return Err(invalid(
                format!("{field}.api_key"),
                "has characters a key cannot have",
            ));
        }
        svc.api_key = key.to_string();
    }
    if new.path_map.len() > MAX_PATH_MAP {
        return Err(invalid(
            "path_map",
            format!("at most {MAX_PATH_MAP} entries"),
        ));
    }
    for (i, m) in new.path_map.iter_mut().enumerate() {
        m.check()
            .map_err(|(which, why)| invalid(format!("path_map[{i}].{which}"), why))?;
    }
    Ok(new)
}

/// Handle to the integrations. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Integrations {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: Mutex<IntegrationsSettings>,
    changed: mpsc::Sender<PathBuf>,
    http: client::Http,
    /// Wakes the viewer watch after a save (a permit is kept while it works).
    saved: tokio::sync::Notify,
}

impl Integrations {
    /// The saved settings, and the notifier that serves them (its queue's other end).
    pub async fn load(
        store: Store,
        events: &crate::events::EventBus,
    ) -> Result<(Integrations, Notifier), StoreError> {
        let stored = store.call(|s| s.setting(SETTING)).await?;
        let settings = stored
            .map(serde_json::from_value::<IntegrationsSettings>)
            .transpose()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "the stored integrations are unreadable; none in use");
                None
            })
            .unwrap_or_default();
        let (tx, rx) = mpsc::channel(QUEUE);
        let me = Integrations {
            inner: Arc::new(Inner {
                store: store.clone(),
                settings: Mutex::new(settings),
                changed: tx,
                http: client::Http::new(),
                saved: tokio::sync::Notify::new(),
            }),
        };
        let notifier = Notifier::new(me.clone(), store, rx, events);
        Ok((me, notifier))
    }

    fn lock(&self) -> MutexGuard<'_, IntegrationsSettings> {
        self.inner
            .settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The settings with their keys in full: for the outbound calls only, never a response.
    pub(crate) fn settings(&self) -> IntegrationsSettings {
        self.lock().clone()
    }

    /// The settings as responses show them.
    pub fn masked(&self) -> IntegrationsSettings {
        self.lock().masked()
    }

    pub(crate) fn http(&self) -> &client::Http {
        &self.inner.http
    }

    /// Check, persist and apply the owner's settings; returns them masked.
    pub async fn set(
        &self,
        new: IntegrationsSettings,
    ) -> Result<IntegrationsSettings, IntegrationsError> {
        let checked = check(new, &self.settings())?;
        let value =
            serde_json::to_value(&checked).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.inner
            .store
            .call(move |s| s.set_setting(SETTING, &value))
            .await?;
        let masked = checked.masked();
        *self.lock() = checked;
        self.inner.saved.notify_one();
        Ok(masked)
    }

    /// Resolves after the next save.
    pub(super) async fn saved(&self) {
        self.inner.saved.notified().await;
    }

    /// Tell the configured services that `path` (ours) changed. Never waits: the notifier
    /// does the calls.
    pub fn changed(&self, path: &Path) {
        if let Err(e) = self.inner.changed.try_send(path.to_path_buf()) {
            tracing::warn!(path = ?path, error = %e, "integrations: change not queued");
        }
    }

    /// Our path for a service's `remote` one, through the path map.
    pub fn to_local(&self, remote: &str) -> Option<PathBuf> {
        paths::to_local(&self.lock().path_map, remote)
    }

    /// Try one service with its saved settings.
    pub async fn test(&self, service: Service) -> Result<String, client::CallError> {
        let Some(svc) = self.settings().service(service).cloned() else {
            return Err(client::CallError::NotConfigured);
        };
        client::test(self.http(), service, &svc).await
    }
}

#[cfg(test)]
mod tests;
