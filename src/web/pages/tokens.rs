//! API tokens: list, create (the plaintext is shown once, in the answer to the form, never
//! stored or shown again) and revoke.

use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::confirm::{self, Ask};
use super::context::{Flash, redirect};
use super::form::Form;
use super::render;
use crate::store::AccessLevel;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::{ApiPath, Caller};

/// Token management needs full access (a session or a full-access token), as in the API; a
/// read-only token gets the HTML 403 page.
pub struct FullAccess;

impl<S: Send + Sync> FromRequestParts<S> for FullAccess {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, PageError> {
        let Caller(p) = Caller::from_request_parts(parts, state).await?;
        if p.full_access() {
            Ok(FullAccess)
        } else {
            Err(PageError::new(
                StatusCode::FORBIDDEN,
                "This token is read-only; managing tokens needs full access.",
            ))
        }
    }
}

async fn render_page(
    state: &AppState,
    created: Option<(String, String)>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let tokens = state.auth.tokens().await.map_err(ApiError::from)?;
    let mut page = render::page(
        state,
        "tokens.html",
        "tokens",
        context! { tokens => Serde(tokens), created => created, error => error },
    )?;
    // The page may carry a plaintext token: keep it out of every cache.
    page.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(page)
}

pub async fn page(State(state): State<AppState>, _: FullAccess) -> Result<Response, PageError> {
    render_page(&state, None, None).await
}

pub async fn create(
    State(state): State<AppState>,
    _: FullAccess,
    form: Form,
) -> Result<Response, PageError> {
    let name = form.get("name").unwrap_or("").to_string();
    let level = match form.get("access_level") {
        Some("full_access") => AccessLevel::FullAccess,
        _ => AccessLevel::ReadOnly,
    };
    match state
        .auth
        .create_token(&name, level)
        .await
        .map_err(ApiError::from)
    {
        Ok((_, plaintext)) => render_page(&state, Some((name, plaintext)), None).await,
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let mut page = render_page(&state, None, Some(e.detail)).await?;
            *page.status_mut() = StatusCode::BAD_REQUEST;
            Ok(page)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    _: FullAccess,
    ApiPath(id): ApiPath<u64>,
    form: Form,
) -> Result<Response, PageError> {
    let tokens = state.auth.tokens().await.map_err(ApiError::from)?;
    let name = tokens
        .iter()
        .find(|t| t.id == id)
        .map(|t| format!("“{}”", t.name))
        .unwrap_or_else(|| format!("token {id}"));
    if !confirm::confirmed(&form) {
        let ask = Ask {
            title: "Revoke this token?",
            detail: format!(
                "Scripts and apps using {name} lose access at once. This cannot be undone; \
                 they need a new token."
            ),
            button: "Revoke token",
            danger: true,
            cancel: "/tokens",
        };
        return confirm::ask(
            &state,
            "tokens",
            &format!("/tokens/{id}/revoke"),
            &form,
            ask,
        );
    }
    state.auth.revoke_token(id).await.map_err(ApiError::from)?;
    Ok(redirect(
        &state,
        "/tokens",
        Flash::new(format!("Token {name} revoked.")),
    ))
}
