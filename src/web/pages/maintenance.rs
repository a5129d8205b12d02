//! The self-test and restore cards of the system page (`templates/system/maintenance.html`),
//! plain forms that need no JavaScript: "Run self-test" posts and comes back to the page with
//! the report; the restore form uploads the archive as `multipart/form-data`, checked and
//! staged by the same `maintenance::restore::receive` as `POST /api/system/restore`.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use serde::Serialize;

use super::PageError;
use super::context::{Flash, redirect};
use super::render;
use crate::web::AppState;
use crate::web::maintenance::restore::{self, RestoreError};
use crate::web::maintenance::selftest::{self, CheckStatus, SelfTestError, SelfTestReport};

/// What the cards show: the last report, if any.
#[derive(Serialize)]
pub struct View {
    report: Option<SelfTestReport>,
    max_archive_gib: u64,
}

pub async fn view(state: &AppState) -> Result<View, PageError> {
    Ok(View {
        report: selftest::last(state).await?,
        max_archive_gib: restore::MAX_ARCHIVE_BYTES >> 30,
    })
}

/// `POST /system/selftest`.
pub async fn selftest(State(state): State<AppState>) -> Result<Response, PageError> {
    let text = match selftest::run(&state).await {
        Ok(report) => {
            let count = |s: CheckStatus| report.checks.iter().filter(|c| c.status == s).count();
            format!(
                "Self-test done: {} passed, {} warnings, {} failed.",
                count(CheckStatus::Pass),
                count(CheckStatus::Warn),
                count(CheckStatus::Fail)
            )
        }
        Err(SelfTestError::Busy) => "A self-test is already running; reload for its report.".into(),
        Err(SelfTestError::Store(e)) => return Err(e.into()),
    };
    Ok(redirect(&state, "/system#selftest", Flash::new(text)))
}

/// `POST /system/restore`: the `archive` field of the upload form.
pub async fn restore(
    State(state): State<AppState>,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let bad = |m: String| PageError::new(StatusCode::BAD_REQUEST, m);
    let field = loop {
        match form.next_field().await {
            Ok(Some(f)) if f.name() == Some("archive") => break f,
            Ok(Some(_)) => continue,
            Ok(None) => return Err(bad("Choose a backup file (.tar) to restore.".into())),
            Err(e) => return Err(bad(format!("The upload could not be read: {e}."))),
        }
    };
    match restore::receive(&state, field).await {
        Ok(manifest) => render::page(
            &state,
            "system/restoring.html",
            "system",
            context! { created => manifest.created, product_version => manifest.product_version },
        ),
        Err(e) => {
            let status = match &e {
                RestoreError::Busy => StatusCode::CONFLICT,
                RestoreError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                RestoreError::Interrupted(_) => StatusCode::BAD_REQUEST,
                RestoreError::Backup(crate::backup::BackupError::Invalid(_)) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                RestoreError::Backup(_) => return Err(PageError::internal(e)),
            };
            Err(PageError::new(
                status,
                format!("Nothing was restored: {e}. The box keeps its current state."),
            ))
        }
    }
}
