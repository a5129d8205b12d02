//! The template environment (every file under `templates/`, embedded at build time by
//! `build.rs`), page rendering, and `PageError`, the HTML face of the API's error type.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{AutoEscape, Environment, Value, context};

use super::{context, present};
use crate::model::count;
use crate::model::{EngineRunState, EngineStatus};
use crate::web::AppState;
use crate::web::error::ApiError;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Everything is HTML-escaped, whatever the template's name.
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_filter("bytes", human_bytes);
        env.add_filter("duration", human_duration);
        env.add_filter("interval", human_interval);
        env.add_filter("f1", |v: f64| format!("{v:.1}"));
        env.add_filter("when", |v: &str| present::when(v));
        env.add_filter("when_s", |v: &str| present::when_s(v));
        env.add_filter("day", |v: &str| present::day(v));
        env.add_filter("clock", |v: &str| present::clock(v));
        env.add_filter("plain", |v: &str| present::plain(v));
        env.add_filter("failure_words", |v: &str| crate::engine::code_in_words(v));
        env.add_filter("path", |v: &str| {
            Value::from_safe_string(present::path_html(v))
        });
        env.add_filter("parts", |v: &str| {
            Value::from(minijinja::value::Serde(present::parts(v)))
        });
        env.add_filter("facts", |v: Value| {
            let measured: BTreeMap<String, serde_json::Value> = serde_json::to_value(&v)
                .and_then(serde_json::from_value)
                .unwrap_or_default();
            Value::from(minijinja::value::Serde(present::facts(&measured)))
        });
        env.add_function("zone", present::zone_name);
        env.add_global("base", Value::from_object(BasePath));
        // A template that does not parse panics here; `every_template_is_embedded_and_parses`
        // fails first.
        minijinja_embed::load_templates!(&mut env);
        env
    })
}

/// The template global `base`: the path prefix of the request being answered
/// (`[proxy] base_path`; `""` at the root), for every link, form and script URL:
/// `href="{{ base }}/jobs"`. A global rather than a context value, so imported macros see it
/// too; looked up when rendered, because one environment serves every server in the process.
#[derive(Debug)]
struct BasePath;

impl minijinja::value::Object for BasePath {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn render(self: &std::sync::Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::web::site::base())
    }
}

pub use crate::model::human_bytes;

/// `1 h 02 min`, `3 min 05 s`, `42 s`.
pub fn human_duration(secs: f64) -> String {
    if secs < 0.5 {
        return "under 1 s".into();
    }
    let s = secs.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ if s < 86_400 => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// A period of whole minutes as a person says it: "90 min", "6 hours", "1 day".
pub fn human_interval(minutes: u64) -> String {
    use crate::model::count;
    match minutes {
        m if m > 0 && m % 1440 == 0 => count(m / 1440, "day", "days"),
        m if m > 0 && m % 60 == 0 => count(m / 60, "hour", "hours"),
        m => format!("{m} min"),
    }
}

/// What the engine is doing, in words: a class for the badge, a label, one line of why.
#[derive(Debug, PartialEq, serde::Serialize)]
pub struct Phase {
    pub key: &'static str,
    pub label: &'static str,
    pub hint: String,
}

/// The engine's state as a person reads it (`app.js` has the same words for live updates).
pub fn phase(e: &EngineStatus) -> Phase {
    let (key, label, hint) = match e.status {
        EngineRunState::Paused => (
            "paused",
            "Paused",
            e.paused_reason.clone().unwrap_or_else(|| {
                "Encodes are suspended where they are and nothing new starts until you resume."
                    .into()
            }),
        ),
        EngineRunState::Draining => (
            "draining",
            "Finishing",
            "Running encodes finish, nothing new starts; then the engine pauses.".into(),
        ),
        EngineRunState::Running if e.active_jobs > 0 => (
            "encoding",
            "Encoding",
            format!(
                "{} running; the mode allows {} at a time.",
                count(e.active_jobs, "job", "jobs"),
                e.concurrent_limit
            ),
        ),
        EngineRunState::Running if e.queued_jobs > 0 => (
            "encoding",
            "Starting",
            format!("{} waiting to start.", count(e.queued_jobs, "job", "jobs")),
        ),
        EngineRunState::Running => (
            "idle",
            "Idle",
            "Nothing to do. New files are picked up when the library is scanned.".into(),
        ),
    };
    Phase { key, label, hint }
}

/// Render `name` with `ctx` plus what the layout needs (the engine badge, the active nav item,
/// the result of the last form post).
pub fn page(state: &AppState, name: &str, nav: &str, ctx: Value) -> Result<Response, PageError> {
    let engine = state.engine.status();
    let ctx = context! {
        nav => nav,
        engine_badge => minijinja::value::Serde(&engine),
        engine_phase => Value::from(minijinja::value::Serde(phase(&engine))),
        flash => Value::from(minijinja::value::Serde(context::current().flash)),
        version => env!("CARGO_PKG_VERSION"),
        ..ctx
    };
    Ok(Html(render(name, ctx)?).into_response())
}

/// A page outside the signed-in layout (login, setup, errors).
pub fn bare(name: &str, ctx: Value) -> Result<Response, PageError> {
    Ok(Html(render(name, ctx)?).into_response())
}

fn render(name: &str, ctx: Value) -> Result<String, PageError> {
    // The same prefix as the global, as a safe string so attributes read `/alchemist/jobs`
    // rather than the escaped `&#x2f;alchemist/jobs` (equal to a browser, not to a reader).
    let base = Value::from_safe_string(crate::web::site::base().to_string());
    let ctx = context! { base => base, ..ctx };
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| PageError::internal(format!("template {name}: {e:#}")))
}

/// An error answered as an HTML page (401 becomes a redirect to the login page).
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub detail: String,
}

impl PageError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> PageError {
        PageError {
            status,
            detail: detail.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> PageError {
        PageError::from(ApiError::internal(cause))
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        PageError::new(e.status, e.detail)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> PageError {
        PageError::from(ApiError::from(e))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::UNAUTHORIZED {
            return Redirect::to("/login").into_response();
        }
        let title = self.status.canonical_reason().unwrap_or("Error");
        let ctx =
            context! { status => self.status.as_u16(), title => title, detail => self.detail };
        let body = render("error.html", ctx)
            .map_err(|e| e.detail)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "error page does not render");
                format!("{} {title}", self.status.as_u16())
            });
        let mut response = (self.status, Html(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_embedded_and_parses() {
        let env = env();
        let names: Vec<&str> = env.templates().map(|(name, _)| name).collect();
        for page in [
            "base.html",
            "confirm.html",
            "dashboard.html",
            "jobs/list.html",
            "system/overview.html",
            "trash.html",
        ] {
            assert!(names.contains(&page), "{page} not embedded: {names:?}");
        }
        assert!(names.iter().all(|n| n.ends_with(".html")), "{names:?}");
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
        assert_eq!(human_bytes(-3.0 * 1024.0 * 1024.0), "-3.0 MiB");
        assert_eq!(human_interval(360), "6 hours");
        assert_eq!(human_interval(60), "1 hour");
        assert_eq!(human_interval(2880), "2 days");
        assert_eq!(human_interval(90), "90 min");
        assert_eq!(human_duration(42.0), "42 s");
        assert_eq!(human_duration(0.2), "under 1 s");
        assert_eq!(human_duration(185.0), "3 min 05 s");
        assert_eq!(human_duration(3720.0), "1 h 02 min");
    }
}
