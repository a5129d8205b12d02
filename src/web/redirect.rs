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

use super::host::{AllowedHosts, bare_host};

/// Paths answered over plain HTTP as well.
const PLAIN_PATHS: &[&str] = &[
    "/api/health",
    "/api/ready",
    "/api/v1/health",
    "/api/v1/ready",
];

/// `app` behind a redirect to `https://<host>[:https_port]/<path>` for all but the probes.
/// The redirect names only a host the box answers for (`hosts`); any other gets 421, so the
/// plain-HTTP port cannot send a browser to an attacker's name.
pub fn https_redirect(app: Router, https_port: u16, hosts: AllowedHosts) -> Router {
    app.layer(middleware::from_fn(move |req: Request, next: Next| {
        let hosts = hosts.clone();
        async move {
            if PLAIN_PATHS.contains(&req.uri().path()) {
                return next.run(req).await;
            }
            redirect(&req, https_port, &hosts)
        }
    }))
}

fn redirect(req: &Request, https_port: u16, hosts: &AllowedHosts) -> Response {
    let header = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let Some(host) = bare_host(header).filter(|_| hosts.allows(header)) else {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "Use https:// with this box's address or name.\n",
        )
            .into_response();
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
