//! JSON routes, one module per resource. Each function here returns the routes together with
//! their OpenAPI operations, so the router and the document cannot drift apart.

pub mod auth;
pub mod backup;
pub mod engine;
mod forecast;
pub mod health;
pub mod integrations;
pub mod jobs;
pub mod library;
pub mod logs;
pub mod mqtt;
pub mod notifications;
pub mod profiles;
pub mod queue;
pub mod restore;
pub mod schedule;
pub mod selftest;
pub mod stats;
pub mod system;
pub mod tokens;
pub mod trash;
pub mod update;
pub mod webhooks;
pub mod widget;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

/// `{"ok": true}`
#[derive(Serialize, ToSchema)]
pub struct OkBody {
    ok: bool,
}

impl OkBody {
    pub const OK: OkBody = OkBody { ok: true };
}

/// `{"count": n}`
#[derive(Serialize, ToSchema)]
pub struct CountBody {
    count: usize,
}

/// Routes that need no credentials (under `/api`).
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(health::openapi_json))
        // Checks its own credentials: Sonarr/Radarr send Basic as well as Bearer.
        .routes(routes!(webhooks::arr))
}

/// Routes behind authentication (under `/api`).
pub fn protected_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(jobs::list))
        .routes(routes!(jobs::details))
        .routes(routes!(jobs::cancel))
        .routes(routes!(jobs::restart))
        .routes(routes!(jobs::priority))
        .routes(routes!(jobs::batch))
        .routes(routes!(jobs::restart_failed))
        .routes(routes!(jobs::clear_completed))
        .routes(routes!(jobs::enqueue))
        .routes(routes!(engine::status))
        .routes(routes!(engine::pause))
        .routes(routes!(engine::resume))
        .routes(routes!(engine::drain))
        .routes(routes!(engine::mode))
        .routes(routes!(schedule::get, schedule::put))
        .routes(routes!(stats::aggregated))
        .routes(routes!(stats::daily))
        .routes(routes!(stats::savings))
        .routes(routes!(system::hardware))
        .routes(routes!(system::probe))
        .routes(routes!(system::probe_log))
        .routes(routes!(system::resources))
        .routes(routes!(system::workers))
        .routes(routes!(update::update_status, update::update_upload))
        .routes(routes!(update::reboot))
        .routes(routes!(library::folders, library::add_folder))
        .routes(routes!(library::remove_folder, library::update_folder))
        .routes(routes!(profiles::list, profiles::create))
        .routes(routes!(profiles::get, profiles::replace, profiles::delete))
        .routes(routes!(library::scan_status, library::start_scan))
        .routes(routes!(trash::list))
        .routes(routes!(trash::restore))
        .routes(routes!(super::sse::events))
        .routes(routes!(queue::get, queue::put))
        .routes(routes!(queue::eta))
        .routes(routes!(widget::widget))
        .routes(routes!(notifications::list, notifications::create))
        .routes(routes!(notifications::replace, notifications::delete))
        .routes(routes!(notifications::test))
        .routes(routes!(integrations::get, integrations::put))
        .routes(routes!(integrations::test))
        .routes(routes!(mqtt::get, mqtt::put))
        .routes(routes!(backup::download))
        .routes(routes!(logs::list))
        .routes(routes!(logs::stream))
        .routes(routes!(logs::download))
        .routes(routes!(selftest::get, selftest::post))
        .routes(routes!(restore::restore))
        .routes(routes!(forecast::forecast))
}

/// Routes outside `/api`, behind authentication.
pub fn root_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stats::metrics))
}
