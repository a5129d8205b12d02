//! Self-test: [`run`] runs every check (`checks`) now and keeps the report, [`last`] reads
//! the last one; `POST`/`GET /api/system/selftest` and the system page both use them. The
//! report is kept in the store's settings (`selftest.last_report`), so it is in every backup
//! and survives restarts. One run at a time per server: a second run while one runs gets 409
//! (a run does real encodes, and two at once would only measure each other).

mod checks;
mod encode;
mod reach;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::LowSpaceSettings;
use crate::store::StoreError;
use crate::web::AppState;
use crate::web::error::ApiError;

/// Settings key of the last report.
const REPORT_KEY: &str = "selftest.last_report";

/// What the checks need from the server's configuration (the programs the engine runs and
/// the low-space thresholds of `[notifications]`), and the one-run-at-a-time flag.
#[derive(Clone)]
pub struct Maintenance {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub low_space: LowSpaceSettings,
    running: Arc<AtomicBool>,
    /// Set once a restore is staged: the server is on its way down.
    pub(crate) restoring: Arc<AtomicBool>,
}

impl Maintenance {
    pub fn new(ffmpeg: PathBuf, ffprobe: PathBuf, low_space: LowSpaceSettings) -> Self {
        Maintenance {
            ffmpeg,
            ffprobe,
            low_space,
            running: Arc::default(),
            restoring: Arc::default(),
        }
    }
}

/// How one check (and the whole report: its worst check) came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// Stable id: `ffmpeg`, `ffprobe`, `encode.cpu`, `encode.vaapi`, `encode.v4l2m2m`,
    /// `store`, `space`, `clock`, `write`, `integration.<service>`, `notify.<name>`,
    /// `mqtt` (with `:<path>` or `:<device>` where there is one per folder or device).
    #[schema(example = "write:/media/films")]
    pub id: String,
    pub status: CheckStatus,
    /// One plain sentence.
    pub message: String,
    /// Versions, commands, sizes, errors: what support needs.
    #[serde(default)]
    pub detail: Option<String>,
}

/// A self-test report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SelfTestReport {
    /// The worst status of any check.
    pub status: CheckStatus,
    /// RFC 3339 UTC.
    pub started: String,
    pub finished: String,
    pub checks: Vec<Check>,
}

/// Why a self-test could not run.
#[derive(Debug, thiserror::Error)]
pub enum SelfTestError {
    #[error("a self-test is already running")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SelfTestError> for ApiError {
    fn from(e: SelfTestError) -> Self {
        match e {
            SelfTestError::Busy => ApiError::new(
                StatusCode::CONFLICT,
                "SELFTEST_RUNNING",
                "A self-test is already running; its report will be the latest.",
            ),
            SelfTestError::Store(e) => e.into(),
        }
    }
}

/// Clears the running flag however the run ends (a dropped request included).
struct Running(Arc<AtomicBool>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Run every check now, keep the report and answer it. The run is a task of its own: a
/// client that gives up (or the request timeout) does not cut it short, and its report is
/// still kept.
pub async fn run(state: &AppState) -> Result<SelfTestReport, SelfTestError> {
    let m = &state.maintenance;
    if m.running.swap(true, Ordering::SeqCst) {
        return Err(SelfTestError::Busy);
    }
    let running = Running(m.running.clone());
    let state = state.clone();
    tokio::spawn(async move {
        let _running = running;
        run_checks(&state).await
    })
    .await
    .map_err(|e| SelfTestError::Store(StoreError::Task(e.to_string())))?
}

async fn run_checks(state: &AppState) -> Result<SelfTestReport, SelfTestError> {
    let started_ms = crate::model::now_ms();
    let checks = checks::all(state).await;
    let report = SelfTestReport {
        status: checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(CheckStatus::Pass),
        started: crate::model::rfc3339(started_ms),
        finished: crate::model::rfc3339(crate::model::now_ms()),
        checks,
    };
    let value = serde_json::to_value(&report).map_err(|e| StoreError::Invalid(e.to_string()))?;
    state
        .store
        .call(move |s| s.set_setting(REPORT_KEY, &value))
        .await?;
    tracing::info!(status = ?report.status, checks = report.checks.len(), "self-test done");
    Ok(report)
}

/// The last report, if a self-test ever ran.
pub async fn last(state: &AppState) -> Result<Option<SelfTestReport>, StoreError> {
    let value = state.store.call(|s| s.setting(REPORT_KEY)).await?;
    // A report in an older shape is as good as none: the next run replaces it.
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}
