//! Domain vocabulary shared by every layer: job ids and states, codecs, containers and the
//! `Explanation` that carries every decision and failure. Plain data with serde and OpenAPI
//! schemas; nothing here does I/O, so `store`, `media`, `engine` and `web` can all depend on it.

mod client;
mod engine;
mod job;
mod media;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use client::ClientKey;
pub use engine::{EngineMode, EngineRunState, EngineStatus, ScheduleStatus};
pub use job::{AttemptOutcome, InvalidTransition, JobEvent, JobId, JobState, LogLevel};
pub use media::{Backend, CpuEncoder, OriginalPolicy, RateControl, VerifyMode, VideoCodec};

/// Why something was decided or went wrong, in a form the API, the UI and stats share.
/// `code` is stable (snake_case) and never parsed back out of `summary` or `detail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub code: String,
    pub summary: String,
    pub detail: String,
    /// Measured values behind the decision (numbers or strings).
    #[schema(value_type = Object)]
    pub measured: BTreeMap<String, serde_json::Value>,
}

impl Explanation {
    pub fn new(code: &str, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Explanation {
            code: code.to_string(),
            summary: summary.into(),
            detail: detail.into(),
            measured: BTreeMap::new(),
        }
    }

    /// Add one measured value.
    pub fn with(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.measured.insert(name.to_string(), value.into());
        self
    }
}

/// Milliseconds since the Unix epoch, the time unit of every stored timestamp.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// `1 job`, `3 jobs`, `0 jobs`: a count and its noun in the right number, for words the owner
/// reads (pages, worker lines, messages) instead of `job(s)`.
pub fn count<T>(n: T, one: &str, many: &str) -> String
where
    T: std::fmt::Display + PartialEq + From<u8>,
{
    let noun = if n == T::from(1) { one } else { many };
    format!("{n} {noun}")
}

/// `1.5 GiB`, for sizes the owner reads (pages, the self-test's lines); negative sizes
/// (growth) keep their sign.
pub fn human_bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let sign = if n < 0.0 { "-" } else { "" };
    let mut v = n.abs();
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{sign}{v:.0} B")
    } else {
        format!("{sign}{v:.1} {}", UNITS[unit])
    }
}

/// RFC 3339 UTC text for a stored timestamp, as the API shows it.
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Days since 1970-01-01 (UTC) of a timestamp: the key of daily statistics.
pub fn day_number(ms: i64) -> u32 {
    (ms.div_euclid(86_400_000)).max(0) as u32
}

/// `YYYY-MM-DD` of a day number.
pub fn day_string(day: u32) -> String {
    rfc3339(day as i64 * 86_400_000)[..10].to_string()
}

/// `text` with control characters (a newline in a file name, an escape sequence) and the
/// invisible text-direction overrides written as escapes, so a name shown or logged cannot
/// forge a line or hide what it is. Everything else, non-ASCII included, is kept.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests;
