//! The OpenAPI document and the router agree: every documented operation is served (also under
//! `/api/v1`), every route of the API reference is documented, plausible undocumented routes
//! are not served, and `alchemist openapi` prints the document the server publishes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::{header, problem_any};
use crate::support::openapi::{document, operations};

/// The API reference (`api-reference.txt`) plus the routes CONTRACT.md and later issues add.
const REFERENCE: &[(&str, &str)] = &[
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/settings/api-tokens"),
    ("POST", "/api/settings/api-tokens"),
    ("DELETE", "/api/settings/api-tokens/{id}"),
    ("GET", "/api/jobs"),
    ("GET", "/api/jobs/{id}/details"),
    ("POST", "/api/jobs/{id}/cancel"),
    ("POST", "/api/jobs/{id}/restart"),
    ("POST", "/api/jobs/{id}/priority"),
    ("POST", "/api/jobs/batch"),
    ("POST", "/api/jobs/restart-failed"),
    ("POST", "/api/jobs/clear-completed"),
    ("GET", "/api/engine/status"),
    ("POST", "/api/engine/pause"),
    ("POST", "/api/engine/resume"),
    ("POST", "/api/engine/drain"),
    ("POST", "/api/engine/mode"),
    ("GET", "/api/stats/aggregated"),
    ("GET", "/api/stats/daily"),
    ("GET", "/api/stats/savings"),
    ("GET", "/api/system/hardware"),
    ("GET", "/api/system/hardware/probe-log"),
    ("GET", "/api/system/resources"),
    ("GET", "/api/events"),
    // CONTRACT.md
    ("POST", "/api/jobs/enqueue"),
    ("GET", "/api/library/folders"),
    ("POST", "/api/library/folders"),
    ("DELETE", "/api/library/folders/{id}"),
    ("GET", "/api/trash"),
    ("POST", "/api/trash/{job_id}/restore"),
    ("GET", "/api/library/scan"),
    ("POST", "/api/library/scan"),
    ("GET", "/api/health"),
    ("GET", "/api/ready"),
    ("GET", "/api/openapi.json"),
    ("GET", "/metrics"),
    // Encoding profiles (issue 3)
    ("GET", "/api/profiles"),
    ("POST", "/api/profiles"),
    ("GET", "/api/profiles/{name}"),
    ("PUT", "/api/profiles/{name}"),
    ("DELETE", "/api/profiles/{name}"),
    ("PATCH", "/api/library/folders/{id}"),
    // Queue order, ETA and the dashboard widget (issues 15 and 16)
    ("GET", "/api/settings/queue"),
    ("PUT", "/api/settings/queue"),
    ("GET", "/api/stats/queue-eta"),
    ("GET", "/api/widget"),
    // Integrations (issue 15)
    ("GET", "/api/settings/integrations"),
    ("PUT", "/api/settings/integrations"),
    ("POST", "/api/settings/integrations/{service}/test"),
    ("POST", "/api/webhooks/arr"),
    // Home Assistant over MQTT (issue 16)
    ("GET", "/api/settings/mqtt"),
    ("PUT", "/api/settings/mqtt"),
    // Backups (issue 16)
    ("GET", "/api/system/backup"),
    // Server logs (issue 16)
    ("GET", "/api/system/logs"),
    ("GET", "/api/system/logs/stream"),
    ("GET", "/api/system/logs/download"),
    // Self-test and restore from the running server (issue 16)
    ("GET", "/api/system/selftest"),
    ("POST", "/api/system/selftest"),
    ("POST", "/api/system/restore"),
    // Folder forecast on samples (issue 19)
    ("POST", "/api/library/folders/{id}/forecast"),
    // Schedule windows (issue 15)
    ("GET", "/api/settings/schedule"),
    ("PUT", "/api/settings/schedule"),
    // Notifications (issue 16)
    ("GET", "/api/settings/notifications"),
    ("POST", "/api/settings/notifications"),
    ("PUT", "/api/settings/notifications/{id}"),
    ("DELETE", "/api/settings/notifications/{id}"),
    ("POST", "/api/settings/notifications/{id}/test"),
    // Firmware updates (issue 17)
    ("GET", "/api/system/update"),
    ("POST", "/api/system/update"),
    ("POST", "/api/system/reboot"),
    // The engine's workers and a new hardware probe (issues 12 and 20)
    ("GET", "/api/system/workers"),
    ("POST", "/api/system/hardware/probe"),
];

/// Whether the router served the request (anything but its 404/405 fallbacks).
async fn served(server: &TestServer, token: &str, method: Method, path: &str) -> bool {
    let mut req = server.http.request(method.clone(), server.url(path));
    if path != "/api/auth/logout" && path != "/api/v1/auth/logout" {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    if method != Method::GET {
        req = req.json(&json!({}));
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    assert!(status < 500, "{method} {path}: {status}");
    if header(&r, "content-type").starts_with("text/event-stream") {
        return true; // the SSE stream: do not read it
    }
    let body: Value = r.json().await.unwrap_or(Value::Null);
    status != 405 && !(status == 404 && body["code"] == "ROUTE_NOT_FOUND")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_and_router_agree() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let doc = document(&server).await;
    let ops = operations(&doc);
    assert!(ops.len() >= REFERENCE.len(), "{} operations", ops.len());

    // (a) Every documented operation is served, under /api and under /api/v1.
    for op in &ops {
        assert!(
            served(&server, &token, op.method.clone(), &op.path).await,
            "documented but not served: {} {}",
            op.method,
            op.path
        );
        if let Some(rest) = op.path.strip_prefix("/api/") {
            let alias = format!("/api/v1/{rest}");
            assert!(
                served(&server, &token, op.method.clone(), &alias).await,
                "not served under /api/v1: {} {alias}",
                op.method
            );
        }
    }

    // (b) Every route of the API reference is documented.
    for (method, template) in REFERENCE {
        assert!(
            ops.iter()
                .any(|o| o.method.as_str() == *method && o.template == *template),
            "{method} {template} is missing from the OpenAPI document"
        );
    }

    // (c) Plausible routes that are not documented are not served (pages outside /api and
    // /metrics are not part of this document, so only those two are probed).
    let undocumented = [
        (Method::POST, "/api/health"),
        (Method::GET, "/api/nope"),
        (Method::GET, "/api/jobs/1"),
        (Method::DELETE, "/api/jobs/1"),
        (Method::PUT, "/api/jobs/1"),
        (Method::DELETE, "/api/jobs/1/details"),
        (Method::GET, "/api/jobs/1/cancel"),
        (Method::POST, "/api/jobs/1/delete"),
        (Method::POST, "/api/jobs/delete"),
        (Method::POST, "/api/jobs"),
        (Method::DELETE, "/api/jobs"),
        (Method::GET, "/api/library/folders/1"),
        (Method::PUT, "/api/library/folders/1"),
        (Method::PUT, "/api/engine/status"),
        (Method::POST, "/api/engine/status"),
        (Method::POST, "/api/engine/stop"),
        (Method::GET, "/api/engine/mode"),
        (Method::GET, "/api/settings"),
        (Method::POST, "/api/settings"),
        (Method::GET, "/api/settings/api-tokens/1"),
        (Method::GET, "/api/users"),
        (Method::POST, "/api/setup"),
        (Method::GET, "/api/auth/me"),
        (Method::GET, "/api/auth/login"),
        (Method::GET, "/api/stats"),
        (Method::GET, "/api/system"),
        (Method::POST, "/api/system/hardware"),
        (Method::GET, "/api/metrics"),
        (Method::GET, "/api/v1/metrics"),
        (Method::GET, "/api/v2/jobs"),
        (Method::GET, "/api/v1/v1/jobs"),
        (Method::GET, "/api/openapi.yaml"),
        (Method::GET, "/metrics/"),
        (Method::POST, "/metrics"),
    ];
    for (method, path) in undocumented {
        let documented = ops.iter().any(|o| {
            o.method == method
                && (o.path == path
                    || o.path
                        .strip_prefix("/api/")
                        .map(|r| format!("/api/v1/{r}"))
                        .as_deref()
                        == Some(path))
        });
        if documented {
            continue; // added since this list was written: (a) covers it
        }
        assert!(
            !served(&server, &token, method.clone(), path).await,
            "served but not documented: {method} {path}"
        );
        let r = server
            .bearer(method.clone(), path, &token)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        assert!(status == 404 || status == 405, "{method} {path}: {status}");
        problem_any(r, status, None).await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_is_well_formed() {
    let server = TestServer::start().await;
    let doc = document(&server).await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "openapi version: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    let mut ids = std::collections::HashSet::new();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for op in operations(&doc) {
        let item = &doc["paths"][&op.template][op.method.as_str().to_lowercase()];
        let id = item["operationId"].as_str().unwrap_or_default();
        assert!(
            !id.is_empty(),
            "{} {}: no operationId",
            op.method,
            op.template
        );
        assert!(
            ids.insert(id.to_string()),
            "operationId `{id}` is used twice (again on {} {})",
            op.method,
            op.template
        );
        let responses = item["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{} {}: no success response",
            op.method,
            op.template
        );
        // Documented parameters and path placeholders match.
        let placeholders = op.template.matches('{').count();
        let path_params = item["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter(|p| p["in"] == "path").count())
            .unwrap_or(0);
        assert_eq!(placeholders, path_params, "{} {}", op.method, op.template);
        // Errors are documented with the media type they are served with.
        for (status, response) in responses {
            let Some(content) = response["content"].as_object() else {
                continue;
            };
            for (media, body) in content {
                if body["schema"]["$ref"] == "#/components/schemas/Problem" {
                    assert_eq!(
                        media, "application/problem+json",
                        "{} {} {status}",
                        op.method, op.template
                    );
                }
            }
        }
    }
    // Every referenced schema exists.
    let text = doc.to_string();
    for piece in text.split("\"#/components/schemas/").skip(1) {
        let name = &piece[..piece.find('"').unwrap()];
        assert!(schemas.contains_key(name), "dangling $ref to {name}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_prints_the_served_document() {
    let server = TestServer::start().await;
    let served = document(&server).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_alchemist"))
        .arg("openapi")
        .env("ALCHEMIST_LOG", "error")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "alchemist openapi: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(printed, served);
    assert!(printed["openapi"].as_str().unwrap().starts_with("3.1"));
    server.stop().await;
}
