//! The `[proxy]` table: running behind a reverse proxy. `base_path` serves everything (pages,
//! assets, the API, cookies) under a prefix such as `/alchemist`; `trusted_proxies` names the
//! peers (IP addresses or CIDR networks) whose `X-Forwarded-For` and `X-Forwarded-Proto` are
//! believed. From any other peer those headers are ignored, so a client cannot pick the address
//! its login attempts are throttled under.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[proxy]` as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyFile {
    /// Path prefix everything is served under, e.g. `/alchemist`; absent or `/` = the root.
    pub base_path: Option<String>,
    /// Peers allowed to set `X-Forwarded-For` / `X-Forwarded-Proto`: `10.0.0.2`, `10.0.0.0/24`.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// Validated `[proxy]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxySettings {
    /// `""` (the root) or a prefix starting with `/` and not ending with one.
    pub base_path: String,
    pub trusted_proxies: Vec<IpNet>,
}

impl ProxySettings {
    /// Whether `peer` may set the forwarding headers.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.trusted_proxies.iter().any(|net| net.contains(&peer))
    }
}

/// Validate `[proxy]`. Pure.
pub fn proxy_settings(file: &ProxyFile) -> Result<ProxySettings, ConfigError> {
    let base_path = match file.base_path.as_deref().map(str::trim) {
        None | Some("") | Some("/") => String::new(),
        Some(p) => base_path(p)?,
    };
    let trusted_proxies = file
        .trusted_proxies
        .iter()
        .map(|text| {
            let text = text.trim();
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| ConfigError::Invalid {
                    key: "proxy.trusted_proxies",
                    message: format!("`{text}` is not an IP address or network (10.0.0.0/8)"),
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(ProxySettings {
        base_path,
        trusted_proxies,
    })
}

/// `/alchemist` or `/apps/alchemist`: segments of URL-safe characters, so the prefix can go into
/// a route, a `Location`, a cookie's `Path` and an HTML attribute unescaped.
fn base_path(p: &str) -> Result<String, ConfigError> {
    let trimmed = p.trim_end_matches('/');
    let ok = trimmed.starts_with('/')
        && trimmed.len() <= 200
        && trimmed[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
        });
    if !ok {
        return Err(ConfigError::Invalid {
            key: "proxy.base_path",
            message: format!(
                "`{p}` is not a path prefix like /alchemist (letters, digits, - _ . ~ between slashes)"
            ),
        });
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base: Option<&str>, trusted: &[&str]) -> Result<ProxySettings, ConfigError> {
        proxy_settings(&ProxyFile {
            base_path: base.map(str::to_string),
            trusted_proxies: trusted.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn base_path_is_normalised_and_checked() {
        assert_eq!(settings(None, &[]).unwrap().base_path, "");
        assert_eq!(settings(Some("/"), &[]).unwrap().base_path, "");
        assert_eq!(
            settings(Some("/alchemist/"), &[]).unwrap().base_path,
            "/alchemist"
        );
        assert_eq!(
            settings(Some("/apps/alchemist"), &[]).unwrap().base_path,
            "/apps/alchemist"
        );
        for bad in ["alchemist", "/a//b", "/a b", "/a/../b", "/a\"b", "/a?x"] {
            assert!(settings(Some(bad), &[]).is_err(), "{bad}");
        }
    }

    #[test]
    fn trusted_proxies_take_addresses_and_networks() {
        let s = settings(None, &["10.0.0.2", "192.168.1.0/24", "fd00::/8"]).unwrap();
        assert!(s.trusts("10.0.0.2".parse().unwrap()));
        assert!(!s.trusts("10.0.0.3".parse().unwrap()));
        assert!(s.trusts("192.168.1.77".parse().unwrap()));
        assert!(s.trusts("::ffff:192.168.1.77".parse().unwrap()));
        assert!(s.trusts("fd12::1".parse().unwrap()));
        assert!(!s.trusts("127.0.0.1".parse().unwrap()));
        assert!(settings(None, &["10.0.0.0/33"]).is_err());
        assert!(settings(None, &["proxy.lan"]).is_err());
    }
}
