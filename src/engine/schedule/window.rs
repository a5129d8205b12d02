//! The schedule's pure core: the owner's windows checked into typed form ([`Plan::parse`]) and
//! [`evaluate`], a function of (plan, now, time zone) that says whether `now` is inside a window
//! and when that next changes. No clock, store or engine here, so every DST case is a table test.
//!
//! A window belongs to the day it starts on; one whose end is not after its start crosses
//! midnight into the next day (`fri 22:00–02:00` ends on Saturday; `01:00–01:00` lasts 24
//! hours), and `24:00` is the end of the day. Each boundary happens the first time the local wall clock reads it: in a
//! spring-forward gap that is the instant the clock jumps (a window from 02:30 opens at 03:00
//! summer time), in a fall-back overlap the first of the two readings. A window wholly inside
//! a gap does not happen that day. Windows that touch or overlap are one window.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};

use super::ScheduleSettings;

/// More windows than anyone needs for a week; bounds the work of each evaluation.
pub const MAX_WINDOWS: usize = 32;
/// Day names as the API spells them, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: u16 = 24 * 60;
/// The pattern repeats weekly: open for a whole week means always open.
const WEEK: SignedDuration = SignedDuration::from_hours(7 * 24);

/// One checked window: the days it starts on and its local start and end in minutes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Indexed Monday = 0.
    days: [bool; 7],
    /// 0..1440.
    start: u16,
    /// 0..=1440; at or before `start` means the next day.
    end: u16,
}

/// The checked schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub enabled: bool,
    pub windows: Vec<Window>,
}

/// Where and why the owner's schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: {message}")]
pub struct Invalid {
    /// The JSON path of the bad value, e.g. `windows[0].start`.
    pub field: String,
    pub message: String,
}

fn invalid(field: String, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

/// Minutes since midnight of a strict `HH:MM`; `24:00` only where `end_of_day` allows it.
fn clock(text: &str, field: String, end_of_day: bool) -> Result<u16, Invalid> {
    let bad = || {
        let range = if end_of_day {
            "00:01 to 24:00"
        } else {
            "00:00 to 23:59"
        };
        invalid(
            field.clone(),
            format!("`{text}` is not a time of day (HH:MM, {range})"),
        )
    };
    let b = text.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return Err(bad());
    }
    let digits = |i: usize| u16::from(b[i] - b'0') * 10 + u16::from(b[i + 1] - b'0');
    let (h, m) = (digits(0), digits(3));
    let minutes = h * 60 + m;
    match (h, m) {
        (24, 0) if end_of_day => Ok(MINUTES_PER_DAY),
        (0..=23, 0..=59) => Ok(minutes),
        _ => Err(bad()),
    }
}

impl Plan {
    /// Check the owner's settings; the error names the first bad field.
    pub fn parse(settings: &ScheduleSettings) -> Result<Plan, Invalid> {
        if settings.windows.len() > MAX_WINDOWS {
            return Err(invalid(
                "windows".into(),
                format!(
                    "at most {MAX_WINDOWS} windows, not {}",
                    settings.windows.len()
                ),
            ));
        }
        let mut windows = Vec::with_capacity(settings.windows.len());
        for (i, w) in settings.windows.iter().enumerate() {
            let mut days = [false; 7];
            if w.days.is_empty() {
                return Err(invalid(
                    format!("windows[{i}].days"),
                    "name at least one day",
                ));
            }
            for (j, day) in w.days.iter().enumerate() {
                let Some(n) = DAYS.iter().position(|d| d == day) else {
                    return Err(invalid(
                        format!("windows[{i}].days[{j}]"),
                        format!("`{day}` is not a day (one of {})", DAYS.join(", ")),
                    ));
                };
                days[n] = true;
            }
            let start = clock(&w.start, format!("windows[{i}].start"), false)?;
            let end = clock(&w.end, format!("windows[{i}].end"), true)?;
            windows.push(Window { days, start, end });
        }
        Ok(Plan {
            enabled: settings.enabled,
            windows,
        })
    }
}

/// Whether `now` is inside a window, and when that next changes (`None`: never).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation {
    pub in_window: bool,
    pub next_change: Option<Timestamp>,
}

/// Where the schedule stands at `now` in `tz`. A disabled schedule is always "in window" (it
/// restricts nothing) and never changes.
pub fn evaluate(plan: &Plan, now: Timestamp, tz: &TimeZone) -> Evaluation {
    if !plan.enabled {
        return Evaluation {
            in_window: true,
            next_change: None,
        };
    }
    let spans = merged(spans_around(plan, now, tz));
    if let Some(&(_, end)) = spans.iter().find(|(s, e)| *s <= now && now < *e) {
        // Open for a whole week: the weekly pattern never closes.
        let always = now.duration_until(end) >= WEEK;
        return Evaluation {
            in_window: true,
            next_change: (!always).then_some(end),
        };
    }
    Evaluation {
        in_window: false,
        next_change: spans.iter().map(|(s, _)| *s).find(|s| *s > now),
    }
}

/// Every window's instants from yesterday (a window crossing midnight) to a week ahead.
fn spans_around(plan: &Plan, now: Timestamp, tz: &TimeZone) -> Vec<(Timestamp, Timestamp)> {
    let today = tz.to_datetime(now).date();
    let mut spans = Vec::new();
    for offset in -1i64..=8 {
        let Ok(day) = today.checked_add(offset.days()) else {
            continue;
        };
        let weekday = day.weekday().to_monday_zero_offset() as usize;
        for w in plan.windows.iter().filter(|w| w.days[weekday]) {
            let end_day = if w.end <= w.start {
                day.tomorrow().ok()
            } else {
                Some(day)
            };
            let (Some(start), Some(end)) = (
                local(day, w.start).and_then(|dt| instant(tz, dt)),
                end_day
                    .and_then(|d| local(d, w.end))
                    .and_then(|dt| instant(tz, dt)),
            ) else {
                continue;
            };
            // Empty when the whole window falls into a spring-forward gap.
            if start < end {
                spans.push((start, end));
            }
        }
    }
    spans
}

/// Sort and join spans that touch or overlap.
fn merged(mut spans: Vec<(Timestamp, Timestamp)>) -> Vec<(Timestamp, Timestamp)> {
    spans.sort();
    let mut out: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The local civil time `minutes` after midnight of `day` (1440 = the next midnight).
fn local(day: Date, minutes: u16) -> Option<DateTime> {
    if minutes == MINUTES_PER_DAY {
        return day.tomorrow().ok().map(|d| d.to_datetime(Time::midnight()));
    }
    let t = Time::new((minutes / 60) as i8, (minutes % 60) as i8, 0, 0).ok()?;
    Some(day.to_datetime(t))
}

/// The first instant the wall clock in `tz` reads `dt` or later.
fn instant(tz: &TimeZone, dt: DateTime) -> Option<Timestamp> {
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Gap { after, .. } => {
            // `dt` read with the later offset is an instant before the jump; the jump itself
            // is the first moment the clock shows `dt` or later.
            let before_jump = after.to_timestamp(dt).ok()?;
            tz.following(before_jump).next().map(|t| t.timestamp())
        }
        _ => ambiguous.earlier().ok(),
    }
}
