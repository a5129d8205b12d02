//! Confirmation of destructive actions, without JavaScript: a form post that would delete,
//! archive, revoke, remove or re-encode something and lacks `confirm=yes` is answered with a
//! page that asks, carrying the same fields plus `confirm=yes` in a second form. With
//! JavaScript, `app.js` asks in a dialog first (buttons with `data-confirm`) and sends
//! `confirm=yes` itself, so the page is skipped.

use axum::response::Response;
use minijinja::context;

use super::PageError;
use super::form::Form;
use super::render;
use crate::web::AppState;

/// What to ask.
pub struct Ask<'a> {
    /// Short title, also the page's heading: "Remove this folder?"
    pub title: &'a str,
    /// What will happen, in a sentence or two.
    pub detail: String,
    /// The confirming button's label: "Remove folder".
    pub button: &'a str,
    /// Whether the action cannot be undone (its button is drawn as a danger).
    pub danger: bool,
    /// Where "Go back" leads.
    pub cancel: &'a str,
}

/// Whether the form carries the confirmation.
pub fn confirmed(form: &Form) -> bool {
    form.get("confirm") == Some("yes")
}

/// The page that asks; its form posts `form`'s fields again to `action` with `confirm=yes`.
pub fn ask(
    state: &AppState,
    nav: &str,
    action: &str,
    form: &Form,
    ask: Ask<'_>,
) -> Result<Response, PageError> {
    let fields: Vec<(String, String)> = form
        .pairs()
        .filter(|(k, _)| *k != "confirm")
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    render::page(
        state,
        "confirm.html",
        nav,
        context! {
            title => ask.title,
            detail => ask.detail,
            button => ask.button,
            danger => ask.danger,
            cancel => super::form::local_target(Some(ask.cancel)).to_string(),
            action => action,
            fields => fields,
        },
    )
}
