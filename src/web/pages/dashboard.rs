//! The dashboard: running jobs with live progress first, then the queue, the space freed and
//! the space that could be freed (with the warning about duplicate titles), the engine's state
//! and controls in plain words, and the savings charts. A fresh box says to add the library.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;

use super::context::{Flash, redirect};
use super::form::Form;
use super::render;
use super::{PageError, chart};
use crate::engine::EngineCommand;
use crate::engine::state::MAX_OVERRIDE;
use crate::model::{EngineMode, JobState};
use crate::store::JobQuery;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiPath;

/// Running jobs shown on the dashboard; the jobs page has the rest.
const RUNNING_SHOWN: usize = 20;

pub async fn page(State(state): State<AppState>) -> Result<Response, PageError> {
    let state = &state;
    let query = JobQuery {
        statuses: Some(vec![
            JobState::Analyzing,
            JobState::Encoding,
            JobState::Remuxing,
        ]),
        limit: RUNNING_SHOWN,
        ..JobQuery::default()
    };
    let (running, daily, savings, folders) = state
        .store
        .call(move |s| {
            Ok((
                s.list_jobs(&query)?.0,
                s.daily()?,
                s.savings()?,
                s.folders()?.len(),
            ))
        })
        .await?;
    let running: Vec<_> = running
        .into_iter()
        .map(|j| state.engine.jobs.view(j))
        .collect();
    let counts = state.store.status_counts();
    let queue: Vec<(&str, u64)> = JobState::ALL
        .iter()
        .map(|s| (s.as_str(), counts.get(*s)))
        .collect();
    let any_saving = savings.by_codec.iter().any(|c| c.jobs > 0);
    let jobs_total: u64 = queue.iter().map(|(_, n)| n).sum();
    // The estimate is a nicety: a store error leaves the line out, not the page.
    let limit = state.engine.status().concurrent_limit;
    let eta = state.engine.queue.eta(limit).await.ok();
    render::page(
        state,
        "dashboard.html",
        "dashboard",
        context! {
            engine => Serde(state.engine.status()),
            running => Serde(running),
            queue => queue,
            jobs_total => jobs_total,
            savings => Serde(&savings),
            any_saving => any_saving,
            daily => Serde(chart::daily(&daily)),
            codecs => Serde(chart::by_codec(&savings.by_codec)),
            scan => Serde(state.engine.scanner.status()),
            folders => folders,
            eta => eta.as_ref().map(|e| Serde(super::queue::eta_line(e))),
        },
    )
}

/// `POST /engine/{pause|resume|drain|mode}`.
pub async fn engine_action(
    State(state): State<AppState>,
    ApiPath(action): ApiPath<String>,
    form: Form,
) -> Result<Response, PageError> {
    let command = match action.as_str() {
        "pause" => EngineCommand::Pause,
        "resume" => EngineCommand::Resume,
        "drain" => EngineCommand::Drain,
        "mode" => {
            let mode = match form.require("mode")? {
                "background" => EngineMode::Background,
                "balanced" => EngineMode::Balanced,
                "throughput" => EngineMode::Throughput,
                other => {
                    return Err(PageError::new(
                        StatusCode::BAD_REQUEST,
                        format!("Unknown mode `{other}`."),
                    ));
                }
            };
            let jobs = override_field(&form, "concurrent_jobs_override")?;
            let threads = override_field(&form, "threads_override")?;
            state
                .engine
                .set_mode(mode, jobs, threads)
                .await
                .map_err(ApiError::from)?;
            let text = format!("Mode set to {}.", form.require("mode")?);
            return Ok(redirect(&state, "/", Flash::new(text)));
        }
        _ => {
            return Err(PageError::new(
                StatusCode::NOT_FOUND,
                "No such engine action.",
            ));
        }
    };
    state
        .engine
        .command(command)
        .await
        .map_err(ApiError::from)?;
    let text = match command {
        EngineCommand::Pause => "Paused: encodes are suspended until you resume.",
        EngineCommand::Resume => "Resumed.",
        EngineCommand::Drain | EngineCommand::DrainFinished => {
            "Draining: running encodes finish, then the engine pauses."
        }
    };
    Ok(redirect(&state, "/", Flash::new(text)))
}

fn override_field(form: &Form, name: &str) -> Result<u32, PageError> {
    match form.get(name) {
        None => Ok(0),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= MAX_OVERRIDE)
            .ok_or_else(|| {
                PageError::new(
                    StatusCode::BAD_REQUEST,
                    format!("`{name}` must be a whole number from 0 (no override) to 256."),
                )
            }),
    }
}
