//! Integrations over HTTPS: a fake Jellyfin served over TLS on loopback with a self-signed
//! certificate (rcgen, loaded through the product's own `tls::server_config`). With
//! `verify_tls` on (the default) the test action refuses it with its own code
//! `INTEGRATION_TLS_REFUSED` and a detail naming the certificate problem, and the fake never
//! sees a request; with `verify_tls` off the same test succeeds and the key reaches the fake.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use super::fakes::{Fake, Kind};
use super::put_integrations;
use crate::support::TestServer;
use crate::support::api::{post, problem};

const KEY: &str = "7e1f0c2b9a8d4e5f6a7b8c9d0e1f2a3b";

/// A server config with a fresh self-signed certificate for 127.0.0.1.
fn self_signed(dir: &std::path::Path) -> Arc<rustls::ServerConfig> {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    alchemist::tls::server_config(&cert, &key).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_service_is_refused_unverified_and_works_with_verify_off() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let tmp = tempfile::tempdir().unwrap();
    let jellyfin = Fake::start_tls(Kind::Jellyfin, KEY, "/media", self_signed(tmp.path())).await;
    assert!(jellyfin.url.starts_with("https://"), "{}", jellyfin.url);

    // Saved with the default: the certificate is checked, and a self-signed one is refused
    // with a code of its own and a detail that says what to do.
    let saved = put_integrations(&server, &token, json!({"jellyfin": jellyfin.settings()})).await;
    assert_eq!(saved["jellyfin"]["url"], jellyfin.url.as_str());
    assert_eq!(saved["jellyfin"]["verify_tls"], true, "{saved:#}");
    let r = server
        .bearer(
            Method::POST,
            "/api/settings/integrations/jellyfin/test",
            &token,
        )
        .send()
        .await
        .unwrap();
    let p = problem(r, 502, "INTEGRATION_TLS_REFUSED").await;
    let detail = p["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("certificate") && detail.contains("verify_tls"),
        "{p:#}"
    );
    assert!(!detail.contains(&KEY[..12]), "{p:#}");
    assert!(jellyfin.calls().is_empty(), "{:?}", jellyfin.calls());

    // Verification off for this service: the same server answers over TLS.
    let mut settings = jellyfin.settings();
    settings["verify_tls"] = json!(false);
    let saved = put_integrations(&server, &token, json!({"jellyfin": settings})).await;
    assert_eq!(saved["jellyfin"]["verify_tls"], false, "{saved:#}");
    let (code, r) = post(
        &server,
        &token,
        "/api/settings/integrations/jellyfin/test",
        json!({}),
    )
    .await;
    assert_eq!(code, 200, "{r:#}");
    assert_eq!(r["ok"], true);
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .starts_with("Jellyfin 10.10.3"),
        "{r:#}"
    );
    assert_eq!(jellyfin.calls_to(Method::GET, "/System/Info").len(), 1);
    jellyfin.stop();
}
