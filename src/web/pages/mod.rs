//! HTML admin pages, rendered on the server from the minijinja templates under `templates/`
//! (same layout as this folder). Every action is a plain form POST answered by a redirect
//! (post/redirect/get) that carries a one-line result (`context`); destructive ones ask first
//! (`confirm`). `templates/static/app.js` only adds live updates from the SSE stream and
//! confirmation dialogs. Pages call the same engine, store and auth functions as the JSON API
//! (often the API's own helpers), and answer errors as HTML pages: 401 redirects to the login
//! page.

mod chart;
mod confirm;
mod context;
mod dashboard;
mod forecast;
mod form;
mod integrations;
mod job;
mod jobs;
mod library;
mod logs;
mod maintenance;
mod mqtt;
mod notifications;
mod present;
mod profiles;
mod queue;
mod render;
mod schedule;
mod session;
mod system;
mod tokens;
mod trash;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::AppState;
pub use render::PageError;

/// Largest body of the sign-in and setup forms.
const SIGNED_OUT_FORM_BYTES: usize = 8 * 1024;

/// The page routes (outside `/api`).
pub fn routes(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/", get(dashboard::page))
        .route("/engine/{action}", post(dashboard::engine_action))
        .route("/jobs", get(jobs::list))
        .route("/jobs/batch", post(jobs::batch))
        .route("/jobs/restart-failed", post(jobs::restart_failed))
        .route("/jobs/clear-completed", post(jobs::clear_completed))
        .route("/jobs/{id}", get(job::detail))
        .route("/undo", post(jobs::undo))
        .route("/jobs/{id}/{action}", post(job::action))
        .route("/library", get(library::page))
        .route("/library/folders", post(library::add_folder))
        .route("/library/folders/{id}/remove", post(library::remove_folder))
        .route(
            "/library/folders/{id}/profile",
            post(library::folder_profile),
        )
        .route("/library/folders/{id}/watch", post(library::folder_watch))
        .route("/library/folders/{id}/forecast", post(forecast::run))
        .route("/library/profiles", post(profiles::create))
        .route("/library/profiles/{name}", post(profiles::edit))
        .route("/library/profiles/{name}/delete", post(profiles::delete))
        .route("/library/scan", post(library::scan))
        .route("/hardware", get(system::hardware))
        .route("/hardware/probe", post(system::probe))
        .route("/tokens", get(tokens::page).post(tokens::create))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route("/system", get(system::overview))
        .route("/system/timezone", post(system::set_timezone))
        .route("/system/schedule", post(schedule::save))
        .route("/system/queue", post(queue::save))
        .route("/system/integrations", post(integrations::save))
        .route(
            "/system/integrations/{service}/test",
            post(integrations::test),
        )
        .route("/system/mqtt", post(mqtt::save))
        .route("/trash", get(trash::page))
        .route(
            "/notifications",
            get(notifications::page).post(notifications::create),
        )
        .route("/notifications/{id}", post(notifications::edit))
        .route("/notifications/{id}/delete", post(notifications::delete))
        .route("/notifications/{id}/test", post(notifications::test))
        .route("/trash/{id}/restore", post(trash::restore))
        .route("/system/logs", get(logs::page))
        .route("/system/selftest", post(maintenance::selftest))
        .route(
            "/system/restore",
            post(maintenance::restore).layer(axum::extract::DefaultBodyLimit::max(
                crate::web::maintenance::restore::MAX_ARCHIVE_BYTES as usize,
            )),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_page_auth,
        ));
    // Signed-out forms hold a name, a password and a target: a few hundred bytes. Their limit
    // keeps an unauthenticated body small (the others may be 1 MiB; sign-out reads none).
    let small = || axum::extract::DefaultBodyLimit::max(SIGNED_OUT_FORM_BYTES);
    Router::new()
        .route(
            "/login",
            get(session::login_page).post(session::login).layer(small()),
        )
        .route("/logout", post(session::logout))
        .route(
            "/setup",
            get(session::setup_page).post(session::setup).layer(small()),
        )
        .merge(protected)
        .layer(middleware::from_fn_with_state(state, context::scope))
        .route("/static/app.js", get(app_js))
        .route("/static/app.css", get(app_css))
        .route("/static/logs.js", get(logs::script))
}

/// Like the API's `require_auth`, but a missing or ended session goes to the login page (or to
/// first-run setup while no admin exists) and refusals are HTML pages.
async fn require_page_auth(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    match super::auth::check(&state, req.headers(), req.method()).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            if session::needs_setup(&state).await {
                return Redirect::to("/setup").into_response();
            }
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let next = if req.method() == axum::http::Method::GET {
                target
            } else {
                "/"
            };
            let query = form::encode(&[("next", next)]);
            Redirect::to(&format!("/login?{query}")).into_response()
        }
        Err(e) => PageError::from(e).into_response(),
    }
}

/// The HTML 404 for unknown paths outside the API.
pub fn not_found() -> Response {
    PageError::new(StatusCode::NOT_FOUND, "No such page.").into_response()
}

const APP_JS: &str = include_str!("../../../templates/static/app.js");
const APP_CSS: &str = include_str!("../../../templates/static/app.css");

async fn app_js() -> Response {
    static_asset("text/javascript; charset=utf-8", APP_JS)
}

async fn app_css() -> Response {
    static_asset("text/css; charset=utf-8", APP_CSS)
}

fn static_asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
