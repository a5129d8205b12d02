//! First-run setup (create the admin: only while none exists and only from loopback or LAN
//! addresses), login and logout. The same-origin rule of cookie mutations applies to all three
//! forms even though they need no session.

use std::net::IpAddr;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

use super::PageError;
use super::form::{Form, local_target};
use super::render::bare;
use crate::auth::AuthError;
use crate::web::AppState;
use crate::web::auth::{
    DEVICE_COOKIE, cookie, is_cross_origin, presented_token, session_cookie, set_login_cookies,
};
use crate::web::error::ApiError;
use crate::web::extract::ClientIp;

/// True while no account exists.
pub async fn needs_setup(state: &AppState) -> bool {
    state
        .store
        .call(|s| s.user_count())
        .await
        .is_ok_and(|n| n == 0)
}

/// Loopback, private (RFC 1918, IPv6 ULA) and link-local addresses: the setup page is not
/// offered to the internet, where the first visitor would become the admin.
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_local(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

fn refuse_cross_origin(state: &AppState, headers: &HeaderMap) -> Result<(), PageError> {
    if is_cross_origin(headers, state.secure()) {
        return Err(PageError::from(crate::web::auth::cross_origin()));
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    if needs_setup(&state).await {
        return Ok(Redirect::to("/setup").into_response());
    }
    let next = local_target(q.next.as_deref());
    bare(
        "session/login.html",
        context! { next => next, error => None::<String>, username => "" },
    )
}

pub async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, PageError> {
    refuse_cross_origin(&state, &headers)?;
    let username = form.get("username").unwrap_or("").to_string();
    let password = form.raw("password").unwrap_or("").to_string();
    let next = local_target(form.get("next")).to_string();
    // Not held while the login waits for a hashing thread (up to seconds under a flood).
    drop(form);
    if username.len() > 256 || password.len() > crate::auth::MAX_PASSWORD_LEN {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "Username or password too long.",
        ));
    }
    let device = cookie(&headers, DEVICE_COOKIE);
    let login = state
        .auth
        .login(ip, &username, &password, device.as_deref())
        .await;
    let logged_in = match login {
        Ok(logged_in) => logged_in,
        Err(
            e @ (AuthError::InvalidCredentials
            | AuthError::RateLimited { .. }
            | AuthError::Busy { .. }),
        ) => {
            let err = ApiError::from(e);
            let mut page = bare(
                "session/login.html",
                context! { next => next, error => err.detail, username => username },
            )?;
            *page.status_mut() = err.status;
            return Ok(page);
        }
        Err(e) => return Err(ApiError::from(e).into()),
    };
    let mut response = Redirect::to(&next).into_response();
    set_login_cookies(
        &mut response,
        &logged_in,
        state.auth.session_ttl_secs(),
        state.secure(),
    )?;
    Ok(response)
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    refuse_cross_origin(&state, &headers)?;
    if let Some((token, _)) = presented_token(&headers) {
        state.auth.logout(&token).await.map_err(ApiError::from)?;
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&session_cookie(None, 0, state.secure()))
            .map_err(PageError::internal)?,
    );
    Ok(response)
}

/// Setup is offered only while no admin exists, and only to local addresses.
async fn setup_allowed(state: &AppState, ip: IpAddr) -> Result<Option<Response>, PageError> {
    if !needs_setup(state).await {
        return Ok(Some(Redirect::to("/login").into_response()));
    }
    if !is_local(ip) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "First-run setup is only available from this machine or the local network.",
        ));
    }
    Ok(None)
}

pub async fn setup_page(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
) -> Result<Response, PageError> {
    if let Some(done) = setup_allowed(&state, ip).await? {
        return Ok(done);
    }
    bare(
        "session/setup.html",
        context! { error => None::<String>, username => "admin" },
    )
}

pub async fn setup(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Form,
) -> Result<Response, PageError> {
    refuse_cross_origin(&state, &headers)?;
    // One setup at a time, and the no-admin check again under the lock: two concurrent posts
    // must not both create an account.
    static SETUP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = SETUP.lock().await;
    if let Some(done) = setup_allowed(&state, ip).await? {
        return Ok(done);
    }
    let username = form.get("username").unwrap_or("").to_string();
    let password = form.raw("password").unwrap_or("").to_string();
    let error = if Some(password.as_str()) != form.raw("password_repeat") {
        Some("The two passwords differ.".to_string())
    } else if let Some(why) = weak_password(&username, &password) {
        Some(why.to_string())
    } else {
        match state.auth.create_user(&username, &password).await {
            Ok(()) => None,
            Err(AuthError::Invalid(msg)) => Some(msg),
            Err(e) => return Err(ApiError::from(e).into()),
        }
    };
    if let Some(error) = error {
        let mut page = bare(
            "session/setup.html",
            context! { error => error, username => username },
        )?;
        *page.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(page);
    }
    tracing::info!(username, "admin created through the setup page");
    // The owner just chose the password: sign them in rather than ask for it again.
    let logged_in = match state.auth.login(ip, &username, &password, None).await {
        Ok(logged_in) => logged_in,
        Err(e) => {
            tracing::warn!(error = %e, "signing the new admin in failed; the login page follows");
            return Ok(Redirect::to("/login").into_response());
        }
    };
    let mut response = Redirect::to("/").into_response();
    set_login_cookies(
        &mut response,
        &logged_in,
        state.auth.session_ttl_secs(),
        state.secure(),
    )?;
    Ok(response)
}

/// Passwords tried first by anyone guessing (lower case): the admin account guards every
/// file in the library, so setup refuses them whatever their length.
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password123",
    "passw0rd",
    "p@ssw0rd",
    "12345678",
    "123456789",
    "1234567890",
    "87654321",
    "11111111",
    "00000000",
    "qwertyui",
    "qwerty123",
    "qwertyuiop",
    "azertyui",
    "abcdefgh",
    "abc12345",
    "iloveyou",
    "letmein1",
    "welcome1",
    "changeme",
    "administrator",
    "admin123",
    "adminadmin",
    "alchemist",
    "trustno1",
    "sunshine",
    "football",
];

/// Why a new admin password is too easy to guess, if it is: a common password, the user name,
/// one character repeated, or a run of consecutive characters (`abcdefgh`, `23456789`).
pub fn weak_password(username: &str, password: &str) -> Option<&'static str> {
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Some(
            "This password is one of the first that anyone guessing tries; choose another.",
        );
    }
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Some("The password must not contain the user name.");
    }
    let chars: Vec<char> = lower.chars().collect();
    let same = chars.windows(2).all(|w| w[0] == w[1]);
    let run = chars
        .windows(2)
        .all(|w| w[1] as u32 == w[0] as u32 + 1 || w[1] as u32 + 1 == w[0] as u32);
    if chars.len() > 1 && (same || run) {
        return Some("The password is one character repeated or a plain sequence; choose another.");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused() {
        for p in [
            "password",
            "Password",
            "12345678",
            "admin-2024!",
            "aaaaaaaaaa",
            "abcdefghij",
            "98765432",
        ] {
            assert!(weak_password("admin", p).is_some(), "{p}");
        }
        for p in ["correct horse battery", "Tr0ub4dor&3x", "n4s-at-home-7"] {
            assert!(weak_password("admin", p).is_none(), "{p}");
        }
    }

    #[test]
    fn setup_only_from_local_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.20",
            "172.16.0.9",
            "169.254.1.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:192.168.0.2",
        ] {
            assert!(is_local(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "2001:db8::1",
            "::ffff:8.8.8.8",
            "100.64.0.1",
        ] {
            assert!(!is_local(ip.parse().unwrap()), "{ip}");
        }
    }
}
