//! The jobs list (filter, search, sort, pages, the archived jobs, multi-select actions, restart
//! failed, clear completed, and the undo of a clear or a removal). The list query is parsed by
//! the same `ListParams` as the API's. One job's page is `job`.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::confirm::{self, Ask};
use super::context::{Flash, Undo, redirect, take_undo};
use super::form::{self, Form};
use super::render;
use crate::engine::BatchAction;
use crate::model::{JobId, JobState};
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiQuery;
use crate::web::query::ListParams;

/// Jobs per page.
const PAGE_SIZE: &str = "50";

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(mut params): ApiQuery<ListParams>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    params.limit = Some(PAGE_SIZE.to_string());
    let query = params.parse()?;
    let (jobs, total, cursor) = state.engine.jobs.list(query.clone()).await?;
    let pages = total.div_ceil(query.limit).max(1);
    // Links keep the filter and change only the page. The next page continues after this
    // one's last job (the list's cursor, as the API's `X-Next-Cursor`), so a job that moves
    // while the owner pages (the engine finishing one moves it to the top) is never shown
    // twice, and every job that stayed in place is shown once; one that moved above the
    // cursor is not shown again in this walk. The page number only labels the page (a full
    // last page gets no Next). Previous goes back by number.
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
    let page_link = |page: usize, after: Option<String>| {
        let p = page.to_string();
        let mut pairs = keep.clone();
        pairs.push(("page", &p));
        if let Some(after) = &after {
            pairs.push(("after", after));
        }
        format!("/jobs?{}", form::encode(&pairs))
    };
    let here = match raw.as_deref() {
        Some(q) if !q.is_empty() => format!("/jobs?{q}"),
        _ => "/jobs".to_string(),
    };
    let counts = state.store.status_counts();
    render::page(
        &state,
        "jobs/list.html",
        "jobs",
        context! {
            jobs => Serde(jobs),
            total => total,
            page => query.page,
            pages => pages,
            prev => (query.page > 1).then(|| page_link(query.page - 1, None)),
            next => cursor
                .filter(|_| query.page < pages)
                .map(|c| page_link(query.page + 1, Some(c.token()))),
            status => params.status.clone().unwrap_or_default(),
            search => params.search.clone().unwrap_or_default(),
            sort_by => params.sort_by.clone().unwrap_or_else(|| "created_at".into()),
            sort_desc => query.desc,
            archived => query.archived,
            states => JobState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            completed => counts.get(JobState::Completed),
            failed => counts.get(JobState::Failed) + counts.get(JobState::Cancelled),
            engine => Serde(state.engine.status()),
            here => here,
        },
    )
}

fn ids(form: &Form) -> Result<Vec<JobId>, PageError> {
    form.all("id")
        .map(|v| v.parse::<u64>().map(JobId))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| PageError::new(StatusCode::BAD_REQUEST, "Job ids must be numbers."))
}

fn jobs_word(n: usize) -> String {
    if n == 1 {
        "1 job".into()
    } else {
        format!("{n} jobs")
    }
}

/// How many of `ids` are completed (a restart re-encodes them).
async fn completed_among(state: &AppState, ids: &[JobId]) -> Result<usize, PageError> {
    let ids = ids.to_vec();
    Ok(state
        .store
        .call(move |s| {
            Ok(ids
                .iter()
                .filter(|id| {
                    s.get_job(**id)
                        .is_ok_and(|j| j.status == JobState::Completed)
                })
                .count())
        })
        .await?)
}

/// `POST /jobs/batch`: `action` = restart | cancel | delete | unarchive, `id` repeated.
pub async fn batch(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let back = back_target(&form, "/jobs").to_string();
    let ids = ids(&form)?;
    if ids.is_empty() {
        let text = "Nothing was done: select one or more jobs first (the boxes on the left).";
        return Ok(redirect(&state, &back, Flash::new(text)));
    }
    let n = ids.len();
    let action = match form.require("action")? {
        "restart" => BatchAction::Restart,
        "cancel" => BatchAction::Cancel,
        "delete" => BatchAction::Delete,
        "unarchive" => {
            let count = state
                .engine
                .jobs
                .unarchive(ids)
                .await
                .map_err(ApiError::from)?;
            let text = format!("{} back in the list.", jobs_word(count));
            return Ok(redirect(&state, &back, Flash::new(text)));
        }
        other => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                format!("Unknown action `{other}`."),
            ));
        }
    };
    if !confirm::confirmed(&form) {
        if action == BatchAction::Delete {
            let detail = format!(
                "{} will leave the list. Files on disk are not touched, statistics keep them, \
                 and they stay under “Archived”, from where they can be brought back.",
                jobs_word(n)
            );
            let ask = Ask {
                title: "Remove these jobs from the list?",
                detail,
                button: "Remove from list",
                danger: true,
                cancel: &back,
            };
            return confirm::ask(&state, "jobs", "/jobs/batch", &form, ask);
        }
        let completed = completed_among(&state, &ids).await?;
        if action == BatchAction::Restart && completed > 0 {
            let detail = format!(
                "{} of the selected jobs finished already: restarting encodes those files \
                 again, which takes time and may replace the earlier result.",
                jobs_word(completed)
            );
            let ask = Ask {
                title: "Encode finished jobs again?",
                detail,
                button: "Restart",
                danger: true,
                cancel: &back,
            };
            return confirm::ask(&state, "jobs", "/jobs/batch", &form, ask);
        }
    }
    let count = state
        .engine
        .jobs
        .batch(action, ids.clone())
        .await
        .map_err(ApiError::from)?;
    let flash = match action {
        BatchAction::Restart => Flash::new(format!("{} queued again.", jobs_word(count))),
        BatchAction::Cancel => Flash::new(format!("{} cancelled.", jobs_word(count))),
        BatchAction::Delete => Flash::new(format!("{} removed from the list.", jobs_word(count)))
            .with_undo(Undo::Unarchive(ids)),
    };
    Ok(redirect(&state, &back, flash))
}

pub async fn restart_failed(
    State(state): State<AppState>,
    form: Form,
) -> Result<Response, PageError> {
    let count = state
        .engine
        .jobs
        .restart_failed()
        .await
        .map_err(ApiError::from)?;
    let text = match count {
        0 => "No failed or cancelled jobs to restart.".to_string(),
        n => format!("{} queued again.", jobs_word(n)),
    };
    Ok(redirect(
        &state,
        back_target(&form, "/jobs"),
        Flash::new(text),
    ))
}

pub async fn clear_completed(
    State(state): State<AppState>,
    form: Form,
) -> Result<Response, PageError> {
    let back = back_target(&form, "/jobs").to_string();
    if !confirm::confirmed(&form) {
        let n = state.store.status_counts().get(JobState::Completed) as usize;
        let detail = format!(
            "{} will leave the list. Their files, outputs and statistics stay; the jobs are \
             kept under “Archived” and can be brought back.",
            jobs_word(n)
        );
        let ask = Ask {
            title: "Archive the completed jobs?",
            detail,
            button: "Archive completed",
            danger: false,
            cancel: &back,
        };
        return confirm::ask(&state, "jobs", "/jobs/clear-completed", &form, ask);
    }
    let ids = state
        .engine
        .jobs
        .clear_completed_ids()
        .await
        .map_err(ApiError::from)?;
    let flash = match ids.len() {
        0 => Flash::new("No completed jobs to archive."),
        1 => Flash::new("1 completed job archived.").with_undo(Undo::Unarchive(ids)),
        n => Flash::new(format!("{n} completed jobs archived.")).with_undo(Undo::Unarchive(ids)),
    };
    Ok(redirect(&state, &back, flash))
}

/// `POST /undo`: the undo offered with a result message (once).
pub async fn undo(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let back = back_target(&form, "/jobs").to_string();
    let Some(undo) = take_undo(form.require("key")?) else {
        let text = "That can no longer be undone (it was undone already, or too long ago).";
        return Ok(redirect(&state, &back, Flash::new(text)));
    };
    let text = match undo {
        Undo::Unarchive(ids) => {
            let n = state
                .engine
                .jobs
                .unarchive(ids)
                .await
                .map_err(ApiError::from)?;
            format!("Undone: {} back in the list.", jobs_word(n))
        }
    };
    Ok(redirect(&state, &back, Flash::new(text)))
}

/// The form's `back` field (a local path), else `default`.
pub fn back_target<'a>(form: &'a Form, default: &'a str) -> &'a str {
    form.get("back")
        .map(|b| form::local_target(Some(b)))
        .unwrap_or(default)
}
