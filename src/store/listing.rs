//! The job list's projections of a stored job, decoded straight from its record and borrowing
//! from it, without the rest of the record (probe metadata, encode statistics, log counters):
//! [`IndexFields`] feeds the in-memory index at start-up, [`JobRow`] is one listed job. A
//! listed job then costs no allocation for its text fields, and its explanations go out as
//! the JSON they are stored as.

use std::borrow::Cow;
use std::fmt;
use std::os::unix::ffi::OsStrExt;

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

use super::codec::Versioned;
use super::index::Row;
use super::records::Job;
use super::{Result, StoreError};
use crate::model::{JobId, JobState};

/// A path as `codec::path_bytes` stores it: text, or bytes for a name that is not UTF-8.
/// Text is borrowed from the record unless it has escapes.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredPath<'a> {
    Text(Cow<'a, str>),
    Bytes(Vec<u8>),
}

impl StoredPath<'_> {
    /// The path as the API shows it (lossy for a name that is not UTF-8).
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            StoredPath::Text(t) => Cow::Borrowed(t),
            StoredPath::Bytes(b) => String::from_utf8_lossy(b),
        }
    }

    fn of(path: &std::path::Path) -> StoredPath<'static> {
        match path.to_str() {
            Some(t) => StoredPath::Text(Cow::Owned(t.to_string())),
            None => StoredPath::Bytes(path.as_os_str().as_bytes().to_vec()),
        }
    }
}

impl Serialize for StoredPath<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StoredPath<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct PathVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for PathVisitor<'a> {
            type Value = StoredPath<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path as a string or an array of bytes")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(StoredPath::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(StoredPath::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> std::result::Result<Self::Value, E> {
                Ok(StoredPath::Text(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(64).min(4096));
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                Ok(StoredPath::Bytes(bytes))
            }
        }
        d.deserialize_any(PathVisitor(std::marker::PhantomData))
    }
}

/// What the index keeps of a job, read from its record at start-up.
#[derive(Deserialize)]
pub(super) struct IndexFields<'a> {
    id: JobId,
    #[serde(borrow)]
    input_path: StoredPath<'a>,
    status: JobState,
    priority: i32,
    created_at: i64,
    updated_at: i64,
    archived: bool,
    input_size: u64,
}

impl IndexFields<'_> {
    /// The index row of a record (`codec` layout: version byte, then JSON).
    pub(super) fn decode(bytes: &[u8]) -> Result<Row<'_>> {
        let fields = match body_of_current(bytes) {
            Some(body) => serde_json::from_slice::<IndexFields>(body).map_err(|e| corrupt(&e))?,
            // Another version: the full decode upgrades it (or says why not).
            None => return Ok(Row::from(&super::codec::decode::<Job>(bytes)?).into_owned()),
        };
        Ok(Row {
            id: fields.id.0,
            status: fields.status,
            archived: fields.archived,
            priority: fields.priority,
            created_at: fields.created_at,
            updated_at: fields.updated_at,
            size: fields.input_size,
            path: match fields.input_path {
                StoredPath::Text(t) => t,
                StoredPath::Bytes(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
            },
        })
    }
}

/// One listed job: the fields the job list shows, borrowed from the record.
#[derive(Debug, Deserialize)]
pub struct JobRow<'a> {
    pub id: JobId,
    #[serde(borrow)]
    pub input_path: StoredPath<'a>,
    #[serde(borrow, default)]
    pub output_path: Option<StoredPath<'a>>,
    pub status: JobState,
    pub priority: i32,
    pub progress: f64,
    pub attempt_count: u32,
    pub created_at: i64,
    pub updated_at: i64,
    pub archived: bool,
    pub input_size: u64,
    pub output_size: Option<u64>,
    /// The stored `Explanation`, as JSON: it has no defaulted fields, so what was written is
    /// what the API shows (`engine::jobs::views` tests that the two agree).
    #[serde(borrow, default, deserialize_with = "raw_json")]
    pub decision: Option<Cow<'a, RawValue>>,
    #[serde(borrow, default, deserialize_with = "raw_json")]
    pub failure: Option<Cow<'a, RawValue>>,
    #[serde(default)]
    pub retry_at: Option<i64>,
    #[serde(default)]
    pub auto_retries: u32,
    /// Of the record's encode statistics, only what the list shows.
    #[serde(default)]
    pub encode_stats: Option<ListedStats>,
}

/// The one field of [`super::EncodeStats`] a listed job shows: the source's size when it was
/// last encoded.
#[derive(Debug, Deserialize)]
pub struct ListedStats {
    pub input_size_bytes: u64,
}

fn raw_json<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Cow<'de, RawValue>>, D::Error> {
    Ok(Option::<&'de RawValue>::deserialize(d)?.map(Cow::Borrowed))
}

impl<'a> JobRow<'a> {
    /// The row of a record (`codec` layout), borrowing from `bytes`.
    pub fn decode(bytes: &'a [u8]) -> Result<JobRow<'a>> {
        match body_of_current(bytes) {
            Some(body) => serde_json::from_slice(body).map_err(|e| corrupt(&e)),
            None => JobRow::of(&super::codec::decode::<Job>(bytes)?),
        }
    }

    /// The row of a job in memory (records of another version, and tests).
    pub fn of(job: &Job) -> Result<JobRow<'static>> {
        let raw = |e: &Option<crate::model::Explanation>| -> Result<_> {
            e.as_ref()
                .map(|e| {
                    serde_json::value::to_raw_value(e)
                        .map(Cow::Owned)
                        .map_err(|e| corrupt(&e))
                })
                .transpose()
        };
        Ok(JobRow {
            id: job.id,
            input_path: StoredPath::of(&job.input_path),
            output_path: job.output_path.as_deref().map(StoredPath::of),
            status: job.status,
            priority: job.priority,
            progress: job.progress,
            attempt_count: job.attempt_count,
            created_at: job.created_at,
            updated_at: job.updated_at,
            archived: job.archived,
            input_size: job.input_size,
            output_size: job.output_size,
            decision: raw(&job.decision)?,
            failure: raw(&job.failure)?,
            retry_at: job.retry_at,
            auto_retries: job.auto_retries,
            encode_stats: job.encode_stats.as_ref().map(|s| ListedStats {
                input_size_bytes: s.input_size_bytes,
            }),
        })
    }

    /// As [`Job::retry_due_at`].
    pub fn retry_due_at(&self) -> Option<i64> {
        self.retry_at
            .filter(|_| self.status == JobState::Failed && !self.archived)
    }
}

/// The JSON of a record in the current layout; `None` for another version.
fn body_of_current(bytes: &[u8]) -> Option<&[u8]> {
    match bytes.split_first() {
        Some((&v, body)) if v == Job::VERSION => Some(body),
        _ => None,
    }
}

fn corrupt(e: &dyn fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Explanation;
    use std::ffi::OsStr;
    use std::path::PathBuf;

    fn sample() -> Job {
        Job {
            output_path: Some(PathBuf::from("/out/\"quoted\"\\ name.mkv")),
            decision: Some(Explanation::new("c", "summary \u{1f} é", "detail").with("x", 1.5)),
            metadata: Some(serde_json::json!({"streams": [1, 2, {"a": "b"}]})),
            retry_at: Some(9),
            status: JobState::Failed,
            ..Job::queued(JobId(3), PathBuf::from("/m/plain.mkv"), 7)
        }
    }

    #[test]
    fn rows_decode_from_records_as_from_jobs() {
        let mut odd = sample();
        odd.input_path = PathBuf::from(OsStr::from_bytes(b"/m/\xff\xfe.mkv"));
        odd.decision = None;
        for job in [sample(), odd] {
            let bytes = super::super::codec::encode(&job);
            let row = JobRow::decode(&bytes).unwrap();
            let of = JobRow::of(&job).unwrap();
            assert_eq!(format!("{row:?}"), format!("{of:?}"));
            // Plain text is borrowed from the record, not copied.
            if let StoredPath::Text(t) = &row.input_path {
                assert!(matches!(t, Cow::Borrowed(_)));
            }
            let fields = IndexFields::decode(&bytes).unwrap();
            let want = Row::from(&job);
            assert_eq!(
                (fields.id, fields.status, fields.size, fields.path),
                (want.id, want.status, want.size, want.path)
            );
        }
    }

    #[test]
    fn other_versions_and_garbage_are_errors_not_panics() {
        let mut bytes = super::super::codec::encode(&sample());
        bytes[0] = 9;
        assert!(JobRow::decode(&bytes).is_err());
        assert!(IndexFields::decode(&bytes).is_err());
        for bad in [&b""[..], b"\x01", b"\x01{", b"\x01[]", b"\x01{\"id\":1}"] {
            assert!(JobRow::decode(bad).is_err());
            assert!(IndexFields::decode(bad).is_err());
        }
    }
}
