//! Reading the server's own log (`crate::logs`) for the API and the logs page: the query
//! (level, since, limit) with the same rules for both, and the newest matching lines.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::logs::read::{self, Query};
use crate::logs::{Level, LogEntry};
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};

/// Lines returned when no `limit` is given.
pub const DEFAULT_LIMIT: usize = 200;
/// Most lines one request returns: enough for a screenful of history many times over, while a
/// response stays a few megabytes at most.
pub const MAX_LIMIT: usize = 5000;
/// Most days one download covers; rotation usually keeps far less.
pub const MAX_DAYS: u64 = 90;

/// Query of `GET /api/system/logs`; text here, validated in `parse`.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct LogsParams {
    /// Least severe level returned: error, warn, info (default), debug or trace
    pub level: Option<String>,
    /// Only lines at or after this time: RFC 3339, or Unix seconds
    pub since: Option<String>,
    /// Lines returned, the newest; 1..5000, default 200
    pub limit: Option<String>,
}

impl LogsParams {
    /// The read query, or 400 for invalid input (the logs page uses the same rules).
    pub fn parse(&self) -> Result<Query, ApiError> {
        let min_level = parse_level(self.level.as_deref())?;
        let since = since_param(self.since.as_deref())?;
        let limit = match self.limit.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "INVALID_QUERY",
                        format!("`limit` must be a whole number from 1 to {MAX_LIMIT}"),
                    )
                })?,
        };
        Ok(Query {
            min_level,
            since,
            limit,
        })
    }
}

pub(in crate::web) fn parse_level(text: Option<&str>) -> Result<Level, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(Level::Info),
        Some(t) => t
            .parse()
            .map_err(|e: String| ApiError::bad_request("INVALID_QUERY", e)),
    }
}

/// A `since` query value: absent or blank is `None`; anything else must parse, else 400.
pub(in crate::web) fn since_param(text: Option<&str>) -> Result<Option<i128>, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => parse_since(text).map(Some).ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_QUERY",
                format!("`since` must be an RFC 3339 time or Unix seconds, not `{text}`"),
            )
        }),
    }
}

/// RFC 3339, or Unix seconds with an optional fraction → Unix nanoseconds.
pub(in crate::web) fn parse_since(text: &str) -> Option<i128> {
    if let Some(n) = crate::logs::nanos(text) {
        return Some(n);
    }
    let (whole, frac) = match text.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (text, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(frac.is_empty() || digits(frac) && frac.len() <= 9) {
        return None;
    }
    let secs: i128 = whole.parse().ok()?;
    let nanos: i128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    Some(secs * 1_000_000_000 + nanos)
}

/// The lines found, oldest first (the newest is last).
#[derive(Serialize, ToSchema)]
pub struct LogsPage {
    pub entries: Vec<LogEntry>,
    /// Older matching lines may exist: the limit, or the read budget of 64 MiB, was reached
    /// before the oldest line was looked at.
    pub truncated: bool,
}

/// The log folder of the running server (`<data>/logs`).
pub fn dir(state: &AppState) -> ApiResult<std::path::PathBuf> {
    state
        .store
        .path()
        .parent()
        .map(crate::logs::dir)
        .ok_or_else(|| ApiError::internal("the store has no data directory"))
}

/// Read the newest matching lines (blocking work on the blocking pool).
pub async fn find(state: &AppState, query: Query) -> ApiResult<LogsPage> {
    let dir = dir(state)?;
    let found = tokio::task::spawn_blocking(move || read::query(&dir, &query))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(LogsPage {
        entries: found.entries,
        truncated: found.truncated,
    })
}
