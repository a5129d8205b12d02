//! Extractors that reject with problem+json instead of axum's plain-text rejections, and the
//! access extractors: `Caller` (any authenticated principal) and `FullAccess`.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::auth::Principal;

/// JSON body; malformed JSON, wrong types, a wrong content type and oversized bodies become
/// 400/415/413 problems. Well-formed JSON of the wrong shape (types, missing or unknown fields)
/// is 400 `VALIDATION_FAILED` like every other invalid input, not axum's 422.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let status = match &r {
        JsonRejection::JsonDataError(_) => StatusCode::BAD_REQUEST,
        _ => r.status(),
    };
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return body_too_large();
    }
    let code = match &r {
        JsonRejection::MissingJsonContentType(_) => "UNSUPPORTED_MEDIA_TYPE",
        JsonRejection::JsonSyntaxError(_) => "MALFORMED_JSON",
        JsonRejection::JsonDataError(_) => "VALIDATION_FAILED",
        _ => "BAD_REQUEST",
    };
    let detail = match &r {
        JsonRejection::MissingJsonContentType(_) => {
            "The body must be JSON with `Content-Type: application/json`.".to_string()
        }
        other => other.body_text(),
    };
    ApiError::new(status, code, detail)
}

/// 413 for a body over `MAX_BODY_BYTES` (announced by `Content-Length` or found while reading).
pub fn body_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "BODY_TOO_LARGE",
        "The request body is larger than the 1 MiB limit.",
    )
}

/// Query string.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(ApiQuery(q.0)),
            Err(r) => Err(query_rejection(r)),
        }
    }
}

fn query_rejection(r: QueryRejection) -> ApiError {
    ApiError::bad_request("INVALID_QUERY", r.body_text())
}

/// Path parameters.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(p) => Ok(ApiPath(p.0)),
            Err(r) => Err(path_rejection(r)),
        }
    }
}

fn path_rejection(r: PathRejection) -> ApiError {
    ApiError::bad_request("INVALID_PATH_PARAMETER", r.body_text())
}

/// The authenticated principal (set by the auth middleware).
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(|| ApiError::unauthorized("Log in or send a Bearer token."))
    }
}

/// A principal with full access: a session or a `full_access` token. Required for token
/// management and settings, also on GET.
pub struct FullAccess;

impl<S: Send + Sync> FromRequestParts<S> for FullAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Caller(p) = Caller::from_request_parts(parts, state).await?;
        if p.full_access() {
            Ok(FullAccess)
        } else {
            Err(ApiError::forbidden(
                "TOKEN_FORBIDDEN",
                "This token is read-only; this route needs full access.",
            ))
        }
    }
}

/// The client's address, for throttling and LAN checks: the direct peer's, or the one a
/// trusted reverse proxy forwarded (`[proxy] trusted_proxies`, see `web::site`).
/// Unspecified when the server was not started with connection info.
pub struct ClientIp(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(forwarded) = parts.extensions.get::<super::site::ForwardedClient>() {
            return Ok(ClientIp(forwarded.0));
        }
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip())
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
        ))
    }
}
