//! HTTPS end to end: `alchemist tls init` writes a certificate once (never over an existing
//! one), the real server serves it on 127.0.0.1:0 with TLS, a client that trusts only that
//! certificate gets answers, the session cookie is `Secure`, the plain-HTTP listener redirects
//! everything but the probes, and a bad certificate stops the start with the file's name.
//! `Https` is also the appliance tests' client for the box's first-boot certificate.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use alchemist::config::{Config, TlsSettings};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_util::sync::CancellationToken;

use crate::support::{ADMIN, PASSWORD, create_admin};

const BIN: &str = env!("CARGO_BIN_EXE_alchemist");

/// An HTTPS client for one server that trusts exactly the given PEM certificate(s) and checks
/// them against `server_name` (a DNS name or an IP address from the certificate's SANs).
pub struct Https {
    connector: tokio_rustls::TlsConnector,
    pub addr: SocketAddr,
    name: ServerName<'static>,
}

/// One answer.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Https {
    pub fn new(addr: SocketAddr, trusted_pem: &[u8], server_name: &str) -> Https {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(trusted_pem) {
            roots
                .add(cert.expect("PEM certificate"))
                .expect("a usable root");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Https {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            addr,
            name: ServerName::try_from(server_name.to_string()).expect("server name"),
        }
    }

    /// One request on a fresh connection. Err on connection, handshake or protocol failure.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        json: Option<&serde_json::Value>,
    ) -> Result<Reply, String> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let tls = tokio::time::timeout(
            Duration::from_secs(30),
            self.connector.connect(self.name.clone(), tcp),
        )
        .await
        .map_err(|_| "TLS handshake timed out".to_string())?
        .map_err(|e| format!("TLS handshake: {e}"))?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.name.to_str().as_ref());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match json {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(body)).map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(Duration::from_secs(60), send.send_request(req))
            .await
            .map_err(|_| "no answer within 60 s".to_string())?
            .map_err(|e| format!("request: {e}"))?;
        let (parts, body) = resp.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok(Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None)
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }
}

fn tls_init(dir: &Path, hostname: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["tls", "init", "--cert"])
        .arg(dir.join("tls/cert.pem"))
        .arg("--key")
        .arg(dir.join("tls/key.pem"))
        .args(["--hostname", hostname, "--ip", "192.0.2.7"])
        .output()
        .expect("run alchemist tls init")
}

/// The whole answer to a plain HTTP/1.1 GET (the redirect listener), read on a blocking thread.
async fn plain_get(addr: SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn tls_init_writes_once_and_the_server_answers_https_with_a_secure_cookie() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let (cert, key) = (
        tmp.path().join("tls/cert.pem"),
        tmp.path().join("tls/key.pem"),
    );

    // The certificate is written once; a second init refuses and leaves both files alone.
    let out = tls_init(tmp.path(), "nas-test");
    assert!(out.status.success(), "{out:?}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the key is private");
    let (cert_pem, key_pem) = (std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap());
    let again = tls_init(tmp.path(), "other-name");
    assert!(!again.status.success(), "a second init must refuse");
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already exists") && stderr.contains("cert.pem"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&cert).unwrap(),
        cert_pem,
        "cert not overwritten"
    );
    assert_eq!(std::fs::read(&key).unwrap(), key_pem, "key not overwritten");
    let fp = Command::new(BIN)
        .args(["tls", "fingerprint", "--cert"])
        .arg(&cert)
        .output()
        .unwrap();
    let fp = String::from_utf8_lossy(&fp.stdout);
    assert_eq!(
        fp.trim().split(':').count(),
        32,
        "SHA-256 as AB:CD:..: {fp}"
    );

    // The real server with TLS on 127.0.0.1:0 and the plain-HTTP redirect listener.
    let data_dir = tmp.path().join("data");
    let dir = data_dir.clone();
    tokio::task::spawn_blocking(move || create_admin(&dir))
        .await
        .unwrap();
    let mut config = Config::defaults(&data_dir);
    config.scan_on_start = false;
    config.tls = Some(TlsSettings {
        cert: cert.clone(),
        key: key.clone(),
        http_listen: None,
    });
    let main = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (addr, plain_addr) = (main.local_addr().unwrap(), plain.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let listeners = alchemist::Listeners {
        main,
        http_redirect: Some(plain),
    };
    let task = tokio::spawn(async move { alchemist::run_with(config, listeners, stop).await });

    // Trusting only the generated certificate, by each kind of name it carries.
    let https = Https::new(addr, &cert_pem, "nas-test.local");
    let mut health = None;
    for _ in 0..200 {
        if let Ok(r) = https.request("GET", "/api/health", &[], None).await {
            health = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let health = health.expect("HTTPS /api/health answers");
    assert_eq!(health.status, 200, "{}", health.text());
    assert_eq!(health.json()["status"], "ok");
    for name in ["nas-test", "localhost", "127.0.0.1", "192.0.2.7"] {
        let r = Https::new(addr, &cert_pem, name).get("/api/ready").await;
        assert_eq!(r.status, 200, "via {name}");
    }
    // The name must be in the certificate, and another certificate is not trusted.
    let wrong = Https::new(addr, &cert_pem, "elsewhere.example");
    let e = wrong.request("GET", "/api/health", &[], None).await.err();
    assert!(
        e.is_some_and(|e| e.contains("TLS")),
        "a foreign name is refused"
    );
    let other_dir = tempfile::tempdir().unwrap();
    assert!(tls_init(other_dir.path(), "nas-test").status.success());
    let other_pem = std::fs::read(other_dir.path().join("tls/cert.pem")).unwrap();
    let stranger = Https::new(addr, &other_pem, "nas-test");
    let e = stranger
        .request("GET", "/api/health", &[], None)
        .await
        .err();
    assert!(e.is_some_and(|e| e.contains("TLS")), "only our certificate");

    // Login over HTTPS: the cookie is Secure (and still HttpOnly, SameSite=Strict) and works.
    let body = serde_json::json!({"username": ADMIN, "password": PASSWORD});
    let login = https
        .request("POST", "/api/auth/login", &[], Some(&body))
        .await
        .unwrap();
    assert_eq!(login.status, 200, "{}", login.text());
    let cookie = login
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
    for wanted in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(attrs.contains(&wanted), "{wanted} in {cookie}");
    }
    let session = attrs[0];
    let jobs = https
        .request("GET", "/api/jobs", &[("cookie", session)], None)
        .await
        .unwrap();
    assert_eq!(jobs.status, 200, "{}", jobs.text());
    let logout = https
        .request("POST", "/api/auth/logout", &[("cookie", session)], None)
        .await
        .unwrap();
    assert!(logout.header("set-cookie").unwrap().contains("Secure"));

    // Plain HTTP: probes answer, everything else is sent to HTTPS with path and query.
    let probe = plain_get(plain_addr, "/api/health").await;
    assert!(probe.starts_with("HTTP/1.1 200"), "{probe}");
    let moved = plain_get(plain_addr, "/api/jobs?limit=5").await;
    assert!(moved.starts_with("HTTP/1.1 308"), "{moved}");
    let location = format!(
        "location: https://127.0.0.1:{}/api/jobs?limit=5",
        addr.port()
    );
    assert!(moved.to_ascii_lowercase().contains(&location), "{moved}");
    let page = plain_get(plain_addr, "/login").await;
    assert!(page.starts_with("HTTP/1.1 308"), "{page}");
    // The HTTPS port does not speak plain HTTP.
    let confused = plain_get(addr, "/api/health").await;
    assert!(!confused.contains("200 OK"), "{confused}");

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("stops")
        .unwrap()
        .expect("clean stop");
}

#[test]
fn a_bad_certificate_stops_the_start_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let serve = |cert: &Path, key: &Path| {
        Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .env("ALCHEMIST_TLS_CERT", cert)
            .env("ALCHEMIST_TLS_KEY", key)
            .env("ALCHEMIST_LOG", "warn")
            .output()
            .expect("run alchemist serve")
    };
    let missing = serve(&tmp.path().join("nope.pem"), &tmp.path().join("key.pem"));
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("TLS certificate") && err.contains("nope.pem"),
        "{err}"
    );

    let junk = tmp.path().join("junk.pem");
    std::fs::write(&junk, "hello").unwrap();
    assert!(tls_init(tmp.path(), "nas").status.success());
    let bad_key = serve(&tmp.path().join("tls/cert.pem"), &junk);
    assert!(!bad_key.status.success());
    let err = String::from_utf8_lossy(&bad_key.stderr);
    assert!(err.contains("TLS key") && err.contains("junk.pem"), "{err}");

    // Half a TLS configuration is a configuration error, not a silent plain-HTTP start.
    let half = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--tls-cert")
        .arg(tmp.path().join("tls/cert.pem"))
        .output()
        .unwrap();
    assert!(!half.status.success());
    let err = String::from_utf8_lossy(&half.stderr);
    assert!(err.contains("`cert` and `key`"), "{err}");
}
