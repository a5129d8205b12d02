//! The outbound calls, one documented endpoint each, over HTTP or HTTPS with bounded timeouts,
//! through the binary's one client (`crate::net`, blocking `ureq`, so each call runs on the
//! blocking pool).
//! Test connection: Jellyfin/Emby `GET /System/Info` (`X-Emby-Token`), Plex
//! `GET /library/sections` (`X-Plex-Token`; `/identity` answers without a key, so it proves
//! nothing about it), Sonarr/Radarr `GET /api/v3/system/status` (`X-Api-Key`). Refresh after a
//! change: Jellyfin/Emby `POST /Library/Media/Updated`, Plex the section holding the path
//! (`GET /library/sections/{key}/refresh?path=<dir>`), Sonarr/Radarr `RescanSeries` /
//! `RescanMovie` for the series or movie whose folder holds it. Every failure is a
//! [`CallError`] with a stable code and whether a retry may help; a certificate the client
//! does not accept is its own code, so the owner sees "turn off verification or fix the
//! certificate" rather than "unreachable".

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Service, ServiceSettings};

/// A whole call, connection included: a media server busy scanning answers slowly, but a
/// notifier must not hang on one, and a test from the page must answer while the owner waits.
const TIMEOUT: Duration = Duration::from_secs(8);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The clients (connection pools) of the integrations: one that checks certificates against
/// the bundled web PKI roots, and one that does not, for services the owner marked
/// `verify_tls: false` (a self-signed certificate on the LAN). Cheap to clone.
#[derive(Clone)]
pub struct Http {
    verified: ureq::Agent,
    unverified: ureq::Agent,
}

impl Http {
    pub(super) fn new() -> Http {
        Http {
            verified: crate::net::agent(TIMEOUT, Some(CONNECT_TIMEOUT), true),
            unverified: crate::net::agent(TIMEOUT, Some(CONNECT_TIMEOUT), false),
        }
    }

    fn agent(&self, svc: &ServiceSettings) -> ureq::Agent {
        if svc.verify_tls {
            self.verified.clone()
        } else {
            self.unverified.clone()
        }
    }
}

/// Why a call did not do what it should.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    #[error("the service is not configured")]
    NotConfigured,
    #[error("could not reach the service: {0}")]
    Unreachable(String),
    #[error(
        "the service's TLS certificate was not accepted ({0}); fix the certificate, or turn off verify_tls for a self-signed one"
    )]
    Certificate(String),
    #[error("the service refused the API key (HTTP {0})")]
    KeyRefused(u16),
    #[error("the service answered HTTP {0}")]
    Status(u16),
    #[error("the service's answer is not what its API documents: {0}")]
    BadAnswer(String),
    #[error("the service has no {0} holding this path")]
    NotHeld(&'static str),
}

impl CallError {
    /// Stable code for the API and the logs.
    pub fn code(&self) -> &'static str {
        match self {
            CallError::NotConfigured => "INTEGRATION_NOT_CONFIGURED",
            CallError::Unreachable(_) => "INTEGRATION_UNREACHABLE",
            CallError::Certificate(_) => "INTEGRATION_TLS_REFUSED",
            CallError::KeyRefused(_) => "INTEGRATION_KEY_REFUSED",
            CallError::Status(_) => "INTEGRATION_HTTP_ERROR",
            CallError::BadAnswer(_) => "INTEGRATION_BAD_ANSWER",
            CallError::NotHeld(_) => "INTEGRATION_PATH_NOT_HELD",
        }
    }

    /// Whether trying again later may succeed (a refused key or a path no library holds
    /// will not change by waiting).
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Unreachable(_) | CallError::BadAnswer(_) => true,
            CallError::Status(s) => *s >= 500 || *s == 429 || *s == 408,
            _ => false,
        }
    }
}

fn header(service: Service) -> &'static str {
    match service {
        Service::Jellyfin | Service::Emby => "X-Emby-Token",
        Service::Plex => "X-Plex-Token",
        Service::Sonarr | Service::Radarr => "X-Api-Key",
    }
}

fn unreachable(e: ureq::Error) -> CallError {
    // ureq's errors say what failed (refused, timed out, DNS) without the URL; keys go in
    // headers anyway, so nothing secret is shown.
    if let Some(why) = crate::net::tls_failure(&e) {
        return CallError::Certificate(why);
    }
    CallError::Unreachable(crate::net::failure_in_words(&e))
}

/// The two methods the documented endpoints use.
#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// One call; the body as JSON (`Null` when empty).
async fn call(
    http: &Http,
    service: Service,
    svc: &ServiceSettings,
    method: Method,
    path_and_query: &str,
    body: Option<Value>,
) -> Result<Value, CallError> {
    let url = format!("{}{path_and_query}", svc.url);
    let agent = http.agent(svc);
    let key = svc.api_key.clone();
    let blocking = move || -> Result<Value, CallError> {
        let result = match method {
            Method::Get => agent
                .get(&url)
                .header(header(service), &key)
                .header("Accept", "application/json")
                .call(),
            Method::Post => {
                let req = agent
                    .post(&url)
                    .header(header(service), &key)
                    .header("Accept", "application/json");
                match body {
                    Some(body) => req.send_json(&body),
                    None => req.send_empty(),
                }
            }
        };
        let mut resp = result.map_err(unreachable)?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(CallError::KeyRefused(status));
        }
        if !resp.status().is_success() {
            return Err(CallError::Status(status));
        }
        let bytes = resp.body_mut().read_to_vec().map_err(unreachable)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| CallError::BadAnswer(e.to_string()))
    };
    tokio::task::spawn_blocking(blocking)
        .await
        .map_err(|e| CallError::Unreachable(format!("the call's task failed: {e}")))?
}

fn field<T: for<'de> Deserialize<'de>>(v: Value, what: &str) -> Result<T, CallError> {
    serde_json::from_value(v).map_err(|e| CallError::BadAnswer(format!("{what}: {e}")))
}

/// Check the address and key; a one-line description of the service on success.
pub async fn test(
    http: &Http,
    service: Service,
    svc: &ServiceSettings,
) -> Result<String, CallError> {
    let label = service.label();
    match service {
        Service::Jellyfin | Service::Emby => {
            let v = call(http, service, svc, Method::Get, "/System/Info", None).await?;
            let name = v["ServerName"].as_str().unwrap_or("?");
            let version = v["Version"].as_str().unwrap_or("?");
            Ok(format!("{label} {version} (“{name}”)"))
        }
        Service::Plex => {
            let v = call(http, service, svc, Method::Get, "/library/sections", None).await?;
            let n = sections(v)?.len();
            Ok(format!("Plex, {n} library section(s)"))
        }
        Service::Sonarr | Service::Radarr => {
            let path = "/api/v3/system/status";
            let v = call(http, service, svc, Method::Get, path, None).await?;
            let version = v["version"].as_str().unwrap_or("?");
            Ok(format!("{label} {version}"))
        }
    }
}

#[derive(Deserialize)]
struct Section {
    key: String,
    #[serde(rename = "Location", default)]
    locations: Vec<Location>,
}

#[derive(Deserialize)]
struct Location {
    path: String,
}

fn sections(v: Value) -> Result<Vec<Section>, CallError> {
    let dirs = v["MediaContainer"]["Directory"].clone();
    if dirs.is_null() && v["MediaContainer"].is_object() {
        return Ok(Vec::new());
    }
    field(dirs, "MediaContainer.Directory")
}

/// `path` lies in the folder `dir` (whole components).
fn holds(dir: &str, path: &str) -> bool {
    let dir = dir.trim_end_matches(['/', '\\']);
    path.strip_prefix(dir)
        .is_some_and(|t| t.starts_with(['/', '\\']))
}

#[derive(Deserialize)]
struct Item {
    id: u64,
    path: String,
}

/// Tell `service` that `remote` (its path of the changed file) changed; what was done, in a
/// few words.
pub async fn refresh(
    http: &Http,
    service: Service,
    svc: &ServiceSettings,
    remote: &str,
) -> Result<String, CallError> {
    match service {
        Service::Jellyfin | Service::Emby => {
            let body = json!({"Updates": [{"Path": remote, "UpdateType": "Modified"}]});
            call(
                http,
                service,
                svc,
                Method::Post,
                "/Library/Media/Updated",
                Some(body),
            )
            .await?;
            Ok("media updated".into())
        }
        Service::Plex => {
            let v = call(http, service, svc, Method::Get, "/library/sections", None).await?;
            let section = sections(v)?
                .into_iter()
                .find(|s| s.locations.iter().any(|l| holds(&l.path, remote)))
                .ok_or(CallError::NotHeld("library section"))?;
            let dir = match remote.rfind(['/', '\\']) {
                Some(0) => "/",
                Some(i) => &remote[..i],
                None => remote,
            };
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("path", dir)
                .finish();
            let path = format!("/library/sections/{}/refresh?{query}", section.key);
            call(http, service, svc, Method::Get, &path, None).await?;
            Ok(format!("section {} refreshed", section.key))
        }
        Service::Sonarr | Service::Radarr => {
            let (list, what, command, id_field) = if service == Service::Sonarr {
                ("/api/v3/series", "series", "RescanSeries", "seriesId")
            } else {
                ("/api/v3/movie", "movie", "RescanMovie", "movieId")
            };
            let v = call(http, service, svc, Method::Get, list, None).await?;
            let items: Vec<Item> = field(v, list)?;
            let item = items
                .into_iter()
                .find(|i| holds(&i.path, remote))
                .ok_or(CallError::NotHeld(what))?;
            let body = json!({"name": command, id_field: item.id});
            call(
                http,
                service,
                svc,
                Method::Post,
                "/api/v3/command",
                Some(body),
            )
            .await?;
            Ok(format!("{command} {}", item.id))
        }
    }
}

/// How many streams play on a media server now.
pub async fn playing(
    http: &Http,
    service: Service,
    svc: &ServiceSettings,
    only_transcoding: bool,
) -> Result<u64, CallError> {
    match service {
        Service::Jellyfin | Service::Emby => {
            let v = call(http, service, svc, Method::Get, "/Sessions", None).await?;
            let sessions = v
                .as_array()
                .ok_or_else(|| CallError::BadAnswer("/Sessions is not a list".into()))?;
            Ok(sessions
                .iter()
                .filter(|s| present(&s["NowPlayingItem"]))
                .filter(|s| !only_transcoding || jellyfin_transcodes(s))
                .count() as u64)
        }
        Service::Plex => {
            let v = call(http, service, svc, Method::Get, "/status/sessions", None).await?;
            let size = v["MediaContainer"]["size"]
                .as_u64()
                .ok_or_else(|| CallError::BadAnswer("MediaContainer.size missing".into()))?;
            if !only_transcoding {
                return Ok(size);
            }
            // An empty container may leave out `Metadata` altogether.
            let items = v["MediaContainer"]["Metadata"].as_array();
            Ok(items.map_or(0, |items| {
                items
                    .iter()
                    .filter(|i| present(&i["TranscodeSession"]))
                    .count() as u64
            }))
        }
        Service::Sonarr | Service::Radarr => Ok(0),
    }
}

fn present(v: &Value) -> bool {
    !v.is_null()
}

/// A Jellyfin/Emby session transcodes when it carries `TranscodingInfo` or its
/// `PlayState.PlayMethod` says `Transcode` (`DirectPlay` and `DirectStream` do not).
fn jellyfin_transcodes(session: &Value) -> bool {
    present(&session["TranscodingInfo"]) || session["PlayState"]["PlayMethod"] == "Transcode"
}

#[cfg(test)]
mod transcode_tests {
    use super::*;

    #[test]
    fn jellyfin_sessions_transcode_by_info_or_play_method() {
        let direct = json!({"NowPlayingItem": {"Name": "Pilot"},
            "PlayState": {"PlayMethod": "DirectPlay"}});
        let stream = json!({"NowPlayingItem": {"Name": "Pilot"},
            "PlayState": {"PlayMethod": "DirectStream"}});
        let by_info = json!({"NowPlayingItem": {"Name": "Pilot"},
            "TranscodingInfo": {"VideoCodec": "h264", "IsVideoDirect": false}});
        let by_method = json!({"NowPlayingItem": {"Name": "Pilot"},
            "PlayState": {"PlayMethod": "Transcode"}});
        assert!(!jellyfin_transcodes(&direct));
        assert!(!jellyfin_transcodes(&stream));
        assert!(jellyfin_transcodes(&by_info));
        assert!(jellyfin_transcodes(&by_method));
    }
}
