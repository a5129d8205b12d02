//! The HTTP side of authentication: credentials from `Authorization: Bearer` or the
//! `alchemist_session` cookie, the read-only rule for tokens, and the same-origin check that
//! protects cookie-authenticated mutations (and HTML forms) from cross-site requests.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use crate::auth::Principal;

pub const SESSION_COOKIE: &str = "alchemist_session";
/// Marks a browser that logged in before (see `auth::devices`): its logins skip the queue and
/// the throttles that a flood from elsewhere fills.
pub const DEVICE_COOKIE: &str = "alchemist_device";
/// A device is remembered for a year after its last login.
const DEVICE_MAX_AGE_SECS: i64 = 365 * 86_400;

/// The `Set-Cookie` value that starts a session (`token`) or ends it (`None`). `Secure` when
/// served over HTTPS, so the browser never sends the session over plain HTTP (the redirect
/// port included). Its `Path` is the base path (`[proxy] base_path`), so other applications
/// behind the same proxy never see it.
pub fn session_cookie(token: Option<&str>, max_age_secs: i64, secure: bool) -> String {
    let (value, max_age) = match token {
        Some(t) => (t, max_age_secs),
        None => ("", 0),
    };
    let secure = if secure { "; Secure" } else { "" };
    let path = super::site::cookie_path();
    format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age}{secure}"
    )
}

/// Add the cookies of a good login to `response`: the session, and the device cookie when
/// the browser is new.
pub fn set_login_cookies(
    response: &mut Response,
    logged_in: &crate::auth::LoggedIn,
    session_ttl_secs: i64,
    secure: bool,
) -> Result<(), ApiError> {
    let mut cookies = vec![session_cookie(
        Some(&logged_in.session),
        session_ttl_secs,
        secure,
    )];
    if let Some(device) = &logged_in.new_device {
        let secure = if secure { "; Secure" } else { "" };
        let path = super::site::cookie_path();
        cookies.push(format!(
            "{DEVICE_COOKIE}={device}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={DEVICE_MAX_AGE_SECS}{secure}"
        ));
    }
    for cookie in cookies {
        let value = axum::http::HeaderValue::from_str(&cookie).map_err(ApiError::internal)?;
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(())
}

/// The token a request presents, and whether it came from the cookie. Only the Bearer scheme
/// (any case) is ours: another `Authorization` (a reverse proxy's Basic auth, which browsers
/// then send on every request) falls through to the cookie instead of hiding it.
pub fn presented_token(headers: &HeaderMap) -> Option<(String, bool)> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string());
    if let Some(token) = bearer {
        return Some((token, false));
    }
    cookie(headers, SESSION_COOKIE).map(|t| (t, true))
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A browser request from another origin: another site, or this one over the other scheme
/// (`secure`: this server speaks HTTPS). Requests without `Sec-Fetch-Site` and `Origin` (curl,
/// scripts) are not browser cross-site requests and pass.
pub fn is_cross_origin(headers: &HeaderMap, secure: bool) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let scheme = if secure { "https" } else { "http" };
    let Some((origin_scheme, origin_host)) = origin.split_once("://") else {
        return true;
    };
    match host {
        Some(h) => {
            !origin_scheme.eq_ignore_ascii_case(scheme)
                || !origin_host.trim_end_matches('/').eq_ignore_ascii_case(h)
        }
        None => true,
    }
}

fn is_mutation(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware of every protected route.
pub async fn require_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match check(&state, req.headers(), req.method()).await {
        Ok(principal) => {
            req.extensions_mut().insert(principal);
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

/// The principal behind a request's credentials, with the read-only and same-origin rules for
/// mutations applied. Shared by the API middleware and the HTML pages.
pub async fn check(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Principal, ApiError> {
    let Some((token, via_cookie)) = presented_token(headers) else {
        return Err(ApiError::unauthorized(
            "Log in or send an Authorization: Bearer token.",
        ));
    };
    let Some(principal) = state.auth.authenticate(&token, via_cookie).await? else {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "AUTH_INVALID_TOKEN",
            "The session has ended or the token is not valid (revoked, expired or unknown).",
        ));
    };
    if is_mutation(method) {
        if !principal.full_access() {
            return Err(ApiError::forbidden(
                "TOKEN_FORBIDDEN",
                "This token is read-only; only GET requests and the event stream are allowed.",
            ));
        }
        if matches!(
            principal,
            Principal::Session {
                via_cookie: true,
                ..
            }
        ) && is_cross_origin(headers, state.secure())
        {
            return Err(cross_origin());
        }
    }
    Ok(principal)
}

pub fn cross_origin() -> ApiError {
    ApiError::forbidden(
        "CROSS_ORIGIN_FORBIDDEN",
        "Cross-site requests may not change anything with a session cookie.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn bearer_wins_over_cookie() {
        let h = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "alchemist_session=xyz"),
        ]);
        assert_eq!(presented_token(&h), Some(("abc".into(), false)));
        let h = headers(&[("cookie", "a=1; alchemist_session=xyz; b=2")]);
        assert_eq!(presented_token(&h), Some(("xyz".into(), true)));
        assert_eq!(presented_token(&headers(&[])), None);
        let h = headers(&[("authorization", "BEARER abc")]);
        assert_eq!(presented_token(&h), Some(("abc".into(), false)));
        let h = headers(&[
            ("authorization", "Basic YWRtaW46eA=="),
            ("cookie", "alchemist_session=xyz"),
        ]);
        assert_eq!(presented_token(&h), Some(("xyz".into(), true)));
        let h = headers(&[("authorization", "Basic YWRtaW46eA==")]);
        assert_eq!(presented_token(&h), None);
    }

    #[test]
    fn cookie_is_secure_over_tls() {
        assert_eq!(
            session_cookie(Some("t"), 60, false),
            "alchemist_session=t; HttpOnly; SameSite=Strict; Path=/; Max-Age=60"
        );
        assert!(session_cookie(Some("t"), 60, true).ends_with("; Secure"));
        assert_eq!(
            session_cookie(None, 60, true),
            "alchemist_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure"
        );
    }

    #[test]
    fn origin_checks() {
        assert!(!is_cross_origin(&headers(&[]), false));
        assert!(!is_cross_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            false
        ));
        assert!(is_cross_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            false
        ));
        assert!(!is_cross_origin(
            &headers(&[("origin", "http://nas:3000"), ("host", "nas:3000")]),
            false
        ));
        assert!(is_cross_origin(
            &headers(&[("origin", "http://evil.example"), ("host", "nas:3000")]),
            false
        ));
        assert!(is_cross_origin(
            &headers(&[("origin", "null"), ("host", "nas:3000")]),
            false
        ));
        // The scheme counts: an http:// page may not act on the HTTPS server, nor the reverse.
        let same = headers(&[("origin", "https://nas"), ("host", "nas")]);
        assert!(!is_cross_origin(&same, true));
        assert!(is_cross_origin(&same, false));
        let plain = headers(&[("origin", "http://nas"), ("host", "nas")]);
        assert!(is_cross_origin(&plain, true));
    }
}
