//! The jobs list (filter, search, sort, pages, multi-select actions, restart failed, clear
//! completed) and the job page (media info, the decision in plain words, attempts, log tail,
//! actions, priority). The list query is parsed by the same `ListParams` as the API's.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::form::{self, Form};
use super::render;
use crate::engine::BatchAction;
use crate::model::{JobId, JobState};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::{ApiPath, ApiQuery};
use crate::web::query::ListParams;

/// Jobs per page.
const PAGE_SIZE: &str = "50";
/// Log lines shown on the job page (the API returns up to 500).
const LOG_TAIL: usize = 200;

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(mut params): ApiQuery<ListParams>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    params.limit = Some(PAGE_SIZE.to_string());
    let query = params.parse()?;
    let (jobs, total, _) = state.engine.jobs.list(query.clone()).await?;
    let pages = total.div_ceil(query.limit).max(1);
    // Links keep the filter and change only the page.
    let keep: Vec<(&str, &str)> = [
        ("status", params.status.as_deref()),
        ("search", params.search.as_deref()),
        ("sort_by", params.sort_by.as_deref()),
        ("sort_desc", params.sort_desc.as_deref()),
        ("archived", params.archived.as_deref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect();
    let page_link = |page: usize| {
        let p = page.to_string();
        let mut pairs = keep.clone();
        pairs.push(("page", &p));
        format!("/jobs?{}", form::encode(&pairs))
    };
    let here = match raw.as_deref() {
        Some(q) if !q.is_empty() => format!("/jobs?{q}"),
        _ => "/jobs".to_string(),
    };
    render::page(
        &state,
        "jobs/list.html",
        "jobs",
        context! {
            jobs => Serde(jobs),
            total => total,
            page => query.page,
            pages => pages,
            prev => (query.page > 1).then(|| page_link(query.page - 1)),
            next => (query.page < pages).then(|| page_link(query.page + 1)),
            status => params.status.clone().unwrap_or_default(),
            search => params.search.clone().unwrap_or_default(),
            sort_by => params.sort_by.clone().unwrap_or_else(|| "created_at".into()),
            sort_desc => query.desc,
            states => JobState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            here => here,
        },
    )
}

/// `POST /jobs/batch`: `action` = restart | cancel | delete, `id` repeated.
pub async fn batch(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let action = match form.require("action")? {
        "restart" => BatchAction::Restart,
        "cancel" => BatchAction::Cancel,
        "delete" => BatchAction::Delete,
        other => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                format!("Unknown action `{other}`."),
            ));
        }
    };
    let ids = form
        .all("id")
        .map(|v| v.parse::<u64>().map(JobId))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| PageError::new(StatusCode::BAD_REQUEST, "Job ids must be numbers."))?;
    if ids.is_empty() {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "Select at least one job.",
        ));
    }
    state
        .engine
        .jobs
        .batch(action, ids)
        .await
        .map_err(ApiError::from)?;
    Ok(back(&form, "/jobs"))
}

pub async fn restart_failed(
    State(state): State<AppState>,
    form: Form,
) -> Result<Response, PageError> {
    state
        .engine
        .jobs
        .restart_failed()
        .await
        .map_err(ApiError::from)?;
    Ok(back(&form, "/jobs"))
}

pub async fn clear_completed(
    State(state): State<AppState>,
    form: Form,
) -> Result<Response, PageError> {
    state
        .engine
        .jobs
        .clear_completed()
        .await
        .map_err(ApiError::from)?;
    Ok(back(&form, "/jobs"))
}

/// Redirect to the form's `back` field (a local path), else `default`.
fn back(form: &Form, default: &str) -> Response {
    let target = form
        .get("back")
        .map(|b| form::local_target(Some(b)))
        .unwrap_or(default);
    Redirect::to(target).into_response()
}

pub async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Response, PageError> {
    let id = JobId(id);
    let mut details = state.engine.jobs.details(id).await.map_err(|e| match e {
        crate::store::StoreError::NotFound => {
            ApiError::not_found("JOB_NOT_FOUND", format!("Job {id} does not exist."))
        }
        other => other.into(),
    })?;
    let skip = details.logs.len().saturating_sub(LOG_TAIL);
    details.logs.drain(..skip);
    render::page(
        &state,
        "jobs/detail.html",
        "jobs",
        context! {
            d => Serde(details),
        },
    )
}

/// `POST /jobs/{id}/{cancel|restart|priority}`.
pub async fn action(
    State(state): State<AppState>,
    ApiPath((id, action)): ApiPath<(u64, String)>,
    form: Form,
) -> Result<Response, PageError> {
    let job = JobId(id);
    match action.as_str() {
        "cancel" => state.engine.jobs.cancel(job).await,
        "restart" => state.engine.jobs.restart(job).await,
        "priority" => {
            let priority = form.require("priority")?.parse::<i32>().map_err(|_| {
                PageError::new(StatusCode::BAD_REQUEST, "Priority must be a whole number.")
            })?;
            state.engine.jobs.set_priority(job, priority).await
        }
        _ => return Err(PageError::new(StatusCode::NOT_FOUND, "No such job action.")),
    }
    .map_err(ApiError::from)?;
    Ok(back(&form, &format!("/jobs/{id}")))
}
