//! Raw HTTP/1.1 exchanges that send exactly the bytes given (no client-side path
//! normalization, no header limits), and the check of a problem document read off the wire.

use std::time::Duration;

use serde_json::Value;

use super::server::TestServer;

/// An answer read off the wire.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Send `head` (request line and headers, each ending in CRLF, without the blank line) and
/// `body` on a fresh connection with `Connection: close`; read the whole answer. `None` when
/// the server closed the connection without answering (allowed for requests it cannot parse).
pub async fn raw(server: &TestServer, head: &[u8], body: &[u8]) -> Option<RawAnswer> {
    let addr = server.base.strip_prefix("http://").unwrap().to_string();
    let mut request = head.to_vec();
    request.extend_from_slice(format!("Host: {addr}\r\nConnection: close\r\n\r\n").as_bytes());
    request.extend_from_slice(body);
    // Blocking I/O on a thread: the read timeout fails the test if the server hangs.
    let buf = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        // The server may answer (413, 431) and close before reading everything: a failed
        // write is not an error, the answer is what counts.
        let _ = stream.write_all(&request);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16384];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    panic!("the server neither answered nor closed")
                }
                Err(_) => break, // reset after the answer
            }
        }
        buf
    })
    .await
    .unwrap();
    parse_answer(&buf)
}

fn parse_answer(buf: &[u8]) -> Option<RawAnswer> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Some(RawAnswer {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .unwrap_or(0);
        data = &data[eol + 2..];
        if size == 0 || data.len() < size {
            break;
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
    out
}

/// A well-formed problem document: the content type and every member, a SCREAMING_SNAKE code.
/// Returns the body.
pub fn assert_problem(what: &str, content_type: &str, status: u16, text: &str) -> Value {
    assert!(
        content_type.starts_with("application/problem+json"),
        "{what}: {status} with content type `{content_type}`: {text}"
    );
    let body: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"));
    for member in ["type", "title", "detail", "code", "request_id", "instance"] {
        assert!(
            body[member].as_str().is_some_and(|s| !s.is_empty()),
            "{what}: problem member `{member}` missing: {body}"
        );
    }
    assert_eq!(body["status"], status, "{what}: {body}");
    let code = body["code"].as_str().unwrap();
    assert!(
        code.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
        "{what}: code `{code}`"
    );
    for leak in ["panicked", "redb", "RUST_BACKTRACE", "/data/alchemist"] {
        assert!(!text.contains(leak), "{what}: leaks `{leak}`: {text}");
    }
    body
}
