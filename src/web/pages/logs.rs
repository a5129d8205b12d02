//! The server log page (`/system/logs`): the newest lines at or above a level, chosen with a
//! plain GET form, read by the same function as `GET /api/system/logs`; a download of the
//! last days (a GET form on the API's download route); and `templates/static/logs.js`, which
//! appends new lines from `GET /api/system/logs/stream` without a reload. The stream is asked
//! for the lines since a second before the page read the log (`since`), so a line logged
//! before the script connects is not lost; the page lists the lines it shows from that second
//! on (`data-recent`), and the script drops those when they come again.

use axum::extract::State;
use axum::response::Response;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

use super::{PageError, render};
use crate::logs::{Level, LogEntry};
use crate::web::AppState;
use crate::web::extract::ApiQuery;
use crate::web::maintenance::logs::{LogsParams, MAX_DAYS, find};

/// The page's choices of how many lines to show; the API takes any number up to its maximum.
const LIMITS: [usize; 4] = [100, 200, 1000, 5000];

/// One line as the page shows it (`logs.js` builds the same from a streamed entry).
#[derive(Serialize)]
struct Line {
    at: String,
    level: &'static str,
    /// The CSS class: `warning` and `error` lines are drawn like a job log's.
    class: &'static str,
    message: String,
    /// The other fields, `key=value` separated by spaces.
    fields: String,
    target: String,
}

impl From<LogEntry> for Line {
    fn from(e: LogEntry) -> Line {
        let fields = e
            .fields
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" ");
        Line {
            at: e.at,
            level: e.level.as_str(),
            class: match e.level {
                Level::Error => "error",
                Level::Warn => "warning",
                _ => "",
            },
            message: e.message,
            fields,
            target: e.target,
        }
    }
}

pub async fn page(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<LogsParams>,
) -> Result<Response, PageError> {
    let query = params.parse()?;
    // A second of margin: a line takes its time before it takes the writer's lock, so one
    // stamped just before the read may be written just after it.
    let since = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let since_nanos = since.unix_timestamp_nanos();
    let found = find(&state, query).await?;
    // What the page shows that the stream will send again: the script's duplicates.
    let recent: Vec<String> = found
        .entries
        .iter()
        .filter(|e| crate::logs::nanos(&e.at).is_some_and(|at| at >= since_nanos))
        .map(|e| format!("{}|{}", e.at, e.message))
        .collect();
    let lines: Vec<Line> = found.entries.into_iter().map(Line::from).collect();
    let level = query.min_level.as_str();
    let since = since
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(crate::web::error::ApiError::internal)?;
    render::page(
        &state,
        "system/logs.html",
        "logs",
        context! {
            lines => Serde(lines),
            truncated => found.truncated,
            level => level,
            levels => Level::ALL.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
            limit => query.limit,
            limits => LIMITS,
            max_days => MAX_DAYS,
            stream => format!("/api/system/logs/stream?level={level}"),
            since => since,
            recent => serde_json::to_string(&recent).unwrap_or_else(|_| "[]".into()),
        },
    )
}

const LOGS_JS: &str = include_str!("../../../templates/static/logs.js");

/// `/static/logs.js`: the live tail.
pub async fn script() -> Response {
    super::static_asset("text/javascript; charset=utf-8", LOGS_JS)
}
