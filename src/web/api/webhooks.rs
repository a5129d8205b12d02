//! Intake from Sonarr and Radarr: `POST /api/webhooks/arr` takes their webhook JSON
//! (`Download`, `Upgrade`; `Test` is answered without doing anything; other events are
//! acknowledged and ignored so the sender does not mark the hook broken), maps each file's path
//! through the path map and enqueues it like `POST /api/jobs/enqueue`. Their webhook settings
//! can send a Bearer token or HTTP Basic (any user name, an API token as the password), so this
//! route checks credentials itself instead of behind the Bearer-only middleware; it needs a
//! full-access token. A path no map entry covers is `422 WEBHOOK_PATH_UNMAPPED`, one outside
//! every library folder `422 WEBHOOK_PATH_OUTSIDE_LIBRARY`; both are logged.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::engine::EnqueueError;
use crate::model::JobId;
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::ApiJson;

/// A file of the webhook: its full path, or the path relative to the series or movie folder.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ArrFile {
    pub path: Option<String>,
    pub relative_path: Option<String>,
}

/// A series (Sonarr, `path`) or movie (Radarr, `folderPath`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ArrFolder {
    pub path: Option<String>,
    pub folder_path: Option<String>,
}

/// The members of a Sonarr or Radarr webhook this server reads (others are ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArrWebhook {
    #[schema(example = "Download")]
    pub event_type: String,
    #[serde(default)]
    pub series: Option<ArrFolder>,
    #[serde(default)]
    pub episode_file: Option<ArrFile>,
    #[serde(default)]
    pub episode_files: Option<Vec<ArrFile>>,
    #[serde(default)]
    pub movie: Option<ArrFolder>,
    #[serde(default)]
    pub movie_file: Option<ArrFile>,
}

/// One file queued.
#[derive(Serialize, ToSchema)]
pub struct Intake {
    pub path: String,
    pub id: JobId,
    /// False when the file was already queued or done unchanged.
    pub enqueued: bool,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookResult {
    pub event_type: String,
    /// Files queued (none for `Test` and ignored events).
    pub jobs: Vec<Intake>,
}

/// Bearer, or Basic with the token as the password.
fn presented(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_string());
    }
    None
}

async fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = presented(headers).ok_or_else(|| {
        ApiError::unauthorized("Send an API token as a Bearer token or as the Basic password.")
    })?;
    match state.auth.authenticate(&token, false).await? {
        Some(p) if p.full_access() => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            "TOKEN_FORBIDDEN",
            "This token is read-only; the webhook needs a full-access token.",
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "AUTH_INVALID_TOKEN",
            "The token is not valid (revoked, expired or unknown).",
        )),
    }
}

/// The remote paths the webhook names.
fn remote_paths(hook: &ArrWebhook) -> Vec<String> {
    let join = |folder: Option<&String>, file: &ArrFile| -> Option<String> {
        if let Some(p) = file.path.as_ref().filter(|p| !p.is_empty()) {
            return Some(p.clone());
        }
        let (dir, rel) = (folder?, file.relative_path.as_ref()?);
        let sep = if dir.contains('\\') { '\\' } else { '/' };
        Some(format!("{}{sep}{rel}", dir.trim_end_matches(['/', '\\'])))
    };
    let series = hook.series.as_ref().and_then(|s| s.path.as_ref());
    let movie = hook
        .movie
        .as_ref()
        .and_then(|m| m.folder_path.as_ref().or(m.path.as_ref()));
    let mut out: Vec<String> = Vec::new();
    let files = hook
        .episode_file
        .iter()
        .chain(hook.episode_files.iter().flatten());
    out.extend(files.filter_map(|f| join(series, f)));
    out.extend(hook.movie_file.iter().filter_map(|f| join(movie, f)));
    out.dedup();
    out
}

fn unprocessable(code: &'static str, detail: String, remote: &str) -> ApiError {
    tracing::warn!(code, path = %remote, "*arr webhook refused: {detail}");
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
        .with("path", serde_json::Value::String(remote.to_string()))
}

/// Queue the file a Sonarr or Radarr `Download`/`Upgrade` webhook names.
#[utoipa::path(post, path = "/webhooks/arr", tag = "library", operation_id = "arr_webhook",
    request_body = ArrWebhook,
    responses((status = 200, body = WebhookResult),
              (status = 400, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 401, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 403, body = crate::web::error::Problem, content_type = "application/problem+json"),
              (status = 422, body = crate::web::error::Problem, content_type = "application/problem+json")))]
pub async fn arr(
    State(state): State<AppState>,
    headers: HeaderMap,
    // Credentials are checked before the body: a caller without them learns nothing from a
    // validation message.
    hook: Result<ApiJson<ArrWebhook>, ApiError>,
) -> ApiResult<Json<WebhookResult>> {
    authorize(&state, &headers).await?;
    let ApiJson(hook) = hook?;
    let event_type = hook.event_type.clone();
    if !matches!(event_type.as_str(), "Download" | "Upgrade") {
        tracing::info!(event = %event_type, "*arr webhook: nothing to do for this event");
        return Ok(Json(WebhookResult {
            event_type,
            jobs: Vec::new(),
        }));
    }
    let remotes = remote_paths(&hook);
    if remotes.is_empty() {
        tracing::warn!(event = %event_type, "*arr webhook without a file path refused");
        return Err(ApiError::bad_request(
            "WEBHOOK_NO_PATH",
            "The webhook names no file (episodeFile/movieFile with a path).",
        ));
    }
    let mut jobs = Vec::new();
    for remote in remotes {
        let Some(local) = state.engine.integrations.to_local(&remote) else {
            let detail =
                format!("No path map entry covers `{remote}`; add one under integrations.");
            return Err(unprocessable("WEBHOOK_PATH_UNMAPPED", detail, &remote));
        };
        match state.engine.jobs.enqueue(local.clone()).await {
            Ok((id, enqueued)) => {
                tracing::info!(path = ?local, job = id.0, enqueued, "*arr webhook: file queued");
                jobs.push(Intake {
                    path: local.to_string_lossy().into_owned(),
                    id,
                    enqueued,
                });
            }
            Err(EnqueueError::Forbidden) => {
                let detail = format!("`{remote}` maps to a path outside every library folder.");
                return Err(unprocessable(
                    "WEBHOOK_PATH_OUTSIDE_LIBRARY",
                    detail,
                    &remote,
                ));
            }
            Err(e) => {
                tracing::warn!(path = ?local, error = %e, "*arr webhook: file not queued");
                return Err(e.into());
            }
        }
    }
    Ok(Json(WebhookResult { event_type, jobs }))
}
