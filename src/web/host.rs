//! The Host allowlist, against DNS rebinding: a page on an attacker's domain that resolves to
//! the box must not be able to talk to it as its own origin (that is how it would create the
//! first admin, or use a logged-in browser). The server answers only for `localhost`, the
//! box's host name and `NAME.local`, names the owner configures (`[security] allowed_hosts`),
//! and IP addresses (a rebinding attack needs a domain name, never an address). Anything else
//! gets 421 on every route except the health and readiness probes. A name the box comes to
//! announce while it runs (mDNS took `alchemist-2.local` because another device had
//! `alchemist.local`) is added then ([`AllowedHosts::add`]).

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Paths answered whatever the Host: monitors probe the box by any name.
const PROBES: [&str; 4] = [
    "/api/health",
    "/api/ready",
    "/api/v1/health",
    "/api/v1/ready",
];

/// The names the server answers for. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    names: Arc<Vec<String>>,
    /// Names added while the server runs.
    added: Arc<RwLock<Vec<String>>>,
}

impl AllowedHosts {
    /// `localhost`, `hostname`, `hostname.local` and the `configured` names.
    pub fn new(hostname: &str, configured: &[String]) -> AllowedHosts {
        let hostname = hostname.trim().trim_end_matches('.').to_ascii_lowercase();
        let mut names = vec!["localhost".to_string()];
        if !hostname.is_empty() {
            names.push(format!("{hostname}.local"));
            names.push(hostname);
        }
        names.extend(configured.iter().map(|n| n.to_ascii_lowercase()));
        AllowedHosts {
            names: Arc::new(names),
            added: Arc::default(),
        }
    }

    /// Answer for `name` too, from now on.
    pub fn add(&self, name: &str) {
        let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
        let mut added = self.added.write().unwrap_or_else(|p| p.into_inner());
        if !name.is_empty() && !self.names.contains(&name) && !added.contains(&name) {
            added.push(name);
        }
    }

    /// Whether a `Host` header value names this box.
    pub fn allows(&self, host: &str) -> bool {
        let Some(name) = bare_host(host) else {
            return false;
        };
        if name.starts_with('[') || name.parse::<IpAddr>().is_ok() {
            return name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .is_ok();
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.names.contains(&name)
            || self
                .added
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&name)
    }
}

/// `nas:80` → `nas`, `[fe80::1]:80` → `[fe80::1]`; `None` for an empty or malformed host.
pub fn bare_host(host: &str) -> Option<&str> {
    let host = host.trim();
    let bare = if host.starts_with('[') {
        &host[..=host.find(']')?]
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    let ok = !bare.is_empty()
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._[]:".contains(c));
    ok.then_some(bare)
}

/// Middleware: 421 for a Host this box does not answer for.
pub async fn check_host(State(hosts): State<AllowedHosts>, req: Request, next: Next) -> Response {
    if PROBES.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if hosts.allows(host) {
        return next.run(req).await;
    }
    ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        "HOST_NOT_ALLOWED",
        "This server does not answer for that host name. Use its address, its name or a name \
         listed in [security] allowed_hosts.",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_its_addresses_and_configured_names_only() {
        let hosts = AllowedHosts::new("NAS", &["media.home.arpa".into()]);
        for ok in [
            "nas",
            "NAS:3000",
            "nas.local",
            "nas.local.",
            "localhost:3000",
            "media.home.arpa",
            "127.0.0.1:3000",
            "192.168.1.20",
            "[::1]:443",
            "[fe80::1]",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "nas.evil.example",
            "evil.example:3000",
            "",
            "[::1",
            "nas/x",
            "localhost.evil.example",
        ] {
            assert!(!hosts.allows(bad), "{bad}");
        }
        // A name added later holds for every clone (the router's copy).
        let router = hosts.clone();
        assert!(!router.allows("alchemist-2.local"));
        hosts.add("Alchemist-2.local.");
        assert!(router.allows("alchemist-2.local:3000"));
        assert!(!router.allows("alchemist-3.local"));
    }

    #[test]
    fn bare_hosts() {
        assert_eq!(bare_host("nas:80"), Some("nas"));
        assert_eq!(bare_host("nas"), Some("nas"));
        assert_eq!(bare_host("10.0.2.15:8080"), Some("10.0.2.15"));
        assert_eq!(bare_host("[fe80::1]:80"), Some("[fe80::1]"));
        assert_eq!(bare_host("[fe80::1"), None);
        assert_eq!(bare_host("evil/x:80"), None);
        assert_eq!(bare_host(""), None);
    }
}
