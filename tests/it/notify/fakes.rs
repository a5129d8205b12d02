//! Fake notification receivers inside the test binary, on loopback ports: an HTTP server (axum)
//! that records every request any service shape sends it and answers a chosen status, and a
//! tiny SMTP sink that speaks just enough SMTP (EHLO, MAIL, RCPT, DATA, QUIT) to accept
//! lettre's mail and keep it.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One request a fake service received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path and query.
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        let h = self
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name));
        h.map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

type Log = Arc<Mutex<Vec<Received>>>;
/// Mails received: the envelope lines (`MAIL FROM`, `RCPT TO`) and the data.
type Mails = Arc<Mutex<Vec<(Vec<String>, String)>>>;

/// A fake HTTP service answering every POST with `status`.
pub struct FakeHttp {
    pub base: String,
    log: Log,
}

impl FakeHttp {
    pub async fn start(status: u16) -> FakeHttp {
        let log = Log::default();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .fallback(record)
            .with_state((log.clone(), StatusCode::from_u16(status).unwrap()));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeHttp { base, log }
    }

    /// Requests received whose path starts with `prefix`.
    pub fn to(&self, prefix: &str) -> Vec<Received> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|r| r.uri.starts_with(prefix))
            .cloned()
            .collect()
    }
}

async fn record(State((log, status)): State<(Log, StatusCode)>, req: Request) -> StatusCode {
    let (parts, body) = req.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(parts.method, "POST", "every service is sent a POST");
    log.lock().unwrap().push(Received {
        uri: parts.uri.to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    status
}

/// A loopback SMTP sink keeping each mail's envelope and data.
pub struct SmtpSink {
    pub port: u16,
    pub mails: Mails,
    /// Every command line received, in order (binary noise such as a TLS hello included).
    pub commands: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Mails::default();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let (keep, heard) = (mails.clone(), commands.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (keep, heard) = (keep.clone(), heard.clone());
                tokio::spawn(async move {
                    let _ = session(socket, keep, heard).await;
                });
            }
        });
        SmtpSink {
            port,
            mails,
            commands,
        }
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    mails: Mails,
    heard: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut envelope = Vec::new();
    let mut lines = Vec::new();
    loop {
        // Bytes, not UTF-8 lines: a client that starts TLS sends a binary hello.
        lines.clear();
        if read.read_until(b'\n', &mut lines).await? == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&lines).trim_end().to_string();
        heard.lock().unwrap().push(line.clone());
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
            "MAIL" | "RCPT" => {
                envelope.push(line.clone());
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 go on\r\n").await?;
                let mut data = String::new();
                let mut l = String::new();
                loop {
                    l.clear();
                    if read.read_line(&mut l).await? == 0 || l.trim_end() == "." {
                        break;
                    }
                    data.push_str(l.trim_end_matches(['\r', '\n']));
                    data.push('\n');
                }
                mails
                    .lock()
                    .unwrap()
                    .push((std::mem::take(&mut envelope), data));
                b"250 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 OK\r\n",
        };
        write.write_all(answer).await?;
    }
    Ok(())
}
