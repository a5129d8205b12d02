//! Where the site is, as the browser sees it: the base path everything is served under
//! (`[proxy] base_path`), whether the browser speaks HTTPS to us (our own TLS, or
//! `X-Forwarded-Proto` from a trusted reverse proxy) and which address the client has (the TCP
//! peer, or `X-Forwarded-For` from a trusted proxy). The middleware here works it out once per
//! request: the client address goes into the request as [`ForwardedClient`], the base path and
//! the scheme into a task-local that cookie builders and the template renderer read (they run
//! inside the handler, often without the state at hand). It also puts the base path in front
//! of every `Location` the handlers send, so they keep redirecting to `/jobs` unaware of it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::ProxySettings;

tokio::task_local! {
    static SITE: Site;
}

/// The per-request view of the site.
#[derive(Debug, Clone)]
struct Site {
    base: Arc<str>,
    secure: bool,
}

/// What the middleware needs: the proxy settings and whether we serve TLS ourselves.
#[derive(Clone)]
pub struct SiteConfig {
    pub proxy: Arc<ProxySettings>,
    pub tls: bool,
}

/// The client's address given by a trusted proxy's `X-Forwarded-For`.
#[derive(Debug, Clone, Copy)]
pub struct ForwardedClient(pub IpAddr);

/// The base path of the current request's site: `""` at the root, else `/alchemist`.
/// Templates get it as `base`.
pub fn base() -> Arc<str> {
    SITE.try_with(|s| s.base.clone())
        .unwrap_or_else(|_| "".into())
}

/// The `Path` of our cookies: the base path, or `/`.
pub fn cookie_path() -> Arc<str> {
    let base = base();
    if base.is_empty() { "/".into() } else { base }
}

/// Whether the browser reached us over HTTPS; `tls` when called outside a request.
pub fn secure(tls: bool) -> bool {
    SITE.try_with(|s| s.secure).unwrap_or(tls)
}

/// The middleware (outermost on the application router).
pub async fn site(State(config): State<SiteConfig>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let mut secure = config.tls;
    if peer.is_some_and(|p| config.proxy.trusts(p)) {
        if let Some(client) = forwarded_for(req.headers(), &config.proxy) {
            req.extensions_mut().insert(ForwardedClient(client));
        }
        if let Some(https) = forwarded_https(req.headers()) {
            secure = https;
        }
    }
    let base: Arc<str> = config.proxy.base_path.as_str().into();
    let site = Site {
        base: base.clone(),
        secure,
    };
    let mut response = SITE.scope(site, next.run(req)).await;
    if !base.is_empty() {
        prefix_location(response.headers_mut(), &base);
    }
    response
}

/// A local redirect (`/jobs`, not `//host` or `https://...`) gets the base path in front.
fn prefix_location(headers: &mut HeaderMap, base: &str) {
    let Some(location) = headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    if !location.starts_with('/') || location.starts_with("//") {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{base}{location}")) {
        headers.insert(header::LOCATION, v);
    }
}

/// The client behind a chain of proxies: walking `X-Forwarded-For` from the right (the
/// entry our peer added), the first address that is not itself a trusted proxy. Entries
/// left of it were written by the client and prove nothing. An entry that is not an address
/// ends the walk; `None` when the header has no usable entry.
fn forwarded_for(headers: &HeaderMap, proxy: &ProxySettings) -> Option<IpAddr> {
    let joined = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(",");
    let mut found = None;
    for entry in joined.rsplit(',') {
        let Some(ip) = parse_entry(entry.trim()) else {
            break;
        };
        found = Some(ip);
        if !proxy.trusts(ip) {
            break;
        }
    }
    found
}

/// `203.0.113.7`, `2001:db8::7`, or with a port: `203.0.113.7:5000`, `[2001:db8::7]:5000`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// `X-Forwarded-Proto`: the first value is the scheme the browser used (later proxies append).
fn forwarded_https(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get("x-forwarded-proto")?.to_str().ok()?;
    let first = value.split(',').next()?.trim();
    if first.eq_ignore_ascii_case("https") {
        Some(true)
    } else if first.eq_ignore_ascii_case("http") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ProxyFile, proxy_settings};

    fn proxy(trusted: &[&str]) -> ProxySettings {
        proxy_settings(&ProxyFile {
            base_path: None,
            trusted_proxies: trusted.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_takes_the_first_untrusted_from_the_right() {
        let p = proxy(&["10.0.0.0/8"]);
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(forwarded_for(&xff(&["203.0.113.7"]), &p), ip("203.0.113.7"));
        // A client's own header is kept left of what the proxy adds; it is not believed.
        assert_eq!(
            forwarded_for(&xff(&["1.1.1.1, 203.0.113.7"]), &p),
            ip("203.0.113.7")
        );
        assert_eq!(
            forwarded_for(&xff(&["1.1.1.1", "203.0.113.7, 10.0.0.5"]), &p),
            ip("203.0.113.7")
        );
        assert_eq!(forwarded_for(&xff(&["10.0.0.9"]), &p), ip("10.0.0.9"));
        assert_eq!(
            forwarded_for(&xff(&["[2001:db8::7]:443"]), &p),
            ip("2001:db8::7")
        );
        assert_eq!(forwarded_for(&xff(&["junk"]), &p), None);
        assert_eq!(forwarded_for(&xff(&["203.0.113.7, junk"]), &p), None);
        assert_eq!(forwarded_for(&HeaderMap::new(), &p), None);
    }

    #[test]
    fn forwarded_proto() {
        let h = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-proto", v.parse().unwrap());
            h
        };
        assert_eq!(forwarded_https(&h("https")), Some(true));
        assert_eq!(forwarded_https(&h("HTTP, https")), Some(false));
        assert_eq!(forwarded_https(&h("gopher")), None);
        assert_eq!(forwarded_https(&HeaderMap::new()), None);
    }

    #[test]
    fn only_local_locations_get_the_prefix() {
        let mut h = HeaderMap::new();
        for (from, to) in [
            ("/jobs?x=1", "/alchemist/jobs?x=1"),
            ("//evil.example/", "//evil.example/"),
            ("https://nas/", "https://nas/"),
        ] {
            h.insert(header::LOCATION, from.parse().unwrap());
            prefix_location(&mut h, "/alchemist");
            assert_eq!(h[header::LOCATION], to);
        }
    }
}
