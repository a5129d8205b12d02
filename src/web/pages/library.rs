//! Library folders (add with the engine's path validation, remove after a confirmation, choose
//! each folder's encoding profile; nested folders shown inside their parent, whose profile
//! they override; used and free space of each folder's filesystem; how each is watched for
//! new files, with its watch switch and rescan interval), scans with live status,
//! and the profiles section (`profiles`). Refusals show the page again with the reason beside
//! the form that caused it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

use super::PageError;
use super::confirm::{self, Ask};
use super::context::{Flash, redirect};
use super::form::Form;
use super::render;
use crate::engine::FolderView;
use crate::profiles::most_specific;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiPath;

/// What to show again after a refused form.
#[derive(Default)]
pub struct Retry {
    pub folder_error: Option<String>,
    pub path: String,
    pub profile_error: Option<String>,
    pub profile_name: String,
    /// The custom profile whose edit form was refused (shown open).
    pub editing: Option<String>,
}

/// A folder as the page lists it.
#[derive(Serialize)]
struct FolderRow {
    #[serde(flatten)]
    folder: FolderView,
    /// The folder it lies in, when it is nested: its own profile wins for its files.
    inside: Option<String>,
    /// Filesystem holding it: size and free bytes (`None` when it cannot be read now).
    disk_total: Option<u64>,
    disk_free: Option<u64>,
}

async fn rows(folders: Vec<FolderView>) -> Vec<FolderRow> {
    tokio::task::spawn_blocking(move || {
        folders
            .iter()
            .map(|f| {
                let path = std::path::Path::new(&f.path);
                let inside = most_specific(&folders, path, |o| {
                    (std::path::Path::new(&o.path), o.recursive)
                })
                .map(|o| o.path.clone());
                let space = crate::process::disk_space(path).ok();
                FolderRow {
                    folder: f.clone(),
                    inside,
                    disk_total: space.map(|s| s.total),
                    disk_free: space.map(|s| s.free),
                }
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

pub async fn render_page(state: &AppState, retry: Retry) -> Result<Response, PageError> {
    let folders = rows(state.engine.folders.list().await?).await;
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
            editing => retry.editing,
            default_crf => crate::model::CpuEncoder::ALL
                .iter()
                .map(|e| (e.as_str(), crate::profiles::default_crf(*e)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        },
    )
}

/// 400, 404 and 409 show the page again with `retry`; anything else is an error page.
pub async fn refused(
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

pub fn done(state: &AppState, text: impl Into<String>) -> Response {
    redirect(state, "/library", Flash::new(text))
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
        Ok(f) => {
            let profile = f.profile.as_deref().unwrap_or("default");
            let text = format!(
                "Added {} (profile {profile}). Scan now to find its videos.",
                f.path
            );
            Ok(done(&state, text))
        }
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
    form: Form,
) -> Result<Response, PageError> {
    let folders = state.engine.folders.list().await?;
    let path = folders
        .iter()
        .find(|f| f.id == id)
        .map(|f| f.path.clone())
        .unwrap_or_else(|| format!("folder {id}"));
    if !confirm::confirmed(&form) {
        let ask = Ask {
            title: "Remove this folder from the library?",
            detail: format!(
                "{path} will no longer be scanned. Nothing on disk is deleted, and its jobs \
                 and statistics stay."
            ),
            button: "Remove folder",
            danger: false,
            cancel: "/library",
        };
        let action = format!("/library/folders/{id}/remove");
        return confirm::ask(&state, "library", &action, &form, ask);
    }
    state
        .engine
        .folders
        .remove(id)
        .await
        .map_err(ApiError::from)?;
    Ok(done(&state, format!("Removed {path} from the library.")))
}

/// Choose a folder's profile (the empty choice or `default` is the default profile).
pub async fn folder_profile(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    form: Form,
) -> Result<Response, PageError> {
    let profile = form.get("profile").map(str::to_string);
    match state.engine.folders.set_profile(id, profile).await {
        Ok(f) => {
            let profile = f.profile.as_deref().unwrap_or("default");
            Ok(done(
                &state,
                format!("{} now uses profile {profile}.", f.path),
            ))
        }
        Err(e) => {
            refused(&state, e.into(), |msg| Retry {
                folder_error: Some(msg),
                ..Retry::default()
            })
            .await
        }
    }
}

/// Turn a folder's watch on or off and set its rescan interval.
pub async fn folder_watch(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
    form: Form,
) -> Result<Response, PageError> {
    let watch = form.get("watch").is_some();
    let minutes = form.get("rescan_interval_minutes").unwrap_or("").trim();
    let result = match minutes.parse::<u32>() {
        Ok(m) if m <= crate::engine::MAX_RESCAN_MINUTES => {
            state
                .engine
                .folders
                .set_watch(id, Some(watch), Some(m))
                .await
        }
        _ => Err(crate::engine::FolderError::Invalid(format!(
            "The rescan interval must be a whole number of minutes from 0 (never) to {}.",
            crate::engine::MAX_RESCAN_MINUTES
        ))),
    };
    match result {
        Ok(f) => {
            let how = if f.watch { "watched" } else { "not watched" };
            Ok(done(&state, format!("{} is {how}.", f.path)))
        }
        Err(e) => {
            refused(&state, e.into(), |msg| Retry {
                folder_error: Some(msg),
                ..Retry::default()
            })
            .await
        }
    }
}

pub async fn scan(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let text = if state.engine.scanner.start() {
        "Scan started."
    } else {
        "A scan is already running."
    };
    let back = super::form::local_target(form.get("back"));
    Ok(redirect(&state, back, Flash::new(text)))
}
