//! Reachability of what the box talks to: each configured media server or *arr through the
//! same call as its "test" button (`Integrations::test`, the cheapest documented endpoint,
//! with the client's own timeouts), and each notification target and the MQTT broker by a TCP
//! connection to its host and port only. A notification target is not sent a message: a
//! self-test must not ring the owner's phone. Everything runs at once, each under
//! [`REACH_TIMEOUT`], so the slowest bounds the whole.

use std::time::Duration;

use futures_util::future::join_all;

use super::{Check, CheckStatus};
use crate::engine::integrations::Service;
use crate::engine::notify::Target;
use crate::web::AppState;

const REACH_TIMEOUT: Duration = Duration::from_secs(10);

fn check(id: String, result: Result<String, String>, what: &str) -> Check {
    match result {
        Ok(detail) => Check {
            id,
            status: CheckStatus::Pass,
            message: format!("{what} answers."),
            detail: Some(detail),
        },
        Err(why) => Check {
            id,
            status: CheckStatus::Fail,
            message: format!("{what} cannot be reached."),
            detail: Some(why),
        },
    }
}

async fn bounded<F: std::future::Future<Output = Result<String, String>>>(
    f: F,
) -> Result<String, String> {
    tokio::time::timeout(REACH_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} s", REACH_TIMEOUT.as_secs())))
}

/// Open (and close) a TCP connection to `host:port`.
async fn connect(host: String, port: u16) -> Result<String, String> {
    let addr = format!("{host}:{port}");
    tokio::net::TcpStream::connect(&addr)
        .await
        .map(|s| {
            format!(
                "connected to {addr} ({})",
                s.peer_addr().map(|a| a.to_string()).unwrap_or_default()
            )
        })
        .map_err(|e| format!("{addr}: {e}"))
}

/// Host and port of an `http(s)://` URL.
fn host_port(url: &str) -> Result<(String, u16), String> {
    let uri: axum::http::Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let host = uri.host().ok_or_else(|| format!("`{url}` has no host"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    Ok((host, port))
}

async fn target(t: Target) -> Check {
    let id = format!("notify.{}", t.name);
    let what = format!("Notification target `{}`", t.name);
    // Email targets have an SMTP server; the others a URL, or their fixed service's.
    let place = match &t.email {
        Some(e) => Ok((e.host.clone(), e.port)),
        None => match (t.url.as_str(), t.kind.default_base()) {
            ("", None) => Err("no address set".to_string()),
            ("", Some(base)) => host_port(base),
            (url, _) => host_port(url),
        },
    };
    let result = match place {
        Ok((host, port)) => bounded(connect(host, port)).await,
        Err(e) => Err(e),
    };
    check(id, result, &what)
}

/// Every configured integration, notification target and the MQTT broker (when on).
pub(super) async fn all(state: &AppState) -> Vec<Check> {
    let integrations = &state.engine.integrations;
    let configured: Vec<Service> = Service::ALL
        .into_iter()
        .filter(|s| integrations.settings().service(*s).is_some())
        .collect();
    let services = join_all(configured.into_iter().map(|s| async move {
        let result = bounded(async { integrations.test(s).await.map_err(|e| e.to_string()) }).await;
        check(format!("integration.{}", s.name()), result, s.label())
    }));
    let targets = join_all(state.engine.notifications.targets().into_iter().map(target));
    let mqtt = async {
        match state.store.call(crate::mqtt::settings::load).await {
            Ok(m) if m.enabled => {
                let result = bounded(connect(m.host.clone(), m.port)).await;
                Some(check("mqtt".into(), result, "The MQTT broker"))
            }
            Ok(_) => None,
            Err(e) => Some(check("mqtt".into(), Err(e.to_string()), "The MQTT broker")),
        }
    };
    let (mut out, targets, mqtt) = tokio::join!(services, targets, mqtt);
    out.extend(targets);
    out.extend(mqtt);
    out
}
