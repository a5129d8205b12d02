//! What the update test needs beyond the JSON client of `appliance`: uploading a bundle as a
//! raw request body and following the install's progress as a browser does, over SSE, both over
//! HTTPS to a guest, trusting only the box's own first-boot certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::Value;

/// One authenticated HTTPS connection maker for a guest.
pub struct BoxHttps {
    connector: tokio_rustls::TlsConnector,
    addr: SocketAddr,
    name: ServerName<'static>,
    token: String,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

impl BoxHttps {
    pub fn new(addr: SocketAddr, cert_pem: &[u8], server_name: &str, token: &str) -> BoxHttps {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(cert_pem) {
            roots.add(cert.expect("PEM certificate")).expect("a root");
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        BoxHttps {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            addr,
            name: ServerName::try_from(server_name.to_string()).expect("server name"),
            token: token.to_string(),
        }
    }

    async fn connect(&self) -> Result<Sender, String> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let tls = self
            .connector
            .connect(self.name.clone(), tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        tokio::spawn(conn);
        Ok(send)
    }

    fn request(&self, method: &str, path: &str) -> hyper::http::request::Builder {
        hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", self.name.to_str().as_ref())
            .header("authorization", format!("Bearer {}", self.token))
    }

    /// POST `bytes` as an application/octet-stream body; the status and the JSON answer.
    pub async fn post_bytes(&self, path: &str, bytes: Vec<u8>) -> (u16, Value) {
        let mut send = self.connect().await.expect("connect to the box");
        let req = self
            .request("POST", path)
            .header("content-type", "application/octet-stream")
            .body(Full::new(Bytes::from(bytes)))
            .unwrap();
        let resp = send.send_request(req).await.expect("upload");
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.expect("answer").to_bytes();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// GET `path` as an event stream and collect the data of its `event` events (as JSON)
    /// until one satisfies `done`, the stream ends, or `timeout` passes (a failure).
    pub async fn follow(
        &self,
        path: &str,
        event: &str,
        done: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut send = self.connect().await.expect("connect to the box");
        let req = self
            .request("GET", path)
            .header("accept", "text/event-stream")
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = send.send_request(req).await.expect("event stream");
        assert_eq!(resp.status(), 200, "GET {path} as an event stream");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        let mut body = resp.into_body();
        let (mut text, mut seen) = (String::new(), Vec::new());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = tokio::time::timeout(left, body.frame()).await;
            let Ok(frame) = frame else {
                panic!("{path}: no {event} event satisfied the test within {timeout:?}: {seen:#?}");
            };
            let Some(frame) = frame else {
                return seen; // the server ended the stream
            };
            let Ok(data) = frame.expect("stream").into_data() else {
                continue;
            };
            text.push_str(&String::from_utf8_lossy(&data));
            while let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                let name = block.lines().find_map(|l| l.strip_prefix("event:"));
                let data = block.lines().find_map(|l| l.strip_prefix("data:"));
                if let (Some(name), Some(data)) = (name, data)
                    && name.trim() == event
                {
                    let value: Value = serde_json::from_str(data.trim()).expect("JSON event");
                    let finished = done(&value);
                    seen.push(value);
                    if finished {
                        return seen;
                    }
                }
            }
        }
    }
}
