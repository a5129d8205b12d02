//! The job list's query string, shared by `GET /api/jobs` and the jobs page: everything
//! arrives as text and is validated into the store's [`JobQuery`], with 400 for bad input.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::model::JobState;
use crate::store::{Cursor, JobQuery, SortKey};
use crate::web::error::ApiError;

/// Largest page.
pub const MAX_LIMIT: usize = 200;

/// Query of `GET /api/jobs`; everything is text here and validated in `parse`.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1..200, default 50
    pub limit: Option<String>,
    /// 1-based page, default 1
    pub page: Option<String>,
    /// Comma-separated job states
    pub status: Option<String>,
    /// Case-insensitive substring of the input path
    pub search: Option<String>,
    /// created_at | updated_at | input_path | size | priority
    pub sort_by: Option<String>,
    pub sort_desc: Option<String>,
    /// Archived jobs only (default false)
    pub archived: Option<String>,
    /// Continue after the previous page: its `X-Next-Cursor` (then `page` is not used). A walk
    /// by cursor never shows a job twice and skips none that stayed in place while jobs
    /// changed; sort by `created_at` to walk everything while the engine works.
    pub after: Option<String>,
}

fn parse_bool(name: &str, v: Option<&str>) -> Result<bool, ApiError> {
    match v.map(str::trim) {
        None | Some("") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(other) => Err(ApiError::bad_request(
            "INVALID_QUERY",
            format!("`{name}` must be true or false, not `{other}`"),
        )),
    }
}

fn parse_num(name: &str, v: Option<&str>, default: usize) -> Result<usize, ApiError> {
    match v.map(str::trim) {
        None | Some("") => Ok(default),
        Some(text) => text.parse::<usize>().map_err(|_| {
            ApiError::bad_request(
                "INVALID_QUERY",
                format!("`{name}` must be a positive integer"),
            )
        }),
    }
}

impl ListParams {
    /// The store query, or 400 for invalid input (the pages use the same rules).
    pub fn parse(&self) -> Result<JobQuery, ApiError> {
        let statuses = match self.status.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(list) => Some(
                list.split(',')
                    .map(|s| s.trim().parse::<JobState>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| ApiError::bad_request("INVALID_JOB_STATUS_FILTER", e))?,
            ),
        };
        let sort = match self.sort_by.as_deref().map(str::trim) {
            None | Some("") => SortKey::default(),
            Some(s) => s
                .parse()
                .map_err(|e: String| ApiError::bad_request("INVALID_QUERY", e))?,
        };
        Ok(JobQuery {
            statuses,
            search: self.search.clone().filter(|s| !s.is_empty()),
            sort,
            desc: parse_bool("sort_desc", self.sort_desc.as_deref())?,
            archived: parse_bool("archived", self.archived.as_deref())?,
            after: match self.after.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(token) => Some(Cursor::parse(token, sort).ok_or_else(|| {
                    ApiError::bad_request(
                        "INVALID_QUERY",
                        "`after` is not a cursor of this list (use X-Next-Cursor as given)",
                    )
                })?),
            },
            limit: parse_num("limit", self.limit.as_deref(), 50)?.clamp(1, MAX_LIMIT),
            page: parse_num("page", self.page.as_deref(), 1)?.max(1),
        })
    }
}
