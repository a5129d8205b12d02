//! Fake Jellyfin, Emby, Plex, Sonarr and Radarr servers inside the test binary: real HTTP
//! servers on 127.0.0.1 random ports that check the service's key header, answer the endpoints
//! the product calls with the shapes of the services' API documentation (Jellyfin and Emby
//! `SystemInfo` and `SessionInfo`, Emby answering `POST /Library/Media/Updated` with an empty
//! 200 where Jellyfin sends 204,
//! Plex `MediaContainer.Directory[].Location[]`, Sonarr `SeriesResource`, Radarr
//! `MovieResource`, *arr `CommandResource`), and record every call. A fake can be told to
//! answer its next refresh calls with HTTP 500, and can serve over HTTPS with a given
//! certificate.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Which service a fake plays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Jellyfin,
    Emby,
    Plex,
    Sonarr,
    Radarr,
}

/// One recorded request.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    /// Path and query, as sent.
    pub target: String,
    /// The body as JSON (`Null` when none).
    pub body: Value,
}

#[derive(Clone)]
struct Shared {
    kind: Kind,
    key: String,
    /// The folder its library holds (Plex section location, series or movie path).
    folder: String,
    calls: Arc<Mutex<Vec<Call>>>,
    fail_refreshes: Arc<AtomicU32>,
    /// Streams playing now (Jellyfin `/Sessions`, Plex `/status/sessions`).
    playing: Arc<AtomicU32>,
    /// How many of those the server transcodes (the first ones); the rest play directly.
    transcoding: Arc<AtomicU32>,
}

pub struct Fake {
    pub url: String,
    pub key: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    /// Start a fake `kind` that accepts `key` and holds `folder` (its own path).
    pub async fn start(kind: Kind, key: &str, folder: &str) -> Fake {
        Fake::start_on(kind, key, folder, None).await
    }

    /// The same over HTTPS with `tls` (its URL is `https://127.0.0.1:port`).
    pub async fn start_tls(
        kind: Kind,
        key: &str,
        folder: &str,
        tls: Arc<rustls::ServerConfig>,
    ) -> Fake {
        Fake::start_on(kind, key, folder, Some(tls)).await
    }

    async fn start_on(
        kind: Kind,
        key: &str,
        folder: &str,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Fake {
        let shared = Shared {
            kind,
            key: key.to_string(),
            folder: folder.to_string(),
            calls: Arc::default(),
            fail_refreshes: Arc::default(),
            playing: Arc::default(),
            transcoding: Arc::default(),
        };
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (url, task) = match tls {
            None => (
                format!("http://{addr}"),
                tokio::spawn(async move {
                    axum::serve(listener, app).await.unwrap();
                }),
            ),
            Some(tls) => (
                format!("https://{addr}"),
                tokio::spawn(serve_tls(listener, app, tls)),
            ),
        };
        Fake {
            url,
            key: key.to_string(),
            shared,
            task,
        }
    }

    /// The settings entry for this fake.
    pub fn settings(&self) -> Value {
        json!({"url": self.url, "api_key": self.key})
    }

    /// Answer the next `n` refresh calls (the POST or section refresh) with HTTP 500.
    pub fn fail_next_refreshes(&self, n: u32) {
        self.shared.fail_refreshes.store(n, Ordering::SeqCst);
    }

    /// Set how many streams play.
    pub fn set_playing(&self, n: u32) {
        self.shared.playing.store(n, Ordering::SeqCst);
    }

    /// Of the streams playing, how many the server transcodes.
    pub fn set_transcoding(&self, n: u32) {
        self.shared.transcoding.store(n, Ordering::SeqCst);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// The recorded calls whose target starts with `prefix`.
    pub fn calls_to(&self, method: Method, prefix: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.target.starts_with(prefix))
            .collect()
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// Accept TLS connections and serve `app` on each, HTTP/1.1. A failed handshake (the client
/// refused the certificate) just ends that connection.
async fn serve_tls(listener: tokio::net::TcpListener, app: Router, tls: Arc<rustls::ServerConfig>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn key_header(kind: Kind) -> &'static str {
    match kind {
        Kind::Jellyfin | Kind::Emby => "x-emby-token",
        Kind::Plex => "x-plex-token",
        Kind::Sonarr | Kind::Radarr => "x-api-key",
    }
}

fn json_response(status: StatusCode, v: Value) -> Response {
    (status, axum::Json(v)).into_response()
}

async fn answer(State(s): State<Shared>, req: Request) -> Response {
    let method = req.method().clone();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let key = req
        .headers()
        .get(key_header(s.kind))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    s.calls.lock().unwrap().push(Call {
        method: method.clone(),
        target: target.clone(),
        body,
    });
    if key.as_deref() != Some(s.key.as_str()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let path = target.split('?').next().unwrap_or_default();
    let refresh = matches!(
        (s.kind, &method, path),
        (
            Kind::Jellyfin | Kind::Emby,
            &Method::POST,
            "/Library/Media/Updated"
        ) | (
            Kind::Sonarr | Kind::Radarr,
            &Method::POST,
            "/api/v3/command"
        )
    ) || (s.kind == Kind::Plex && path.ends_with("/refresh"));
    if refresh
        && s.fail_refreshes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    match (s.kind, &method, path) {
        (Kind::Jellyfin, &Method::GET, "/System/Info") => json_response(
            StatusCode::OK,
            json!({"ServerName": "fake-nas", "Version": "10.10.3", "Id": "f00d",
                   "OperatingSystem": "Linux", "StartupWizardCompleted": true}),
        ),
        (Kind::Emby, &Method::GET, "/System/Info") => json_response(
            StatusCode::OK,
            json!({"ServerName": "fake-emby", "Version": "4.8.10.0", "Id": "e3b0",
                   "OperatingSystem": "Linux", "HasUpdateAvailable": false,
                   "LocalAddress": "http://127.0.0.1:8096"}),
        ),
        (Kind::Jellyfin | Kind::Emby, &Method::GET, "/Sessions") => {
            // An idle client session, and one per stream playing.
            let client = if s.kind == Kind::Emby {
                "Emby Web"
            } else {
                "Jellyfin Web"
            };
            let mut sessions = vec![json!({"Id": "idle", "Client": client,
                "DeviceName": "Firefox", "UserName": "kid", "SupportsRemoteControl": true})];
            let transcoding = s.transcoding.load(Ordering::SeqCst);
            for i in 0..s.playing.load(Ordering::SeqCst) {
                let method = if i < transcoding {
                    "Transcode"
                } else {
                    "DirectPlay"
                };
                let mut session = json!({"Id": format!("s{i}"), "Client": "Android TV",
                    "UserName": "kid", "NowPlayingItem": {"Name": "Pilot", "Type": "Episode",
                    "Id": "abc", "RunTimeTicks": 26_000_000_000u64},
                    "PlayState": {"IsPaused": false, "PositionTicks": 1_000_000u64,
                                  "PlayMethod": method}});
                if i < transcoding {
                    session["TranscodingInfo"] = json!({"VideoCodec": "h264",
                        "AudioCodec": "aac", "IsVideoDirect": false, "Bitrate": 4_000_000});
                }
                sessions.push(session);
            }
            json_response(StatusCode::OK, json!(sessions))
        }
        (Kind::Plex, &Method::GET, "/status/sessions") => {
            let n = s.playing.load(Ordering::SeqCst);
            let transcoding = s.transcoding.load(Ordering::SeqCst);
            let items: Vec<Value> = (0..n)
                .map(|i| {
                    let mut item = json!({"type": "episode", "title": "Pilot",
                        "sessionKey": i.to_string(),
                        "Player": {"state": "playing", "product": "Plex Web"}});
                    if i < transcoding {
                        item["TranscodeSession"] = json!({"key": format!("/transcode/sessions/t{i}"),
                            "videoDecision": "transcode", "audioDecision": "copy",
                            "throttled": false});
                    }
                    item
                })
                .collect();
            json_response(
                StatusCode::OK,
                json!({"MediaContainer": {"size": n, "Metadata": items}}),
            )
        }
        (Kind::Jellyfin, &Method::POST, "/Library/Media/Updated") => {
            StatusCode::NO_CONTENT.into_response()
        }
        (Kind::Emby, &Method::POST, "/Library/Media/Updated") => StatusCode::OK.into_response(),
        (Kind::Plex, &Method::GET, "/library/sections") => json_response(
            StatusCode::OK,
            json!({"MediaContainer": {"size": 2, "allowSync": false, "Directory": [
                {"key": "1", "type": "artist", "title": "Music", "agent": "tv.plex.agents.music",
                 "Location": [{"id": 1, "path": "/music"}]},
                {"key": "2", "type": "show", "title": "TV Shows", "agent": "tv.plex.agents.series",
                 "Location": [{"id": 2, "path": s.folder}]}
            ]}}),
        ),
        (Kind::Plex, &Method::GET, p)
            if p.starts_with("/library/sections/") && p.ends_with("/refresh") =>
        {
            StatusCode::OK.into_response()
        }
        (Kind::Sonarr | Kind::Radarr, &Method::GET, "/api/v3/system/status") => {
            let app = if s.kind == Kind::Sonarr {
                "Sonarr"
            } else {
                "Radarr"
            };
            json_response(
                StatusCode::OK,
                json!({"appName": app, "instanceName": app, "version": "4.0.14.2939",
                       "isDebug": false, "isProduction": true}),
            )
        }
        (Kind::Sonarr, &Method::GET, "/api/v3/series") => json_response(
            StatusCode::OK,
            json!([
                {"id": 3, "title": "Other Show", "path": "/elsewhere/Other Show", "tvdbId": 1},
                {"id": 7, "title": "Show", "path": s.folder, "tvdbId": 2, "monitored": true}
            ]),
        ),
        (Kind::Radarr, &Method::GET, "/api/v3/movie") => json_response(
            StatusCode::OK,
            json!([
                {"id": 1, "title": "Another", "path": "/elsewhere/Another (2001)", "tmdbId": 5},
                {"id": 4, "title": "Film", "path": s.folder, "tmdbId": 6, "hasFile": true}
            ]),
        ),
        (Kind::Sonarr | Kind::Radarr, &Method::POST, "/api/v3/command") => json_response(
            StatusCode::CREATED,
            json!({"id": 101, "name": "Rescan", "status": "queued", "priority": "normal"}),
        ),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
