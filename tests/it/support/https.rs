//! An HTTPS client that trusts exactly the certificates it is given and checks them against a
//! server name: the TLS tests' client and the appliance tests' client for the box's own
//! first-boot certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

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
