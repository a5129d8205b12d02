//! The one HTTP error type. Every failure leaves as `application/problem+json`
//! `{type, title, status, detail, instance, code, request_id}` with a stable SCREAMING_SNAKE
//! `code`; causes are logged here, never sent (no paths of the data dir, no store errors).
//! Extractor rejections (bad JSON, wrong content type, bad path or query) use the same shape.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::AuthError;
use crate::engine::{EngineError, EnqueueError, FolderError};
use crate::profiles::ProfileError;
use crate::store::StoreError;

tokio::task_local! {
    /// Request id and path of the request being handled (set by the request-id middleware).
    pub static REQUEST: (String, String);
}

/// The problem document (RFC 9457) as served; used for the OpenAPI schema.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub instance: Option<String>,
    pub code: String,
    pub request_id: Option<String>,
    /// The request field at fault, on validation problems that can name one (profiles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An HTTP error: status, stable code, a human sentence, optional extension members.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub extra: Option<(&'static str, Value)>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            extra: None,
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "AUTH_REQUIRED", detail)
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "The server could not complete the request; the cause is in its log.",
        )
    }

    pub fn with(mut self, name: &'static str, value: Value) -> Self {
        self.extra = Some((name, value));
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (request_id, path) = REQUEST
            .try_with(|(id, path)| (Some(id.clone()), Some(path.clone())))
            .unwrap_or((None, None));
        let title = self.status.canonical_reason().unwrap_or("Error");
        let mut body = serde_json::json!({
            "type": format!("urn:alchemist:problem:{}", self.code.to_lowercase().replace('_', "-")),
            "title": title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "instance": path,
            "code": self.code,
            "request_id": request_id,
        });
        if let (Some((name, value)), Some(map)) = (self.extra, body.as_object_mut()) {
            map.insert(name.to_string(), value);
        }
        let mut response = (self.status, Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was never read: the connection cannot carry another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<crate::engine::originals::RestoreError> for ApiError {
    fn from(e: crate::engine::originals::RestoreError) -> Self {
        use crate::engine::originals::RestoreError;
        match e {
            RestoreError::NotFound(_) => ApiError::not_found("TRASH_NOT_FOUND", e.to_string()),
            RestoreError::Refused(why) => {
                ApiError::new(StatusCode::CONFLICT, "RESTORE_REFUSED", why)
            }
            RestoreError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("NOT_FOUND", "No such resource."),
            StoreError::Conflict(msg) => ApiError::new(StatusCode::CONFLICT, "CONFLICT", msg),
            StoreError::Invalid(msg) => ApiError::bad_request("VALIDATION_FAILED", msg),
            other => ApiError::internal(other),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "AUTH_INVALID_CREDENTIALS",
                "Invalid username or password.",
            ),
            AuthError::RateLimited { retry_after } => {
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "AUTH_RATE_LIMITED",
                    format!("Too many failed logins from this address; retry in {retry_after} s."),
                );
                err.retry_after = Some(retry_after);
                err
            }
            AuthError::Busy { retry_after } => {
                let mut err = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "AUTH_BUSY",
                    format!("Too many logins at once; retry in {retry_after} s."),
                );
                err.retry_after = Some(retry_after);
                err
            }
            AuthError::Invalid(msg) => ApiError::bad_request("VALIDATION_FAILED", msg),
            AuthError::Store(e) => e.into(),
            AuthError::Hash => ApiError::internal("password hashing failed"),
            AuthError::TokenNotFound(id) => {
                ApiError::not_found("API_TOKEN_NOT_FOUND", format!("Token {id} does not exist."))
            }
            AuthError::Task(e) => ApiError::internal(e),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(e) => e.into(),
            EngineError::JobNotFound(id) => {
                ApiError::not_found("JOB_NOT_FOUND", format!("Job {id} does not exist."))
            }
            EngineError::JobActive { id, status } => ApiError::new(
                StatusCode::CONFLICT,
                "JOB_ACTIVE",
                format!("Job {id} is {status}; wait for it to finish or cancel it first."),
            )
            .with("blocked", serde_json::json!([{"id": id, "status": status}])),
            EngineError::Blocked(list) => {
                let blocked: Vec<Value> = list
                    .iter()
                    .map(|(id, status)| serde_json::json!({"id": id, "status": status}))
                    .collect();
                ApiError::new(
                    StatusCode::CONFLICT,
                    "JOB_ACTIVE",
                    "Some jobs are active or unknown; nothing was changed.",
                )
                .with("blocked", Value::Array(blocked))
            }
            EngineError::Invalid(msg) => ApiError::bad_request("VALIDATION_FAILED", msg),
        }
    }
}

impl From<EnqueueError> for ApiError {
    fn from(e: EnqueueError) -> Self {
        let msg = e.to_string();
        match e {
            EnqueueError::Forbidden => ApiError::forbidden("ENQUEUE_PATH_FORBIDDEN", msg),
            EnqueueError::NotFound => ApiError::bad_request("ENQUEUE_PATH_NOT_FOUND", msg),
            EnqueueError::NotAFile => ApiError::bad_request("ENQUEUE_PATH_NOT_FILE", msg),
            EnqueueError::Unsupported => ApiError::bad_request("ENQUEUE_UNSUPPORTED_TYPE", msg),
            EnqueueError::OwnFile => ApiError::bad_request("ENQUEUE_OWN_FILE", msg),
            EnqueueError::Engine(e) => e.into(),
        }
    }
}

impl From<FolderError> for ApiError {
    fn from(e: FolderError) -> Self {
        match e {
            FolderError::Invalid(msg) => ApiError::bad_request("FOLDER_INVALID", msg),
            e @ FolderError::UnknownProfile(_) => {
                ApiError::bad_request("FOLDER_PROFILE_UNKNOWN", e.to_string())
            }
            FolderError::Exists(msg) => ApiError::new(StatusCode::CONFLICT, "FOLDER_EXISTS", msg),
            FolderError::OutsideRoots(msg) => ApiError::bad_request("FOLDER_OUTSIDE_ROOTS", msg),
            FolderError::NotFound(id) => {
                ApiError::not_found("FOLDER_NOT_FOUND", format!("Folder {id} does not exist."))
            }
            FolderError::Store(e) => e.into(),
        }
    }
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> Self {
        let msg = e.to_string();
        match e {
            ProfileError::NotFound(_) => ApiError::not_found("PROFILE_NOT_FOUND", msg),
            ProfileError::Exists(_) => ApiError::new(StatusCode::CONFLICT, "PROFILE_EXISTS", msg),
            ProfileError::ReadOnly(_) => {
                ApiError::new(StatusCode::CONFLICT, "PROFILE_READ_ONLY", msg)
            }
            ProfileError::InUse(_) => ApiError::new(StatusCode::CONFLICT, "PROFILE_IN_USE", msg),
            ProfileError::Invalid(_) => ApiError::bad_request("PROFILE_INVALID", msg),
            ProfileError::InvalidField(field, _) => {
                ApiError::bad_request("PROFILE_INVALID", msg).with("field", field.into())
            }
            ProfileError::FolderNotFound(_) => ApiError::not_found("FOLDER_NOT_FOUND", msg),
            ProfileError::UnknownForFolder(_) => {
                ApiError::bad_request("FOLDER_PROFILE_UNKNOWN", msg)
            }
            ProfileError::Store(e) => e.into(),
        }
    }
}

/// Result type of handlers.
impl From<crate::backup::BackupError> for ApiError {
    fn from(e: crate::backup::BackupError) -> Self {
        match e {
            crate::backup::BackupError::Invalid(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
            }
            other => ApiError::internal(other),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
