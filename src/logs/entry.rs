//! One stored log line: the JSON object `tracing-subscriber`'s JSON formatter writes
//! (`{"timestamp", "level", "fields": {"message", ...}, "target", "spans": [...]}`), read back
//! into the shape the API serves (`LogEntry`), and the level scale the filters use. Pure.

use std::borrow::Cow;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

/// A log level, least severe first (so `>=` means "at least as severe").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    pub const ALL: [Level; 5] = [
        Level::Error,
        Level::Warn,
        Level::Info,
        Level::Debug,
        Level::Trace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

impl FromStr for Level {
    type Err = String;

    /// `error`, `warn` (or `warning`), `info`, `debug`, `trace`, in any case: the files hold
    /// them in capitals, people type them in lower case.
    fn from_str(s: &str) -> Result<Level, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Ok(Level::Trace),
            "debug" => Ok(Level::Debug),
            "info" => Ok(Level::Info),
            "warn" | "warning" => Ok(Level::Warn),
            "error" => Ok(Level::Error),
            _ => Err(format!(
                "`{s}` is not a log level (error, warn, info, debug, trace)"
            )),
        }
    }
}

/// One server log line as the API serves it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LogEntry {
    /// When it was logged, RFC 3339 UTC (microseconds).
    pub at: String,
    pub level: Level,
    /// The module that logged it (`alchemist::engine::scanner`).
    pub target: String,
    pub message: String,
    /// The event's other fields, then those of the spans it happened in (a job's id).
    #[schema(value_type = Object)]
    pub fields: Map<String, Value>,
}

/// What a scan needs to decide about a line before reading all of it.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow)]
    level: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    #[serde(borrow)]
    level: Cow<'a, str>,
    #[serde(default)]
    fields: Map<String, Value>,
    #[serde(default, borrow)]
    target: Cow<'a, str>,
    #[serde(default)]
    spans: Vec<Map<String, Value>>,
}

/// A line's time (Unix nanoseconds) and level, or `None` for a line that is not ours (a
/// torn write after a crash, a hand edit).
pub fn head(line: &[u8]) -> Option<(i128, Level)> {
    let h: Head = serde_json::from_slice(line).ok()?;
    Some((nanos(&h.timestamp)?, h.level.parse().ok()?))
}

/// The whole line, or `None` when it is not ours.
pub fn parse(line: &[u8]) -> Option<LogEntry> {
    let raw: Raw = serde_json::from_slice(line).ok()?;
    let level = raw.level.parse().ok()?;
    nanos(&raw.timestamp)?;
    let mut fields = raw.fields;
    let message = match fields.remove("message") {
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
        None => String::new(),
    };
    // Innermost span last in the file; an event's own field wins over a span's of that name.
    for span in raw.spans.into_iter().rev() {
        for (k, v) in span {
            if k != "name" {
                fields.entry(k).or_insert(v);
            }
        }
    }
    Some(LogEntry {
        at: raw.timestamp.into_owned(),
        level,
        target: raw.target.into_owned(),
        message,
        fields,
    })
}

/// RFC 3339 → Unix nanoseconds.
pub fn nanos(rfc3339: &str) -> Option<i128> {
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"timestamp":"2026-12-06T02:27:50.123456Z","level":"WARN","fields":{"message":"could not signal ffmpeg","pid":42,"job_id":9},"target":"alchemist::engine::control","spans":[{"job_id":7,"path":"/m/a.mkv","name":"job"},{"attempt":2,"name":"encode"}]}"#;

    #[test]
    fn reads_what_the_json_formatter_writes() {
        let e = parse(LINE.as_bytes()).unwrap();
        assert_eq!(e.at, "2026-12-06T02:27:50.123456Z");
        assert_eq!(e.level, Level::Warn);
        assert_eq!(e.target, "alchemist::engine::control");
        assert_eq!(e.message, "could not signal ffmpeg");
        assert_eq!(e.fields["pid"], 42);
        // The event's own job_id wins; span fields fill in the rest; span names do not.
        assert_eq!(e.fields["job_id"], 9);
        assert_eq!(e.fields["path"], "/m/a.mkv");
        assert_eq!(e.fields["attempt"], 2);
        assert!(!e.fields.contains_key("name"));
        let (at, level) = head(LINE.as_bytes()).unwrap();
        assert_eq!(level, Level::Warn);
        assert_eq!(at, 1_796_524_070_123_456_000);
    }

    #[test]
    fn foreign_lines_are_skipped() {
        for bad in [
            "",
            "not json",
            r#"{"timestamp":"yesterday","level":"INFO"}"#,
            r#"{"timestamp":"2026-12-06T02:27:50Z","level":"LOUD"}"#,
            r#"{"timestamp":"2026-12-06T02:27:50Z","le"#,
        ] {
            assert!(parse(bad.as_bytes()).is_none(), "{bad}");
            assert!(head(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    #[test]
    fn levels_order_by_severity() {
        assert!(Level::Error > Level::Warn && Level::Warn > Level::Info);
        assert!(Level::Debug > Level::Trace);
        assert_eq!("WARNING".parse::<Level>().unwrap(), Level::Warn);
        assert_eq!(" info ".parse::<Level>().unwrap(), Level::Info);
        assert!("verbose".parse::<Level>().is_err());
    }
}
