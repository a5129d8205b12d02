//! Library folders (add with the engine's path validation, remove, choose each folder's
//! encoding profile), scans with live status, and the profiles section: every profile listed,
//! custom ones created from a base and deleted. Refusals show the page again with the reason
//! beside the form that caused it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::form::Form;
use super::render;
use crate::profiles::ProfileFields;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiPath;

/// What to show again after a refused form.
#[derive(Default)]
struct Retry {
    folder_error: Option<String>,
    path: String,
    profile_error: Option<String>,
    profile_name: String,
}

async fn render_page(state: &AppState, retry: Retry) -> Result<Response, PageError> {
    let folders = state.engine.folders.list().await?;
    let profiles = state.engine.profiles.list().await.map_err(ApiError::from)?;
    render::page(
        state,
        "library.html",
        "library",
        context! {
            folders => Serde(folders),
            profiles => Serde(profiles),
            scan => Serde(state.engine.scanner.status()),
            error => retry.folder_error,
            path => retry.path,
            profile_error => retry.profile_error,
            profile_name => retry.profile_name,
        },
    )
}

/// 400, 404 and 409 show the page again with `retry`; anything else is an error page.
async fn refused(
    state: &AppState,
    e: ApiError,
    retry: impl FnOnce(String) -> Retry,
) -> Result<Response, PageError> {
    if matches!(
        e.status,
        StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND | StatusCode::CONFLICT
    ) {
        let status = e.status;
        let mut page = render_page(state, retry(e.detail)).await?;
        *page.status_mut() = status;
        Ok(page)
    } else {
        Err(e.into())
    }
}

fn back() -> Response {
    Redirect::to("/library").into_response()
}

pub async fn page(State(state): State<AppState>) -> Result<Response, PageError> {
    render_page(&state, Retry::default()).await
}

/// Add a folder; an invalid path shows the page again with the reason and the typed path.
pub async fn add_folder(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let path = form.get("path").unwrap_or("").to_string();
    let recursive = form.get("recursive").is_some();
    let profile = form.get("profile").map(str::to_string);
    match state
        .engine
        .folders
        .add(path.clone().into(), recursive, profile)
        .await
    {
        Ok(_) => Ok(back()),
        Err(e) => {
            refused(&state, e.into(), |msg| Retry {
                folder_error: Some(msg),
                path,
                ..Retry::default()
            })
            .await
        }
    }
}

pub async fn remove_folder(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Response, PageError> {
    state
        .engine
        .folders
        .remove(id)
        .await
        .map_err(ApiError::from)?;
    Ok(back())
}

/// Choose a folder's profile (the empty choice or `default` is the default profile).
pub async fn folder_profile(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    form: Form,
) -> Result<Response, PageError> {
    let profile = form.get("profile").map(str::to_string);
    match state.engine.folders.set_profile(id, profile).await {
        Ok(_) => Ok(back()),
        Err(e) => {
            refused(&state, e.into(), |msg| Retry {
                folder_error: Some(msg),
                ..Retry::default()
            })
            .await
        }
    }
}

/// Create a custom profile from a base with a few fields over it.
pub async fn create_profile(
    State(state): State<AppState>,
    form: Form,
) -> Result<Response, PageError> {
    let name = form.get("name").unwrap_or("").to_string();
    let created = match profile_fields(&form) {
        Ok(fields) => {
            let base = form.get("base").map(str::to_string);
            state
                .engine
                .profiles
                .create(name.clone(), base, fields)
                .await
                .map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    match created {
        Ok(_) => Ok(back()),
        Err(e) => {
            refused(&state, e, |msg| Retry {
                profile_error: Some(msg),
                profile_name: name,
                ..Retry::default()
            })
            .await
        }
    }
}

pub async fn delete_profile(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Response, PageError> {
    match state.engine.profiles.delete(name).await {
        Ok(()) => Ok(back()),
        Err(e) => {
            refused(&state, e.into(), |msg| Retry {
                profile_error: Some(msg),
                ..Retry::default()
            })
            .await
        }
    }
}

/// The form's optional fields; an empty one keeps the base's value.
fn profile_fields(form: &Form) -> Result<ProfileFields, ApiError> {
    fn parse<T: serde::de::DeserializeOwned>(
        form: &Form,
        name: &str,
        json: impl Fn(&str) -> serde_json::Value,
    ) -> Result<Option<T>, ApiError> {
        form.get(name)
            .map(|v| {
                serde_json::from_value(json(v)).map_err(|_| {
                    ApiError::bad_request("PROFILE_INVALID", format!("`{v}` is not a valid {name}"))
                })
            })
            .transpose()
    }
    let text = |v: &str| serde_json::Value::String(v.to_string());
    let number = |v: &str| {
        v.parse::<u64>()
            .map_or(serde_json::Value::Null, serde_json::Value::from)
    };
    Ok(ProfileFields {
        encoder: parse(form, "encoder", text)?,
        crf: parse(form, "crf", number)?,
        container: parse(form, "container", text)?,
        original: parse(form, "original", text)?,
        min_saving_percent: parse(form, "min_saving_percent", number)?,
        ..ProfileFields::default()
    })
}

pub async fn scan(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    state.engine.scanner.start();
    let back = super::form::local_target(form.get("back"));
    Ok(Redirect::to(back).into_response())
}
