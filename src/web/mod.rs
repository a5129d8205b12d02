//! HTTP: the REST + SSE API under `/api` (also answered under `/api/v1`), `/metrics`, the
//! OpenAPI document generated from the handlers, problem+json errors everywhere.
//! Handlers are thin: extract, call one engine/store/auth function, render. The HTML admin
//! pages (`pages`) live outside `/api` and are not part of the OpenAPI document.

mod api;
mod auth;
pub mod error;
mod extract;
mod host;
mod maintenance;
mod pages;
mod query;
mod redirect;
mod site;
mod sse;
mod upload;

pub use host::AllowedHosts;
pub use maintenance::selftest::Maintenance;
pub use redirect::https_redirect;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use utoipa::OpenApi;

use crate::auth::Auth;
use crate::board::Board;
use crate::engine::Engine;
use crate::resources::{ResourceMonitor, Resources, Temperature};
use crate::store::Store;
use error::{ApiError, REQUEST};

/// Largest accepted request body (JSON routes); larger gets 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub engine: Engine,
    pub auth: Auth,
    pub board: Board,
    pub resources: ResourceMonitor,
    /// Cancelled when the server shuts down; long-lived responses (SSE) end with it.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Served over TLS: the session cookie gets `Secure`.
    pub secure_cookies: bool,
    openapi_json: Arc<str>,
    /// The config file the server was started with (it goes into backups).
    pub config_file: Option<std::path::PathBuf>,
    /// Self-test settings and the self-test / restore in-progress flags.
    pub maintenance: maintenance::selftest::Maintenance,
}

/// What the application is built from.
pub struct Services {
    pub store: Store,
    pub engine: Engine,
    pub auth: Auth,
    pub board: Board,
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Served over HTTPS.
    pub secure_cookies: bool,
    /// The host names the server answers for.
    pub hosts: AllowedHosts,
    /// A request not answered within this time gets 408.
    pub request_timeout: std::time::Duration,
    /// The config file the server was started with (it goes into backups).
    pub config_file: Option<std::path::PathBuf>,
    /// What the self-test needs of the configuration.
    pub maintenance: maintenance::selftest::Maintenance,
    /// `[proxy]`: base path and trusted reverse proxies.
    pub proxy: crate::config::ProxySettings,
}

impl AppState {
    /// Whether this request's browser speaks HTTPS to us (our TLS, or a trusted proxy's
    /// `X-Forwarded-Proto`): cookies get `Secure`, and the same-origin check expects https.
    pub fn secure(&self) -> bool {
        site::secure(self.secure_cookies)
    }

    /// A resource sample with the board's sensor; shared by the API and the system page.
    pub async fn sample_resources(&self) -> Resources {
        let board = self
            .board
            .temperature()
            .map(|(sensor, celsius)| Temperature {
                sensor: sensor.to_string(),
                celsius,
            });
        self.resources.sample(board.into_iter().collect()).await
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Alchemist",
        description = "NAS media transcoder API. Every route under /api also answers under /api/v1. \
Errors are application/problem+json. Authenticate with the alchemist_session cookie from \
POST /api/auth/login or an Authorization: Bearer token."
    ),
    components(schemas(error::Problem)),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session_cookie" = []))
)]
struct ApiDoc;

/// Declares the two ways to authenticate; public operations override with an empty list.
struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("alchemist_session"))),
        );
    }
}

/// The OpenAPI document (`GET /api/openapi.json`, `alchemist openapi`), generated from the
/// same route functions that build the router.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut inner) = api::public_routes().split_for_parts();
    let (_, protected) = api::protected_routes().split_for_parts();
    let (_, root) = api::root_routes().split_for_parts();
    inner.merge(protected);
    let mut doc = ApiDoc::openapi().nest("/api", inner);
    doc.merge(root);
    document_generic_errors(&mut doc);
    doc
}

/// Every operation can also answer with errors no handler lists: 400 for a malformed path,
/// query or body, 401/403 from the auth layer, 405, 413 for a body over the limit, 415 without
/// a JSON content type, 429 from the login throttle, 500 from a panic. All of them are
/// problem+json, so each operation gets a `default` response saying so; schema-based clients
/// (and fuzzers such as schemathesis) then know every status the server can send.
fn document_generic_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = ResponseBuilder::new()
        .description(
            "Any other error (400, 401, 403, 405, 413, 415, 429, 500, ...), as \
             application/problem+json",
        )
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            op.responses
                .responses
                .entry("default".to_string())
                .or_insert_with(|| RefOr::T(problem.clone()));
        }
    }
}

/// Build the application router.
pub fn router(services: Services) -> Router {
    let mut doc = openapi();
    let base = services.proxy.base_path.clone();
    if !base.is_empty() {
        // Behind a base path every operation is reached under it.
        doc.servers = Some(vec![utoipa::openapi::Server::new(base.clone())]);
    }
    let openapi_json: Arc<str> = doc.to_json().unwrap_or_default().into();
    let state = AppState {
        store: services.store,
        engine: services.engine,
        auth: services.auth,
        board: services.board,
        resources: ResourceMonitor::new(),
        shutdown: services.shutdown,
        secure_cookies: services.secure_cookies,
        openapi_json,
        config_file: services.config_file,
        maintenance: services.maintenance,
    };
    let require_auth = middleware::from_fn_with_state(state.clone(), auth::require_auth);
    let check_host = middleware::from_fn_with_state(services.hosts, host::check_host);
    let timeout = services.request_timeout;
    let site = middleware::from_fn_with_state(
        site::SiteConfig {
            proxy: Arc::new(services.proxy),
            tls: services.secure_cookies,
        },
        site::site,
    );
    let (public, _) = api::public_routes().split_for_parts();
    let (protected, _) = api::protected_routes().split_for_parts();
    let (root, _) = api::root_routes().split_for_parts();
    let api = public
        .merge(protected.route_layer(require_auth.clone()))
        .method_not_allowed_fallback(method_not_allowed);
    let app = Router::new()
        .nest("/api/v1", api.clone())
        .nest("/api", api)
        .merge(
            root.route_layer(require_auth)
                .method_not_allowed_fallback(method_not_allowed),
        )
        .merge(pages::routes(state.clone()))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(check_host)
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            request_context(req, next, timeout)
        }))
        .layer(site)
        .with_state(state);
    under_base_path(app, &base)
}

/// `app` served under `base` (`[proxy] base_path`); `/` redirects into it and other paths
/// outside it are 404. axum strips the prefix, so routes and handlers never see it.
fn under_base_path(app: Router, base: &str) -> Router {
    if base.is_empty() {
        return app;
    }
    let home = format!("{base}/");
    Router::new()
        .nest_service(base, app)
        .route(
            "/",
            axum::routing::get(move || async move { axum::response::Redirect::to(&home) }),
        )
        .fallback(|| async { pages::not_found() })
}

/// Unknown paths: problem+json under `/api` and `/metrics`, an HTML page elsewhere.
async fn not_found(req: Request) -> Response {
    let path = req.uri().path();
    if !(path == "/api" || path.starts_with("/api/") || path.starts_with("/metrics")) {
        return pages::not_found();
    }
    ApiError::not_found(
        "ROUTE_NOT_FOUND",
        format!("No route {} {}.", req.method(), req.uri().path()),
    )
    .into_response()
}

async fn method_not_allowed(req: Request) -> ApiError {
    // Inside a nested router the URI has lost its `/api` prefix; the request context keeps the
    // path the client sent.
    let path = REQUEST
        .try_with(|(_, path)| path.clone())
        .unwrap_or_else(|_| req.uri().path().to_string());
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("{} is not allowed on {path}.", req.method()),
    )
}

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request id (echo a sane incoming one, else generate), security headers, and the task-local
/// context that problem bodies read. A body announced larger than `MAX_BODY_BYTES` is refused
/// here, on every route: the JSON extractor's limit only covers handlers that read a body.
async fn request_context(req: Request, next: Next, timeout: std::time::Duration) -> Response {
    let incoming = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        })
        .map(str::to_string);
    let id = incoming.unwrap_or_else(new_request_id);
    let path = req.uri().path().to_string();
    let upload = api::update::takes_large_body(&path);
    let too_large = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        && !upload;
    // An upload's limit is on a stall, not on its whole time (`upload`).
    let (req, progress) = if upload {
        let (req, progress) = upload::watch(req);
        (req, Some(progress))
    } else {
        (req, None)
    };
    let mut response = REQUEST
        .scope((id.clone(), path), async move {
            if too_large {
                return extract::body_too_large().into_response();
            }
            // A panicking handler answers 500 problem+json instead of dropping the connection;
            // one that is not done in time (a client sending its body a byte at a time) 408.
            // Streams (events, downloads) are answered at once, so this does not cut them.
            let run = AssertUnwindSafe(next.run(req)).catch_unwind();
            let done = match &progress {
                Some(progress) => upload::until_stalled(run, timeout, progress).await,
                None => tokio::time::timeout(timeout, run).await.ok(),
            };
            let late = if progress.is_some() {
                "The upload made no progress for"
            } else {
                "The request was not complete within"
            };
            match done {
                Some(Ok(response)) => response,
                Some(Err(_)) => ApiError::internal("a request handler panicked").into_response(),
                None => ApiError::new(
                    axum::http::StatusCode::REQUEST_TIMEOUT,
                    "REQUEST_TIMEOUT",
                    format!("{late} {} s.", timeout.as_secs()),
                )
                .into_response(),
            }
        })
        .await;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(X_REQUEST_ID.clone(), v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
        ));
    response.into_response()
}

/// A random id; without the system's randomness, one that is still unique in this process
/// and unlikely to repeat across restarts (the start time and a counter).
fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_ok() {
        return hex::encode(bytes);
    }
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{since_epoch:x}-{:x}-{n:x}", std::process::id())
}
