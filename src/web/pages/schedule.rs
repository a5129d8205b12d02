//! The schedule card of the system page: where the schedule stands and an editor form that
//! needs no JavaScript (one fieldset per window plus blank ones to add; a row left empty is
//! removed), saved through the same `Schedule::set` as `PUT /api/settings/schedule`. Times are
//! in the zone the pages show; `24:00` is shown as `00:00` (a time input cannot hold it, and a
//! window ending at or before its start ends the next day, so both mean midnight).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::PageError;
use super::context::{Flash, redirect};
use super::form::Form;
use crate::engine::schedule::{
    DAYS, MAX_WINDOWS, OutsideWindow, ScheduleError, ScheduleSettings, WindowSpec,
};
use crate::model::ScheduleStatus;
use crate::web::AppState;

/// Blank rows offered below the saved windows, for new ones.
const BLANK_ROWS: usize = 2;
const DAY_LABELS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

#[derive(Serialize)]
struct Day {
    name: &'static str,
    label: &'static str,
    on: bool,
}

#[derive(Serialize)]
struct Row {
    index: usize,
    days: Vec<Day>,
    start: String,
    end: String,
}

/// What the card shows.
#[derive(Serialize)]
pub struct View {
    enabled: bool,
    outside_window: OutsideWindow,
    status: ScheduleStatus,
    rows: Vec<Row>,
}

fn row(index: usize, w: Option<&WindowSpec>) -> Row {
    let days = DAYS
        .iter()
        .zip(DAY_LABELS)
        .map(|(&name, label)| Day {
            name,
            label,
            on: w.is_some_and(|w| w.days.iter().any(|d| d == name)),
        })
        .collect();
    let (start, end) = w.map_or((String::new(), String::new()), |w| {
        let end = if w.end == "24:00" { "00:00" } else { &w.end };
        (w.start.clone(), end.to_string())
    });
    Row {
        index,
        days,
        start,
        end,
    }
}

pub fn view(state: &AppState) -> View {
    let s = state.engine.schedule.settings();
    let blank = (MAX_WINDOWS - s.windows.len()).min(BLANK_ROWS);
    let rows = (0..s.windows.len() + blank)
        .map(|i| row(i, s.windows.get(i)))
        .collect();
    View {
        enabled: s.enabled,
        outside_window: s.outside_window,
        status: state.engine.schedule.status(),
        rows,
    }
}

fn bad(message: impl Into<String>) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, message.into())
}

/// `POST /system/schedule`.
pub async fn save(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let outside_window = match form.get("outside_window") {
        Some("finish") => OutsideWindow::Finish,
        Some("suspend") => OutsideWindow::Suspend,
        Some("requeue") => OutsideWindow::Requeue,
        _ => return Err(bad("Choose what happens when a window closes.")),
    };
    // The row number the owner sees, for each window sent.
    let (mut windows, mut shown) = (Vec::new(), Vec::new());
    for i in 0..MAX_WINDOWS + BLANK_ROWS {
        let days: Vec<String> = form
            .all(&format!("w{i}_days"))
            .map(str::to_string)
            .collect();
        let start = form.get(&format!("w{i}_start")).unwrap_or_default();
        let end = form.get(&format!("w{i}_end")).unwrap_or_default();
        if days.is_empty() && start.is_empty() && end.is_empty() {
            continue;
        }
        shown.push(i + 1);
        windows.push(WindowSpec {
            days,
            start: start.to_string(),
            end: end.to_string(),
        });
    }
    let settings = ScheduleSettings {
        enabled: form.get("enabled").is_some(),
        windows,
        outside_window,
    };
    match state.engine.schedule.set(settings).await {
        Ok(saved) => {
            let text = match (saved.enabled, saved.windows.len()) {
                (false, _) => "Schedule saved; it is off: jobs start at any time.".to_string(),
                (true, n) => format!("Schedule saved: jobs start only inside its {n} window(s)."),
            };
            Ok(redirect(&state, "/system", Flash::new(text)))
        }
        Err(ScheduleError::Invalid(why)) => Err(bad(explain(&why.field, &why.message, &shown))),
        Err(ScheduleError::Store(e)) => Err(e.into()),
    }
}

/// `windows[1].start` as "Window 3, from" (the row the owner filled in).
fn explain(field: &str, message: &str, shown: &[usize]) -> String {
    let index = field
        .strip_prefix("windows[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse::<usize>().ok());
    let Some(row) = index.and_then(|i| shown.get(i)) else {
        return format!("The schedule was not saved: {message}.");
    };
    let part = if field.contains(".start") {
        ", from"
    } else if field.contains(".end") {
        ", to"
    } else if field.contains(".days") {
        ", days"
    } else {
        ""
    };
    format!("Window {row}{part}: {message}.")
}
