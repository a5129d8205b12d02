//! Media servers and *arr links through the HTTP API, against fake Jellyfin, Plex, Sonarr and
//! Radarr servers in the test binary (`fakes`): the settings (keys never answered in full, a
//! masked key sent back kept), test connection, the notifier telling each fake after a real
//! encode replaced a file and after a restore (with reverse-mapped paths and ids, a failing
//! fake retried and the job unaffected), the *arr webhook queueing and encoding a file, the
//! system page's card, encodes yielding to viewers, and a service over HTTPS (`tls`).

mod fakes;
mod notify;
mod page;
mod settings;
mod tls;
mod viewers;
mod webhook;

use reqwest::Method;
use serde_json::Value;

use crate::support::TestServer;
use crate::support::api::{ok, send};

/// `PUT /api/settings/integrations`, which must succeed; returns the answer.
async fn put_integrations(server: &TestServer, token: &str, body: Value) -> Value {
    let r = send(
        server,
        token,
        Method::PUT,
        "/api/settings/integrations",
        body,
    )
    .await;
    ok(r, 200).await
}

/// The notifier worker's status line.
async fn notifier_line(server: &TestServer, token: &str) -> String {
    let workers = server.get_json("/api/system/workers", token).await;
    workers
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "media refresh")
        .unwrap_or_else(|| panic!("no media refresh worker: {workers:#}"))["detail"]
        .as_str()
        .unwrap()
        .to_string()
}
