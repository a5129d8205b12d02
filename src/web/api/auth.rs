//! Login and logout. Login sets the `alchemist_session` cookie (HttpOnly, SameSite=Strict);
//! the same token also works as a Bearer token. Logout deletes the session server-side.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::web::AppState;
use crate::web::auth::{
    DEVICE_COOKIE, cookie, cross_origin, is_cross_origin, presented_token, session_cookie,
    set_login_cookies,
};
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{ApiJson, ClientIp};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct StatusOk {
    /// "ok"
    status: &'static str,
}

/// Log in; sets the session cookie. After 10 failures a client gets 429 with Retry-After.
#[utoipa::path(post, path = "/auth/login", security(()), tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = StatusOk),
              (status = 401, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 429, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    if is_cross_origin(&headers, state.secure()) {
        return Err(cross_origin());
    }
    if body.username.len() > 256 || body.password.len() > crate::auth::MAX_PASSWORD_LEN {
        return Err(ApiError::bad_request(
            "VALIDATION_FAILED",
            "Username or password too long.",
        ));
    }
    let device = cookie(&headers, DEVICE_COOKIE);
    let logged_in = state
        .auth
        .login(ip, &body.username, &body.password, device.as_deref())
        .await?;
    let mut response = Json(StatusOk { status: "ok" }).into_response();
    set_login_cookies(
        &mut response,
        &logged_in,
        state.auth.session_ttl_secs(),
        state.secure(),
    )?;
    Ok(response)
}

/// Log out: the session ends server-side and the cookie is cleared. Like every cookie
/// mutation it must come from our own origin (a Bearer logout is exempt).
#[utoipa::path(post, path = "/auth/logout", security(()), tag = "auth",
    responses((status = 200, body = StatusOk),
              (status = 403, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let presented = presented_token(&headers);
    if !matches!(presented, Some((_, false))) && is_cross_origin(&headers, state.secure()) {
        return Err(cross_origin());
    }
    if let Some((token, _)) = presented {
        state.auth.logout(&token).await?;
    }
    let mut response = Json(StatusOk { status: "ok" }).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&session_cookie(None, 0, state.secure()))
            .map_err(ApiError::internal)?,
    );
    Ok(response)
}
