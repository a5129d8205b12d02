//! Library folders (add with the engine's path validation, remove) and scans with live status.
//! Transcoding profiles arrive with the media pipeline; the page has their place, empty.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::form::Form;
use super::render;
use crate::web::AppState;
use crate::web::api::library::{FolderView, add, remove};
use crate::web::extract::ApiPath;

async fn render_page(
    state: &AppState,
    error: Option<String>,
    path: &str,
) -> Result<Response, PageError> {
    let folders = state.store.call(|s| s.folders()).await?;
    let folders: Vec<FolderView> = folders.into_iter().map(FolderView::from).collect();
    render::page(
        state,
        "library.html",
        "library",
        context! {
            folders => Serde(folders),
            scan => Serde(state.engine.scan_status()),
            error => error,
            path => path,
        },
    )
}

pub async fn page(State(state): State<AppState>) -> Result<Response, PageError> {
    render_page(&state, None, "").await
}

/// Add a folder; an invalid path shows the page again with the reason and the typed path.
pub async fn add_folder(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let path = form.get("path").unwrap_or("").to_string();
    let recursive = form.get("recursive").is_some();
    match add(&state, &path, recursive).await {
        Ok(_) => Ok(Redirect::to("/library").into_response()),
        Err(e) if e.status == StatusCode::BAD_REQUEST || e.status == StatusCode::CONFLICT => {
            let mut page = render_page(&state, Some(e.detail), &path).await?;
            *page.status_mut() = e.status;
            Ok(page)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn remove_folder(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Response, PageError> {
    remove(&state, id).await?;
    Ok(Redirect::to("/library").into_response())
}

pub async fn scan(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    state.engine.start_scan();
    let back = super::form::local_target(form.get("back"));
    Ok(Redirect::to(back).into_response())
}
