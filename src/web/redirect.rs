//! The plain-HTTP side of an HTTPS server: every request is redirected to the same path over
//! HTTPS, except the health and readiness probes, which answer here too. Probes come from
//! monitoring scripts, load balancers and the boot tests, which should not have to trust the
//! box's self-signed certificate to ask whether it is up; they carry no credentials and
//! reveal nothing but liveness. Everything else (pages, logins, the API) only ever runs over
//! TLS, and the session cookie is `Secure`, so a browser never sends it here.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

/// Paths answered over plain HTTP as well.
const PLAIN_PATHS: &[&str] = &[
    "/api/health",
    "/api/ready",
    "/api/v1/health",
    "/api/v1/ready",
];

/// `app` behind a redirect to `https://<host>[:https_port]/<path>` for all but the probes.
pub fn https_redirect(app: Router, https_port: u16) -> Router {
    app.layer(middleware::from_fn(
        move |req: Request, next: Next| async move {
            if PLAIN_PATHS.contains(&req.uri().path()) {
                return next.run(req).await;
            }
            redirect(&req, https_port)
        },
    ))
}

fn redirect(req: &Request, https_port: u16) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(host_without_port);
    let Some(host) = host else {
        return (StatusCode::BAD_REQUEST, "Use https:// (no Host header).\n").into_response();
    };
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let location = format!("https://{host}{port}{path}");
    match HeaderValue::from_str(&location) {
        // 308 keeps the method and body, so an API client's POST is retried as a POST.
        Ok(v) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "Use https://.\n").into_response(),
    }
}

/// `nas:80` → `nas`, `[fe80::1]:80` → `[fe80::1]`; None for an empty or malformed host.
fn host_without_port(host: &str) -> Option<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(host_without_port("nas:80"), Some("nas"));
        assert_eq!(host_without_port("nas"), Some("nas"));
        assert_eq!(host_without_port("10.0.2.15:8080"), Some("10.0.2.15"));
        assert_eq!(host_without_port("[fe80::1]:80"), Some("[fe80::1]"));
        assert_eq!(host_without_port("[fe80::1"), None);
        assert_eq!(host_without_port("evil/x:80"), None);
        assert_eq!(host_without_port(""), None);
    }
}
