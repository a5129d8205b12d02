//! What a job list asks for: the sort orders, the validated query, and the cursor that
//! continues a list after the last job a client saw (`after`, `X-Next-Cursor`).

use crate::model::JobState;

use super::super::records::Job;

/// Sort orders of the job list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    CreatedAt,
    #[default]
    UpdatedAt,
    InputPath,
    Size,
    Priority,
}

impl std::str::FromStr for SortKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "created_at" => SortKey::CreatedAt,
            "updated_at" => SortKey::UpdatedAt,
            "input_path" => SortKey::InputPath,
            "size" => SortKey::Size,
            "priority" => SortKey::Priority,
            other => {
                return Err(format!(
                    "unknown sort_by `{other}` (created_at, updated_at, input_path, size, priority)"
                ));
            }
        })
    }
}

/// Where the previous page of a list ended: its last job's sort value and id. The next page
/// is the entries strictly after it in the list's order, so jobs that change meanwhile cannot
/// make a client see an entry twice or skip one that stayed where it was (with page numbers
/// they could: an update moves jobs between pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub(super) value: CursorValue,
    pub(super) id: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CursorValue {
    Number(i128),
    /// A lower-cased path (as the index keeps it), hex in the token.
    Path(Vec<u8>),
}

impl Cursor {
    /// The cursor after `job` in `sort` order.
    pub fn after(job: &Job, sort: SortKey) -> Cursor {
        let value = match sort {
            SortKey::CreatedAt => CursorValue::Number(job.created_at.into()),
            SortKey::UpdatedAt => CursorValue::Number(job.updated_at.into()),
            SortKey::Size => CursorValue::Number(job.input_size.into()),
            SortKey::Priority => CursorValue::Number(job.priority.into()),
            SortKey::InputPath => {
                let mut key = Vec::new();
                push_path_key(&mut key, &job.input_path.to_string_lossy());
                CursorValue::Path(key)
            }
        };
        Cursor {
            value,
            id: job.id.0,
        }
    }

    /// Whether the cursor holds the kind of value `sort` sorts by.
    pub(super) fn fits(&self, sort: SortKey) -> bool {
        match self.value {
            CursorValue::Path(_) => sort == SortKey::InputPath,
            CursorValue::Number(_) => sort != SortKey::InputPath,
        }
    }

    /// The opaque text a client sends back as `after`.
    pub fn token(&self) -> String {
        match &self.value {
            CursorValue::Number(n) => format!("n{n}.{}", self.id),
            CursorValue::Path(p) => format!("p{}.{}", hex::encode(p), self.id),
        }
    }

    /// Parse a token made by [`Cursor::token`] for a list sorted by `sort`.
    pub fn parse(token: &str, sort: SortKey) -> Option<Cursor> {
        let (value, id) = token.get(1..)?.rsplit_once('.')?;
        let id = id.parse().ok()?;
        let value = match (token.as_bytes()[0], sort) {
            (b'p', SortKey::InputPath) => {
                let key = hex::decode(value).ok()?;
                // What `token` made from a key: UTF-8 without NUL.
                if std::str::from_utf8(&key).is_err() || key.contains(&0) {
                    return None;
                }
                CursorValue::Path(key)
            }
            (b'n', s) if s != SortKey::InputPath => CursorValue::Number(value.parse().ok()?),
            _ => return None,
        };
        Some(Cursor { value, id })
    }
}

/// Append how the index compares and searches `path`: lower-cased, without NUL (the arena's
/// separator; a Unix path has none anyway). ASCII, the usual case, is lowered in place
/// without an allocation.
pub(super) fn push_path_key(out: &mut Vec<u8>, path: &str) {
    if path.is_ascii() {
        out.extend(
            path.bytes()
                .filter(|&b| b != 0)
                .map(|b| b.to_ascii_lowercase()),
        );
    } else {
        out.extend(path.to_lowercase().bytes().filter(|&b| b != 0));
    }
}

/// A validated job list query.
#[derive(Debug, Clone)]
pub struct JobQuery {
    /// `None` = every status.
    pub statuses: Option<Vec<JobState>>,
    pub search: Option<String>,
    pub sort: SortKey,
    pub desc: bool,
    pub archived: bool,
    pub limit: usize,
    /// 1-based; with `after`, the page after the cursor is returned instead.
    pub page: usize,
    /// Continue after this cursor (from the previous page's `X-Next-Cursor`).
    pub after: Option<Cursor>,
}

impl Default for JobQuery {
    fn default() -> Self {
        JobQuery {
            statuses: None,
            search: None,
            sort: SortKey::UpdatedAt,
            desc: false,
            archived: false,
            limit: 50,
            page: 1,
            after: None,
        }
    }
}

impl JobQuery {
    /// Which states the query keeps, by state code.
    pub(super) fn status_mask(&self) -> [bool; 8] {
        let mut mask = [self.statuses.is_none(); 8];
        for s in self.statuses.iter().flatten() {
            mask[s.code() as usize] = true;
        }
        mask
    }
}
