//! Requests and answers of the JSON API: a request with a JSON body, the status and body of
//! an answer, and `problem`, the checker of `application/problem+json` error documents that
//! every API test shares.

use std::path::Path;

use reqwest::{Method, Response};
use serde_json::{Value, json};

use super::server::TestServer;

/// POST a JSON body; returns status and JSON body (`null` when there is none).
pub async fn post(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = server.post_json(path, token, body).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A request with a JSON body and a Bearer token.
pub async fn send(
    server: &TestServer,
    token: &str,
    method: Method,
    path: impl AsRef<str>,
    body: Value,
) -> Response {
    server
        .bearer(method, path.as_ref(), token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The JSON body of an answer that must have `status`.
pub async fn ok(r: Response, status: u16) -> Value {
    let url = r.url().to_string();
    assert_eq!(r.status().as_u16(), status, "{url}");
    r.json().await.unwrap()
}

/// Add a library folder with `profile` (a name, or null for the default).
pub async fn add_folder_with_profile(
    server: &TestServer,
    token: &str,
    path: &Path,
    profile: Value,
) -> Response {
    let body = json!({"path": path.to_str().unwrap(), "profile": profile});
    send(server, token, Method::POST, "/api/library/folders", body).await
}

/// A response header as text ("" when absent).
pub fn header(resp: &Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// Check that `resp` is a complete problem document with `status`; `code` is checked when
/// given. Returns the body.
pub async fn problem_any(resp: Response, status: u16, code: Option<&str>) -> Value {
    let path = resp.url().path().to_string();
    let got = resp.status().as_u16();
    let content_type = header(&resp, "content-type");
    let request_id = header(&resp, "x-request-id");
    let text = resp.text().await.unwrap();
    let answer = Answer {
        status: got,
        content_type,
        request_id,
        text,
    };
    check_problem(&path, answer, status, code)
}

/// What `check_problem` looks at.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub request_id: String,
    pub text: String,
}

/// Check a problem document (from `problem_any` or read off the wire): status, content type,
/// every member, `instance` and `request_id`, a SCREAMING_SNAKE code. Returns the body.
pub fn check_problem(path: &str, answer: Answer, status: u16, code: Option<&str>) -> Value {
    let Answer {
        status: got,
        content_type,
        request_id,
        text,
    } = answer;
    assert_eq!(got, status, "{path}: status (body: {text})");
    assert_eq!(
        content_type, "application/problem+json",
        "{path}: content type (body: {text})"
    );
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    for member in ["type", "title", "detail", "code", "request_id"] {
        assert!(
            body[member].as_str().is_some_and(|s| !s.is_empty()),
            "{path}: problem member `{member}` missing or empty: {body}"
        );
    }
    assert_eq!(body["status"], json!(status), "{path}: {body}");
    assert_eq!(body["instance"], json!(path), "{path}: instance: {body}");
    assert_eq!(
        body["request_id"],
        json!(request_id),
        "{path}: request_id is the X-Request-Id header"
    );
    let stable = body["code"].as_str().unwrap();
    assert!(
        stable
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
        "{path}: code `{stable}` is not SCREAMING_SNAKE"
    );
    if let Some(code) = code {
        assert_eq!(stable, code, "{path}: code (body: {body})");
    }
    body
}

/// `problem_any` with a code.
pub async fn problem(resp: Response, status: u16, code: &str) -> Value {
    problem_any(resp, status, Some(code)).await
}

/// GET with a Bearer token; 200 expected. Returns the response for header checks.
pub async fn get_ok(server: &TestServer, path: &str, token: &str) -> Response {
    let r = server
        .bearer(Method::GET, path, token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r
}

/// POST a JSON body; 200 expected. Returns the JSON answer.
pub async fn post_ok(server: &TestServer, path: &str, token: &str, body: Value) -> Value {
    let r = server.post_json(path, token, body).await;
    assert_eq!(r.status(), 200, "POST {path}");
    r.json().await.unwrap()
}

/// The job list: body and `X-Total-Count`.
pub async fn job_list(server: &TestServer, token: &str, query: &str) -> (Vec<Value>, u64) {
    let r = get_ok(server, &format!("/api/jobs?{query}"), token).await;
    let total = header(&r, "x-total-count")
        .parse()
        .expect("X-Total-Count header");
    let body: Value = r.json().await.unwrap();
    let list = body
        .as_array()
        .unwrap_or_else(|| panic!("a bare array: {body}"))
        .clone();
    (list, total)
}

/// The ids of a job list, in order.
pub fn ids(list: &[Value]) -> Vec<u64> {
    list.iter().map(|j| j["id"].as_u64().unwrap()).collect()
}
