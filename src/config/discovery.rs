//! The `[discovery]` table: announcing the box over mDNS (`discovery`), so a browser on the
//! LAN reaches it as `http://alchemist.local:PORT/` without knowing its address. Off unless
//! configured (the appliance's first boot turns it on): on a desktop or server it would
//! advertise a service the owner may not want seen.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The `.local` name announced when none is configured.
pub const DEFAULT_MDNS_HOSTNAME: &str = "alchemist";

/// `[discovery]` as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscoveryFile {
    pub mdns: Option<bool>,
    /// The name announced as `NAME.local` (also the service instance name).
    pub hostname: Option<String>,
}

/// Validated `[discovery]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverySettings {
    pub mdns: bool,
    /// A single DNS label, lower case, without `.local`.
    pub hostname: String,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        DiscoverySettings {
            mdns: false,
            hostname: DEFAULT_MDNS_HOSTNAME.to_string(),
        }
    }
}

/// Validate `[discovery]`. Pure.
pub fn discovery_settings(file: &DiscoveryFile) -> Result<DiscoverySettings, ConfigError> {
    let d = DiscoverySettings::default();
    let hostname = match &file.hostname {
        None => d.hostname,
        Some(name) => {
            let name = name.trim().trim_end_matches('.');
            let name = name
                .strip_suffix(".local")
                .unwrap_or(name)
                .to_ascii_lowercase();
            let label_ok = (1..=63).contains(&name.len())
                && !name.starts_with('-')
                && !name.ends_with('-')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !label_ok {
                return Err(ConfigError::Invalid {
                    key: "discovery.hostname",
                    message: format!(
                        "`{name}` is not a host name (letters, digits and -, at most 63)"
                    ),
                });
            }
            name
        }
    };
    Ok(DiscoverySettings {
        mdns: file.mdns.unwrap_or(d.mdns),
        hostname,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_is_one_label() {
        let s = |h: &str| {
            discovery_settings(&DiscoveryFile {
                mdns: Some(true),
                hostname: Some(h.into()),
            })
        };
        assert_eq!(s("Media-Box.local.").unwrap().hostname, "media-box");
        assert!(s("a.b").is_err());
        assert!(s("-x").is_err());
        assert!(s("").is_err());
        let d = discovery_settings(&DiscoveryFile::default()).unwrap();
        assert!(!d.mdns);
        assert_eq!(d.hostname, "alchemist");
    }
}
