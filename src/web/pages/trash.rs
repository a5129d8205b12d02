//! The Trash page: originals replaced by their encodes (`original = "replace"`), what and where
//! they are, their size and when they are purged, with a Restore that puts the original back
//! and removes the encoded copy (after a confirmation); and what was restored or purged.

use axum::extract::State;
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
use crate::store::TrashState;
use crate::web::AppState;
use crate::web::extract::ApiPath;

/// Restored and purged entries listed below the trash (newest first).
const HISTORY_SHOWN: usize = 20;

pub async fn page(State(state): State<AppState>) -> Result<Response, PageError> {
    let all = originals::views(&state.store, state.engine.settings.get().trash_days, true).await?;
    let (held, mut history): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|v| v.state == TrashState::Trashed);
    history.retain(|v| matches!(v.state, TrashState::Restored | TrashState::Purged));
    history.truncate(HISTORY_SHOWN);
    let total: u64 = held.iter().filter_map(|v| v.size_bytes).sum();
    render::page(
        &state,
        "trash.html",
        "trash",
        context! {
            held => Serde(held),
            history => Serde(history),
            total => total,
            trash_days => state.engine.settings.get().trash_days,
        },
    )
}

/// `POST /trash/{job}/restore`: the original back in place, the encoded copy removed.
pub async fn restore(
    State(state): State<AppState>,
    ApiPath(job): ApiPath<u64>,
    form: Form,
) -> Result<Response, PageError> {
    let back = back_target(&form, "/trash").to_string();
    if !confirm::confirmed(&form) {
        let entry =
            originals::view_of(&state.store, state.engine.settings.get().trash_days, job).await?;
        let name = entry
            .as_ref()
            .map(|e| super::present::parts(&e.original_path).name)
            .unwrap_or_else(|| format!("job {job}"));
        let ask = Ask {
            title: "Restore the original?",
            detail: format!(
                "“{name}” goes back where it was and the encoded copy is removed, as if the \
                 file had never been encoded."
            ),
            button: "Restore original",
            danger: false,
            cancel: &back,
        };
        return confirm::ask(
            &state,
            "trash",
            &format!("/trash/{job}/restore"),
            &form,
            ask,
        );
    }
    let view = originals::restore_view(
        &state.store,
        state.engine.settings.get().trash_days,
        job,
        true,
    )
    .await
    .map_err(crate::web::error::ApiError::from)?;
    // The original is back under its name: tell the media servers and *arrs.
    state
        .engine
        .integrations
        .changed(std::path::Path::new(&view.original_path));
    let name = super::present::parts(&view.original_path).name;
    let text = format!("Restored “{name}”; the encoded copy was removed.");
    Ok(redirect(&state, &back, Flash::new(text)))
}
