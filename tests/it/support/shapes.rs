//! The small shape checker of the API tests: a field's JSON type (`T`), `check` of an
//! object's fields, RFC 3339 UTC timestamps, and the shapes of an engine status and a job.

use serde_json::Value;

/// Expected JSON type of a field.
#[derive(Debug, Clone, Copy)]
pub enum T {
    Str,
    /// Non-negative integer.
    Uint,
    /// Any integer.
    Int,
    /// Any number.
    Num,
    Bool,
    Arr,
    Obj,
    /// RFC 3339 UTC timestamp.
    Time,
    OptStr,
    OptUint,
    OptTime,
    OptObj,
}

impl T {
    fn matches(self, v: &Value) -> bool {
        match self {
            T::Str => v.is_string(),
            T::Uint => v.is_u64(),
            T::Int => v.is_i64() || v.is_u64(),
            T::Num => v.is_number(),
            T::Bool => v.is_boolean(),
            T::Arr => v.is_array(),
            T::Obj => v.is_object(),
            T::Time => v.as_str().is_some_and(|s| parse_time(s).is_some()),
            T::OptStr => v.is_null() || T::Str.matches(v),
            T::OptUint => v.is_null() || T::Uint.matches(v),
            T::OptTime => v.is_null() || T::Time.matches(v),
            T::OptObj => v.is_null() || T::Obj.matches(v),
        }
    }
}

/// An RFC 3339 timestamp in UTC.
fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .filter(|t| t.offset().is_utc())
}

/// Nanoseconds since the epoch of an RFC 3339 UTC field (panics when it is not one).
pub fn time_of(v: &Value) -> i128 {
    v.as_str()
        .and_then(parse_time)
        .unwrap_or_else(|| panic!("not an RFC 3339 UTC timestamp: {v}"))
        .unix_timestamp_nanos()
}

/// `v` is an object with (at least) these fields of these types.
pub fn check(v: &Value, what: &str, fields: &[(&str, T)]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {v}"));
    for (name, t) in fields {
        let f = obj
            .get(*name)
            .unwrap_or_else(|| panic!("{what}: no `{name}` in {v}"));
        assert!(t.matches(f), "{what}.{name}: expected {t:?}, got {f}");
    }
}

pub fn check_engine_status(v: &Value) {
    check(
        v,
        "engine status",
        &[
            ("status", T::Str),
            ("mode", T::Str),
            ("concurrent_limit", T::Uint),
            ("threads", T::Uint),
            ("is_manual_override", T::Bool),
            ("active_jobs", T::Uint),
            ("queued_jobs", T::Uint),
            ("paused_reason", T::OptStr),
        ],
    );
    let status = v["status"].as_str().unwrap();
    assert!(["running", "paused", "draining"].contains(&status), "{v}");
    let mode = v["mode"].as_str().unwrap();
    assert!(
        ["background", "balanced", "throughput"].contains(&mode),
        "{v}"
    );
    assert!(v["concurrent_limit"].as_u64().unwrap() >= 1);
}

pub fn check_job(v: &Value) {
    check(
        v,
        "job",
        &[
            ("id", T::Uint),
            ("input_path", T::Str),
            ("output_path", T::OptStr),
            ("status", T::Str),
            ("priority", T::Int),
            ("progress", T::Num),
            ("attempt_count", T::Uint),
            ("created_at", T::Time),
            ("updated_at", T::Time),
            ("archived", T::Bool),
            ("input_size_bytes", T::Uint),
            ("output_size_bytes", T::OptUint),
            ("decision", T::OptObj),
            ("failure", T::OptObj),
        ],
    );
    let progress = v["progress"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&progress), "{v}");
}
