//! `GET /api/widget` for home dashboards: a read-only token reads it (and cannot change the
//! queue order), no token is refused with problem+json, and its figures follow the engine.

use serde_json::{Value, json};

use super::{engine, mpeg4_seconds};
use crate::support::TestServer;
use crate::support::api::{problem, problem_any};
use crate::support::clips::copy_into;
use crate::support::files::library;
use crate::support::jobs::enqueue;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_reads_with_a_read_only_token_and_refuses_none() {
    let server = TestServer::start().await;
    let session = server.login().await;
    let r = server
        .post_json(
            "/api/settings/api-tokens",
            &session,
            json!({"name": "homepage", "access_level": "read_only"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let ro = r.json::<Value>().await.unwrap()["plaintext_token"]
        .as_str()
        .unwrap()
        .to_string();
    engine(&server, &session, "pause").await;
    let lib = library(server.tmp.path());
    server.add_folder(&session, &lib).await;
    let clip = copy_into(&lib, &mpeg4_seconds(1), "w.mkv".as_ref());
    enqueue(&server, &session, &clip).await;

    for path in ["/api/widget", "/api/v1/widget"] {
        let r = server
            .bearer(reqwest::Method::GET, path, &ro)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let w: Value = r.json().await.unwrap();
        assert_eq!(w["state"], "paused", "{w}");
        assert_eq!(w["queued"], 1, "{w}");
        assert_eq!(w["active"], 0, "{w}");
        assert!(w["job"].is_null(), "{w}");
        for key in [
            "realized_savings_bytes",
            "potential_savings_bytes",
            "total_savings_bytes",
        ] {
            assert_eq!(w[key], 0, "{key}: {w}");
        }
    }
    let r = server
        .http
        .get(server.url("/api/widget"))
        .send()
        .await
        .unwrap();
    problem_any(r, 401, None).await;
    // The read-only token cannot change the order.
    let r = server
        .bearer(reqwest::Method::PUT, "/api/settings/queue", &ro)
        .json(&json!({"order": "smallest_first"}))
        .send()
        .await
        .unwrap();
    problem(r, 403, "TOKEN_FORBIDDEN").await;
    let settings = server.get_json("/api/settings/queue", &ro).await;
    assert_eq!(settings, json!({"order": "oldest_first"}));
    server.stop().await;
}
