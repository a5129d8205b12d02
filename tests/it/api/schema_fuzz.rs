//! Schema-based API fuzzing: schemathesis (from PyPI; `bash .ci/dev test` installs it into
//! `target/schemathesis`) reads `/api/openapi.json` from the real server and sends thousands of
//! generated requests, valid and invalid, to every operation. It fails the test on any 5xx, a
//! response whose body breaks the documented schema, an undocumented status code or a wrong
//! content type.
//!
//! Left out, because a generated request could do real harm or never end: adding library
//! folders and starting scans (a generated `/` would be walked and queued), resuming the engine
//! (it stays paused, so nothing is encoded), revoking API tokens (the run's own token could be
//! hit) and the endless event stream. Also what connects out at once to a host a generated
//! request names (tests reach loopback only): sending a test notification, testing an
//! integration, saving MQTT settings (the worker connects on save); their tests under
//! `notify`, `integrations` and `mqtt` drive them against local servers and a real broker.
//! And the folder forecast, which runs real sample encodes (minutes per request, one at a
//! time): `quality::forecast` tests it.

use std::path::PathBuf;
use std::process::Command;

use reqwest::Method;
use serde_json::json;

use crate::support::TestServer;

/// Seconds schemathesis may spend generating; the suite's time budget is tight.
const MAX_TIME_SECS: &str = "45";

fn schemathesis() -> PathBuf {
    let bin =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/schemathesis/bin/schemathesis");
    assert!(
        bin.exists(),
        "{} is missing: `bash .ci/dev test` installs schemathesis there",
        bin.display()
    );
    bin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_requests_get_documented_answers_and_no_server_error() {
    let bin = schemathesis();
    let server = TestServer::start().await;
    let session = server.login().await;
    let r = server
        .bearer(Method::POST, "/api/engine/pause", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = server
        .post_json(
            "/api/settings/api-tokens",
            &session,
            json!({"name": "schemathesis", "access_level": "full_access"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let token = r.json::<serde_json::Value>().await.unwrap()["plaintext_token"]
        .as_str()
        .unwrap()
        .to_string();
    let url = server.url("/api/openapi.json");
    let auth = format!("Authorization: Bearer {token}");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(["run", &url, "-H", &auth])
            .args([
                "--checks",
                "not_a_server_error,response_schema_conformance,content_type_conformance,\
                 status_code_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-time",
                MAX_TIME_SECS,
                // One worker: hypothesis describes its lambdas with `ast.parse`, which some
                // CPython 3.11 releases break when two threads parse at once.
                "--workers",
                "1",
                "--request-timeout",
                "10",
                "--exclude-path",
                "/api/events",
                "--exclude-path",
                // The live log: endless like the event stream.
                "/api/system/logs/stream",
                "--exclude-path",
                "/api/engine/resume",
                "--exclude-path",
                "/api/settings/notifications/{id}/test",
                "--exclude-operation-id",
                "test_integration",
                "--exclude-operation-id",
                "put_mqtt",
                // Real encodes per call; and a valid archive would restart the server.
                "--exclude-operation-id",
                "run_selftest",
                "--exclude-operation-id",
                "restore_backup",
                "--exclude-operation-id",
                "forecast_folder",
                "--exclude-path-regex",
                "^/api/library/(folders|scan)$|^/api/settings/api-tokens/",
            ])
            .env("NO_COLOR", "1")
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .collect();
    eprintln!("{}", summary.join("\n"));
    let tail = |text: &str| {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(150)..].join("\n")
    };
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{}\n{}",
        tail(&stdout),
        tail(&String::from_utf8_lossy(&out.stderr))
    );
    // It really ran: operations were tested and cases generated.
    assert!(stdout.contains("passed"), "{stdout}");
    // The engine stayed paused, so nothing it generated was encoded.
    let status = server.get_json("/api/engine/status", &session).await;
    assert_eq!(status["status"], "paused", "{status}");
    server.stop().await;
}
