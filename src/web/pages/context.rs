//! What every page knows besides its own data: the owner's time zone (a setting on the system
//! page, by default the box's own) and the one-line result of the last form post (a *flash*,
//! with an undo where one is possible). A middleware scopes both for the request in a task
//! local; the template filters and `render::page` read them.
//!
//! A form post answers with a redirect and a short-lived `alchemist_flash` cookie naming the
//! message, which is kept here in memory (a handful, for minutes: it is a courtesy, lost on a
//! restart). The next page shows it once and clears the cookie. An undo is a form naming the
//! same key; it works once.

use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::model::JobId;
use crate::web::AppState;
use crate::web::auth::cookie;

/// The store setting that holds the owner's IANA time zone name.
pub const TZ_SETTING: &str = "timezone";
const FLASH_COOKIE: &str = "alchemist_flash";
/// How long a message (and its undo) is kept.
const FLASH_TTL: Duration = Duration::from_secs(600);
/// Messages kept at most; one admin produces a few per minute.
const FLASH_MAX: usize = 64;

/// What a page render knows about the request.
#[derive(Clone)]
pub struct PageContext {
    pub tz: TimeZone,
    pub flash: Option<FlashView>,
}

tokio::task_local! {
    static PAGE: PageContext;
}

/// The result of a form post.
pub struct Flash {
    pub text: String,
    pub undo: Option<Undo>,
}

/// What an undo does.
#[derive(Clone, Debug, PartialEq)]
pub enum Undo {
    /// Bring archived jobs back into the list.
    Unarchive(Vec<JobId>),
}

/// A flash as the layout shows it.
#[derive(Clone, Serialize)]
pub struct FlashView {
    pub text: String,
    /// Key for the undo form, when there is one.
    pub undo: Option<String>,
}

struct Entry {
    key: String,
    at: Instant,
    flash: Flash,
}

static FLASHES: LazyLock<Mutex<Vec<Entry>>> = LazyLock::new(|| Mutex::new(Vec::new()));

fn flashes() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    // A panic while holding the lock leaves plain data behind: keep using it.
    FLASHES.lock().unwrap_or_else(|e| e.into_inner())
}

impl Flash {
    pub fn new(text: impl Into<String>) -> Flash {
        Flash {
            text: text.into(),
            undo: None,
        }
    }

    pub fn with_undo(mut self, undo: Undo) -> Flash {
        self.undo = Some(undo);
        self
    }
}

/// Redirect to `to` and show `flash` on the page it leads to.
pub fn redirect(state: &AppState, to: &str, flash: Flash) -> Response {
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: skip the message rather than make a guessable undo key.
        return Redirect::to(to).into_response();
    }
    let key = hex::encode(bytes);
    {
        let mut all = flashes();
        all.retain(|e| e.at.elapsed() < FLASH_TTL);
        if all.len() >= FLASH_MAX {
            all.remove(0);
        }
        all.push(Entry {
            key: key.clone(),
            at: Instant::now(),
            flash,
        });
    }
    let secure = if state.secure() { "; Secure" } else { "" };
    let path = crate::web::site::cookie_path();
    let cookie = format!(
        "{FLASH_COOKIE}={key}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={}{secure}",
        FLASH_TTL.as_secs()
    );
    let mut response = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// Take the undo of message `key` (it works once).
pub fn take_undo(key: &str) -> Option<Undo> {
    let mut all = flashes();
    all.iter_mut()
        .find(|e| e.key == key && e.at.elapsed() < FLASH_TTL)
        .and_then(|e| e.flash.undo.take())
}

fn view(key: &str) -> Option<FlashView> {
    let all = flashes();
    let e = all
        .iter()
        .find(|e| e.key == key && e.at.elapsed() < FLASH_TTL)?;
    Some(FlashView {
        text: e.flash.text.clone(),
        undo: e.flash.undo.as_ref().map(|_| e.key.clone()),
    })
}

/// The owner's time zone: the setting, else the box's (`TZ`, `/etc/localtime`), else UTC.
pub async fn timezone(state: &AppState) -> TimeZone {
    let name = state
        .store
        .call(|s| s.setting(TZ_SETTING))
        .await
        .ok()
        .flatten()
        .and_then(|v| v.as_str().map(str::to_string));
    name.and_then(|n| TimeZone::get(&n).ok())
        .unwrap_or_else(|| TimeZone::try_system().unwrap_or(TimeZone::UTC))
}

/// The middleware: scope the context for the request; a page (GET) shows the flash once.
pub async fn scope(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let tz = timezone(&state).await;
    let shown = (req.method() == Method::GET)
        .then(|| cookie(req.headers(), FLASH_COOKIE))
        .flatten();
    let flash = shown.as_deref().and_then(view);
    let mut response = PAGE.scope(PageContext { tz, flash }, next.run(req)).await;
    if shown.is_some() {
        let secure = if state.secure() { "; Secure" } else { "" };
        let path = crate::web::site::cookie_path();
        let clear =
            format!("{FLASH_COOKIE}=; HttpOnly; SameSite=Strict; Path={path}; Max-Age=0{secure}");
        if let Ok(v) = HeaderValue::from_str(&clear) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// The current request's context (UTC and no flash outside a page request).
pub fn current() -> PageContext {
    PAGE.try_with(Clone::clone).unwrap_or(PageContext {
        tz: TimeZone::UTC,
        flash: None,
    })
}
