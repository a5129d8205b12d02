//! One job's page: the file, what happened in plain words (the result of a finished job, the
//! reason of a skip or a failure, raw values behind "technical details"), the profile it used
//! and the folder that chose it, the original's place in the trash with a restore, the actions
//! its state allows, attempts and the log (newest first).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;

use super::PageError;
use super::confirm::{self, Ask};
use super::context::{Flash, redirect};
use super::form::Form;
use super::jobs::back_target;
use super::render;
use crate::engine::originals;
use crate::model::{JobId, JobState};
use crate::profiles::most_specific;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiPath;

/// Log lines shown at once on the job page, newest first; the rest behind a disclosure.
const LOG_SHOWN: usize = 30;
/// Log lines on the page at all (the API returns up to 500).
const LOG_TAIL: usize = 200;

fn not_found(id: JobId) -> impl Fn(crate::store::StoreError) -> PageError {
    move |e| match e {
        crate::store::StoreError::NotFound => {
            ApiError::not_found("JOB_NOT_FOUND", format!("Job {id} does not exist.")).into()
        }
        other => other.into(),
    }
}

pub async fn detail(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<u64>,
) -> Result<Response, PageError> {
    let id = JobId(id);
    let mut details = state.engine.jobs.details(id).await.map_err(not_found(id))?;
    let skip = details.logs.len().saturating_sub(LOG_TAIL);
    details.logs.drain(..skip);
    details.logs.reverse();
    let older = details.logs.split_off(details.logs.len().min(LOG_SHOWN));
    let trash =
        originals::view_of(&state.store, state.engine.settings.get().trash_days, id.0).await?;
    // The folder whose profile applies (the most specific one holding the file).
    let folders = state.engine.folders.list().await?;
    let input = std::path::Path::new(&details.job.input_path);
    let folder = most_specific(&folders, input, |f| {
        (std::path::Path::new(&f.path), f.recursive)
    })
    .cloned();
    let will_use = match (&details.profile, &folder) {
        (None, Some(f)) => Some(f.profile.clone().unwrap_or_else(|| "default".into())),
        (None, None) => Some("default".to_string()),
        _ => None,
    };
    render::page(
        &state,
        "jobs/detail.html",
        "jobs",
        context! {
            d => Serde(&details),
            older_logs => Serde(older),
            trash => Serde(trash),
            folder => Serde(folder),
            will_use => will_use,
            engine => Serde(state.engine.status()),
            trash_days => state.engine.settings.get().trash_days,
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
    let here = format!("/jobs/{id}");
    let back = back_target(&form, &here).to_string();
    let text = match action.as_str() {
        "cancel" => {
            state
                .engine
                .jobs
                .cancel(job)
                .await
                .map_err(ApiError::from)?;
            "Cancelled.".to_string()
        }
        "restart" => {
            let status = state
                .store
                .call(move |s| s.get_job(job))
                .await
                .map_err(not_found(job))?
                .status;
            if status == JobState::Completed && !confirm::confirmed(&form) {
                let ask = Ask {
                    title: "Encode this file again?",
                    detail: "The job finished already: restarting encodes the file again, which \
                             takes time and may replace the earlier result."
                        .into(),
                    button: "Encode again",
                    danger: true,
                    cancel: &back,
                };
                return confirm::ask(&state, "jobs", &format!("/jobs/{id}/restart"), &form, ask);
            }
            state
                .engine
                .jobs
                .restart(job)
                .await
                .map_err(ApiError::from)?;
            "Queued again.".to_string()
        }
        "priority" => {
            let priority = form.require("priority")?.parse::<i32>().map_err(|_| {
                PageError::new(StatusCode::BAD_REQUEST, "Priority must be a whole number.")
            })?;
            state
                .engine
                .jobs
                .set_priority(job, priority)
                .await
                .map_err(ApiError::from)?;
            format!("Priority set to {priority}.")
        }
        _ => return Err(PageError::new(StatusCode::NOT_FOUND, "No such job action.")),
    };
    Ok(redirect(&state, &back, Flash::new(text)))
}
