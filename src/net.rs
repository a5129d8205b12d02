//! The one outbound HTTP client setup of the binary: a `ureq` agent over rustls with ring and
//! the bundled web PKI roots (the static musl build has no system CA store, and aws-lc or
//! OpenSSL would not build there). Used by the notifications and the integrations; both run it
//! on the blocking pool since `ureq` is blocking. Statuses come back as answers, not errors, so
//! each caller decides what a 401 or a 503 means.

use std::time::Duration;

use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

/// An agent whose whole call (connection, TLS, answer) ends within `timeout`, the connection
/// within `connect` when given. With `verify_tls` false the server's certificate is not
/// checked at all: for a LAN service with a self-signed certificate, which the owner chose
/// per service (the traffic is still encrypted, but not protected from an active attacker).
pub(crate) fn agent(timeout: Duration, connect: Option<Duration>, verify_tls: bool) -> ureq::Agent {
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::WebPki)
        .disable_verification(!verify_tls)
        .build();
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .timeout_connect(connect)
        .http_status_as_error(false)
        .user_agent(concat!("alchemist/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build()
        .into()
}

/// The TLS failure in `e`, described, when it is one (a certificate not trusted, expired or
/// for another name; a handshake refused), so callers can report it apart from a network error.
pub(crate) fn tls_failure(e: &ureq::Error) -> Option<String> {
    match e {
        ureq::Error::Rustls(r) => Some(r.to_string()),
        ureq::Error::Tls(s) => Some((*s).to_string()),
        ureq::Error::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .map(ToString::to_string),
        _ => None,
    }
}
