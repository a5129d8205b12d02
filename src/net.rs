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

/// Why a call failed, in words for the page that shows it (a delivery log, a "test connection"):
/// the common network failures say what to check; anything else is ureq's own description.
/// Nothing in it comes from the URL, so no token in one is shown.
pub(crate) fn failure_in_words(e: &ureq::Error) -> String {
    use std::io::ErrorKind;
    if let Some(why) = tls_failure(e) {
        return format!("the TLS connection failed: {why}");
    }
    match e {
        ureq::Error::BadUri(_) => "the URL is not valid".into(),
        ureq::Error::Http(e) => format!("the URL or a header is not valid: {e}"),
        ureq::Error::HostNotFound => "the host name was not found (DNS)".into(),
        ureq::Error::Timeout(_) => "no answer in time".into(),
        ureq::Error::ConnectionFailed => "could not connect".into(),
        ureq::Error::Io(io) => match io.kind() {
            ErrorKind::ConnectionRefused => {
                "connection refused: nothing answers at that address and port".into()
            }
            ErrorKind::TimedOut => "no answer in time".into(),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                "the connection was cut by the other side".into()
            }
            ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => {
                "the address cannot be reached from this box (no route)".into()
            }
            _ => format!("network error: {io}"),
        },
        other => other.to_string(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_and_a_bad_url_are_said_in_words() {
        // ureq's own words: "io: Connection refused (os error 111)", "http: invalid authority".
        // A port that was just free: nothing listens there, so the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let a = agent(Duration::from_secs(5), None, true);
        let e = a
            .get(&format!("http://127.0.0.1:{port}/hook?token=secret"))
            .call()
            .unwrap_err();
        let said = failure_in_words(&e);
        assert!(said.starts_with("connection refused"), "{said}");
        assert!(!said.contains("secret"), "{said}");
        let e = a.get("http://[::1").call().unwrap_err();
        let said = failure_in_words(&e);
        assert!(said.starts_with("the URL"), "{said}");
    }
}
