//! The notifications page: every target with its last deliveries, a form per target to edit
//! it (secrets show as `********`; left so, the stored secret is kept), a form to add one,
//! and "send test" and delete buttons. Plain form posts answered by a redirect, so it works
//! without JavaScript; saved through the same `Notifications` functions as the JSON API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::context::{Flash, redirect};
use super::form::Form;
use super::render;
use super::tokens::FullAccess;
use crate::engine::notify::{EventKind, NotifyError, Target};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiPath;

const EVENTS: [&str; 7] = [
    "job_failed",
    "retry_exhausted",
    "queue_empty",
    "daily_summary",
    "thermal_pause",
    "low_space",
    "engine_paused",
];
const KINDS: [&str; 7] = [
    "ntfy", "gotify", "discord", "telegram", "pushover", "webhook", "email",
];

/// `GET /notifications`. Full access, as the API's list: a target's URL may be a credential.
pub async fn page(State(state): State<AppState>, _: FullAccess) -> Result<Response, PageError> {
    let targets = state
        .engine
        .notifications
        .list()
        .await
        .map_err(ApiError::from)?;
    render::page(
        &state,
        "notifications.html",
        "notifications",
        context! { targets => Serde(targets), events => EVENTS, kinds => KINDS },
    )
}

fn bad(message: impl Into<String>) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, message.into())
}

fn text(form: &Form, name: &str) -> Option<String> {
    form.get(name)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// A target from the form's fields, through the API's JSON shape (so the same checks apply).
fn target(form: &Form) -> Result<Target, PageError> {
    let quiet = match (text(form, "quiet_start"), text(form, "quiet_end")) {
        (Some(start), Some(end)) => serde_json::json!({"start": start, "end": end}),
        _ => serde_json::Value::Null,
    };
    // The email block belongs to email targets only (a form without scripts sends every
    // kind's fields).
    let email_host = text(form, "smtp_host").filter(|_| form.get("kind") == Some("email"));
    let email = match email_host {
        Some(host) => serde_json::json!({
            "host": host,
            "port": text(form, "smtp_port").and_then(|p| p.parse::<u16>().ok()).unwrap_or(587),
            "tls": text(form, "smtp_tls").unwrap_or_else(|| "starttls".into()),
            "user": text(form, "smtp_user"),
            "password": text(form, "smtp_password"),
            "from": text(form, "smtp_from").unwrap_or_default(),
            "to": text(form, "smtp_to").unwrap_or_default().split(',')
                .map(str::trim).filter(|a| !a.is_empty()).collect::<Vec<_>>(),
        }),
        None => serde_json::Value::Null,
    };
    let value = serde_json::json!({
        "name": text(form, "name").unwrap_or_default(),
        "kind": form.get("kind").unwrap_or_default(),
        "url": text(form, "url").unwrap_or_default(),
        "events": form.all("events").collect::<Vec<_>>(),
        "quiet_hours": quiet,
        "failures_break_quiet": form.get("failures_break_quiet").is_some(),
        "summary_hour": text(form, "summary_hour").and_then(|h| h.parse::<u8>().ok()).unwrap_or(8),
        "token": text(form, "token"),
        "chat_id": text(form, "chat_id"),
        "user_key": text(form, "user_key"),
        "email": email,
    });
    serde_json::from_value(value).map_err(|e| bad(format!("The target was not saved: {e}.")))
}

fn refused(e: NotifyError) -> PageError {
    match e {
        NotifyError::Invalid(why) => bad(format!(
            "The target was not saved: {} {}.",
            why.field, why.message
        )),
        other => ApiError::from(other).into(),
    }
}

/// `POST /notifications`: add a target.
pub async fn create(
    State(state): State<AppState>,
    _: FullAccess,
    form: Form,
) -> Result<Response, PageError> {
    let t = target(&form)?;
    let saved = state
        .engine
        .notifications
        .create(t)
        .await
        .map_err(refused)?;
    let flash = Flash::new(format!("Target “{}” added.", saved.name));
    Ok(redirect(&state, "/notifications", flash))
}

/// `POST /notifications/{id}`: save a target's form.
pub async fn edit(
    State(state): State<AppState>,
    _: FullAccess,
    ApiPath(id): ApiPath<u64>,
    form: Form,
) -> Result<Response, PageError> {
    let t = target(&form)?;
    let saved = state
        .engine
        .notifications
        .update(id, t)
        .await
        .map_err(refused)?;
    let flash = Flash::new(format!("Target “{}” saved.", saved.name));
    Ok(redirect(&state, "/notifications", flash))
}

/// `POST /notifications/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    _: FullAccess,
    ApiPath(id): ApiPath<u64>,
) -> Result<Response, PageError> {
    state
        .engine
        .notifications
        .delete(id)
        .await
        .map_err(refused)?;
    Ok(redirect(
        &state,
        "/notifications",
        Flash::new("Target removed."),
    ))
}

/// `POST /notifications/{id}/test`: a test message (or, with `event=daily_summary`, the
/// summary) goes out now; its outcome shows in the delivery log.
pub async fn test(
    State(state): State<AppState>,
    _: FullAccess,
    ApiPath(id): ApiPath<u64>,
    form: Form,
) -> Result<Response, PageError> {
    let event = match form.get("event") {
        Some("daily_summary") => EventKind::DailySummary,
        _ => EventKind::Test,
    };
    state
        .engine
        .notifications
        .test(id, event)
        .map_err(refused)?;
    let flash = Flash::new("Sent; the delivery log below shows how it went (reload).");
    Ok(redirect(&state, "/notifications", flash))
}
