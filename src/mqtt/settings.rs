//! The MQTT settings: kept as JSON under one key of the store's settings table, checked before
//! they are saved, and shown with the password masked. The API and the system page both save
//! through [`save`], which publishes a `config_updated` event naming [`KEY`]: the MQTT worker
//! listens for it and reconnects with the new settings, so no handle has to be shared.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::events::{Event, EventBus};
use crate::store::{Store, StoreError};

/// Settings key in the store, and the key named by the `config_updated` event on a save.
pub const KEY: &str = "mqtt";
/// What a stored password is shown as: never the password itself.
pub const MASK: &str = "********";
/// Longest host name DNS allows.
const MAX_HOST: usize = 253;
/// Generous bounds on free text, so a stored setting stays small.
const MAX_CREDENTIAL: usize = 256;
const MAX_PREFIX: usize = 100;
/// The MQTT default ports, for the plain and the TLS connection.
pub const PORT: u16 = 1883;

/// The settings as stored (the password in full: the client needs it to log in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MqttSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub tls: bool,
    pub discovery_prefix: String,
}

impl Default for MqttSettings {
    fn default() -> Self {
        MqttSettings {
            enabled: false,
            host: String::new(),
            port: PORT,
            username: None,
            password: None,
            tls: false,
            discovery_prefix: "homeassistant".into(),
        }
    }
}

/// `GET/PUT /api/settings/mqtt`. On a read `password` is `"********"` when one is stored and
/// null when none is. On a write, null or the mask keeps the stored password, `""` removes it
/// and anything else replaces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MqttSettingsBody {
    /// Connect and publish to Home Assistant.
    pub enabled: bool,
    /// The broker's host name or IP address (needed when enabled).
    pub host: String,
    /// The broker's port, 1-65535 (usually 1883, or 8883 with TLS).
    pub port: u32,
    /// Login name at the broker; null or empty for none.
    #[serde(default)]
    pub username: Option<String>,
    /// See the type's description: masked on read.
    #[serde(default)]
    pub password: Option<String>,
    /// Connect over TLS (the system's certificate authorities verify the broker).
    pub tls: bool,
    /// Home Assistant's discovery prefix: `homeassistant` unless changed there.
    pub discovery_prefix: String,
}

/// A refused setting: which field and why.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("`{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: &'static str,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: &'static str) -> MqttError {
    MqttError::Invalid { field, message }
}

impl MqttSettings {
    /// The settings as the API and the page show them.
    pub fn view(&self) -> MqttSettingsBody {
        MqttSettingsBody {
            enabled: self.enabled,
            host: self.host.clone(),
            port: u32::from(self.port),
            username: self.username.clone(),
            password: self.password.as_ref().map(|_| MASK.to_string()),
            tls: self.tls,
            discovery_prefix: self.discovery_prefix.clone(),
        }
    }

    /// `body` applied over these settings (which give the password a masked or null body
    /// keeps), checked. Pure.
    pub fn apply(&self, body: MqttSettingsBody) -> Result<MqttSettings, MqttError> {
        let host = body.host.trim().to_string();
        if host.len() > MAX_HOST || host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(invalid("host", "must be a host name or an IP address"));
        }
        if body.enabled && host.is_empty() {
            return Err(invalid("host", "is needed to connect"));
        }
        let port = u16::try_from(body.port)
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| invalid("port", "must be between 1 and 65535"))?;
        let prefix = body.discovery_prefix.trim().to_string();
        if prefix.is_empty()
            || prefix.len() > MAX_PREFIX
            || prefix.starts_with('/')
            || prefix.ends_with('/')
            || prefix
                .chars()
                .any(|c| matches!(c, '+' | '#' | '\0') || c.is_whitespace())
        {
            return Err(invalid(
                "discovery_prefix",
                "must be a topic without wildcards, spaces or a leading or trailing `/`",
            ));
        }
        let username = body.username.filter(|u| !u.is_empty());
        if username.as_ref().is_some_and(|u| u.len() > MAX_CREDENTIAL) {
            return Err(invalid("username", "must be at most 256 bytes"));
        }
        let password = match body.password {
            None => self.password.clone(),
            Some(p) if p == MASK => self.password.clone(),
            Some(p) if p.is_empty() => None,
            Some(p) if p.len() > MAX_CREDENTIAL => {
                return Err(invalid("password", "must be at most 256 bytes"));
            }
            Some(p) => Some(p),
        };
        Ok(MqttSettings {
            enabled: body.enabled,
            host,
            port,
            username,
            password,
            tls: body.tls,
            discovery_prefix: prefix,
        })
    }
}

/// The stored settings, or the defaults (off).
pub fn load(store: &Store) -> Result<MqttSettings, StoreError> {
    match store.setting(KEY)? {
        Some(v) => serde_json::from_value(v).map_err(|e| StoreError::Corrupt(e.to_string())),
        None => Ok(MqttSettings::default()),
    }
}

/// Check and store `body`, then tell the worker; returns what is now in force, masked.
pub async fn save(
    store: &Store,
    events: &EventBus,
    body: MqttSettingsBody,
) -> Result<MqttSettingsBody, MqttError> {
    let current = store.call(load).await?;
    let next = current.apply(body)?;
    let value = serde_json::to_value(&next).map_err(|e| StoreError::Invalid(e.to_string()))?;
    store.call(move |s| s.set_setting(KEY, &value)).await?;
    events.publish(Event::ConfigUpdated {
        keys: vec![KEY.to_string()],
    });
    Ok(next.view())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> MqttSettingsBody {
        MqttSettings {
            enabled: true,
            host: "broker.lan".into(),
            ..MqttSettings::default()
        }
        .view()
    }

    #[test]
    fn password_is_masked_kept_replaced_and_removed() {
        let stored = MqttSettings::default()
            .apply(MqttSettingsBody {
                password: Some("secret".into()),
                ..body()
            })
            .unwrap();
        assert_eq!(stored.password.as_deref(), Some("secret"));
        assert_eq!(stored.view().password.as_deref(), Some(MASK));
        let kept = stored.apply(stored.view()).unwrap();
        assert_eq!(kept.password.as_deref(), Some("secret"));
        let kept = stored.apply(MqttSettingsBody {
            password: None,
            ..body()
        });
        assert_eq!(kept.unwrap().password.as_deref(), Some("secret"));
        let cleared = stored.apply(MqttSettingsBody {
            password: Some(String::new()),
            ..body()
        });
        assert_eq!(cleared.unwrap().password, None);
    }

    #[test]
    fn bad_values_name_their_field() {
        let field = |b: MqttSettingsBody| match MqttSettings::default().apply(b) {
            Err(MqttError::Invalid { field, .. }) => field,
            other => panic!("accepted: {other:?}"),
        };
        assert_eq!(field(MqttSettingsBody { port: 0, ..body() }), "port");
        assert_eq!(
            field(MqttSettingsBody {
                port: 70000,
                ..body()
            }),
            "port"
        );
        assert_eq!(
            field(MqttSettingsBody {
                host: "".into(),
                ..body()
            }),
            "host"
        );
        assert_eq!(
            field(MqttSettingsBody {
                host: "a b".into(),
                ..body()
            }),
            "host"
        );
        let prefix = |p: &str| MqttSettingsBody {
            discovery_prefix: p.into(),
            ..body()
        };
        for p in ["", "ha/#", "/ha", "ha/", "h a"] {
            assert_eq!(field(prefix(p)), "discovery_prefix", "{p:?}");
        }
        // Off, no host is fine: the owner may fill it in later.
        let off = MqttSettingsBody {
            enabled: false,
            host: String::new(),
            ..body()
        };
        assert!(MqttSettings::default().apply(off).is_ok());
    }
}
