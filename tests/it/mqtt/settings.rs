//! `GET/PUT /api/settings/mqtt`: the password is never returned (masked), bad values are
//! `VALIDATION_FAILED` problems naming their field, and the worker's line on the system API says
//! why it retries (a broker refusing the login) and that it connected once the login is right.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Broker, connected, settings, worker_line};
use crate::support::api::{ok, problem};
use crate::support::{PROMPT, TestServer, wait_until};

async fn put(server: &TestServer, token: &str, body: &Value) -> reqwest::Response {
    server
        .bearer(Method::PUT, "/api/v1/settings/mqtt", token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_is_masked_bad_values_refused_and_login_retried() {
    let broker = Broker::with_password("ha", "s3cret-pass").await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let off = server.get_json("/api/settings/mqtt", &token).await;
    assert_eq!(off["enabled"], false, "{off}");
    assert_eq!(off["discovery_prefix"], "homeassistant", "{off}");

    for (field, value) in [
        ("port", json!(0)),
        ("port", json!(65536)),
        ("host", json!("")),
        ("discovery_prefix", json!("ha/#")),
    ] {
        let mut body = settings(broker.port);
        body[field] = value;
        let p = problem(put(&server, &token, &body).await, 400, "VALIDATION_FAILED").await;
        assert_eq!(p["field"], field, "{p}");
    }

    // A wrong password: refused by the broker, retried with backoff, said on the system API.
    let mut body = settings(broker.port);
    body["username"] = json!("ha");
    body["password"] = json!("wrong");
    let saved = ok(put(&server, &token, &body).await, 200).await;
    assert_eq!(saved["password"], "********", "{saved}");
    wait_until(PROMPT, "the worker to say it retries", async || {
        let line = worker_line(&server, &token).await;
        if line.starts_with("retrying 127.0.0.1") {
            Ok(())
        } else {
            Err(line)
        }
    })
    .await;
    let line = worker_line(&server, &token).await;
    assert!(!line.contains("wrong"), "{line}");

    // The right one: connected; the masked password sent back keeps it.
    body["password"] = json!("s3cret-pass");
    ok(put(&server, &token, &body).await, 200).await;
    connected(&server, &token).await;
    let shown = server.get_json("/api/settings/mqtt", &token).await;
    assert_eq!(shown["password"], "********", "{shown}");
    assert!(!shown.to_string().contains("s3cret"), "{shown}");
    ok(put(&server, &token, &shown).await, 200).await;
    connected(&server, &token).await;
    server.stop().await;
    drop(broker);
}
