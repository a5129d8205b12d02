//! In-memory index of job list fields (status, archived, priority, times, size, lower-cased
//! path). `GET /api/jobs` filters, searches (substring) and sorts with it, then reads only the
//! page's records from redb: a substring search cannot use a B-tree.
//!
//! Layout for speed at 100k+ jobs: the list fields sit in one dense vector, and every
//! lower-cased path is appended, NUL-terminated, to one arena string. A search is a single
//! SIMD substring scan (`memchr::memmem`) over the arena; each hit maps back to its job by a
//! binary search over the sorted start offsets. Paths never contain NUL, so a match cannot
//! span two jobs. Early pages (the common case) are picked in one pass that keeps only the
//! best `page × limit` entries in a small sorted buffer; deep pages fall back to a selection
//! over every match.

use std::collections::HashMap;

use crate::model::{JobId, JobState};

use super::records::Job;

/// The list fields of one job.
#[derive(Debug, Clone)]
struct Entry {
    id: u64,
    status: JobState,
    archived: bool,
    priority: i32,
    created_at: i64,
    updated_at: i64,
    size: u64,
    /// Byte range of the lower-cased path in the arena.
    path_start: usize,
    path_len: usize,
}

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
    value: CursorValue,
    id: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CursorValue {
    Number(i128),
    /// A lower-cased path, kept as hex in the token.
    Path(String),
}

impl Cursor {
    /// The cursor after `job` in `sort` order.
    pub fn after(job: &Job, sort: SortKey) -> Cursor {
        let value = match sort {
            SortKey::CreatedAt => CursorValue::Number(job.created_at.into()),
            SortKey::UpdatedAt => CursorValue::Number(job.updated_at.into()),
            SortKey::Size => CursorValue::Number(job.input_size.into()),
            SortKey::Priority => CursorValue::Number(job.priority.into()),
            SortKey::InputPath => CursorValue::Path(path_key(&job.input_path)),
        };
        Cursor {
            value,
            id: job.id.0,
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
                CursorValue::Path(String::from_utf8(hex::decode(value).ok()?).ok()?)
            }
            (b'n', s) if s != SortKey::InputPath => CursorValue::Number(value.parse().ok()?),
            _ => return None,
        };
        Some(Cursor { value, id })
    }
}

/// How paths are compared in the index: lower-cased, without NUL.
fn path_key(path: &std::path::Path) -> String {
    path.to_string_lossy().to_lowercase().replace('\0', "")
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

#[derive(Default)]
pub struct JobIndex {
    slots: HashMap<u64, usize>,
    entries: Vec<Entry>,
    /// Lower-cased paths, each followed by NUL.
    arena: String,
    /// (start offset in the arena, entry slot), ascending by offset. Offsets of replaced
    /// paths stay until the next compaction and are recognised as stale.
    starts: Vec<(usize, usize)>,
    /// Arena bytes no entry points at any more.
    garbage: usize,
    /// Non-archived jobs per state, kept up to date by `put` (the engine status asks often).
    counts: [u64; 8],
}

impl JobIndex {
    pub fn put(&mut self, job: &Job) {
        let key = path_key(&job.input_path);
        let slot = match self.slots.get(&job.id.0) {
            Some(&slot) => slot,
            None => {
                self.entries.push(Entry {
                    id: job.id.0,
                    status: job.status,
                    archived: job.archived,
                    priority: job.priority,
                    created_at: job.created_at,
                    updated_at: job.updated_at,
                    size: job.input_size,
                    path_start: 0,
                    path_len: usize::MAX,
                });
                self.slots.insert(job.id.0, self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        let e = &mut self.entries[slot];
        if e.path_len != usize::MAX && !e.archived {
            self.counts[e.status.code() as usize] -= 1;
        }
        if !job.archived {
            self.counts[job.status.code() as usize] += 1;
        }
        e.status = job.status;
        e.archived = job.archived;
        e.priority = job.priority;
        e.created_at = job.created_at;
        e.updated_at = job.updated_at;
        e.size = job.input_size;
        let same_path = e.path_len == key.len()
            && self.arena.get(e.path_start..e.path_start + e.path_len) == Some(key.as_str());
        if !same_path {
            if e.path_len != usize::MAX {
                self.garbage += e.path_len + 1;
            }
            e.path_start = self.arena.len();
            e.path_len = key.len();
            self.starts.push((self.arena.len(), slot));
            self.arena.push_str(&key);
            self.arena.push('\0');
            if self.garbage > 1 << 20 && self.garbage > self.arena.len() / 2 {
                self.compact();
            }
        }
    }

    /// Rebuild the arena without stale paths.
    fn compact(&mut self) {
        let mut arena = String::with_capacity(self.arena.len() - self.garbage);
        let mut starts = Vec::with_capacity(self.entries.len());
        for (slot, e) in self.entries.iter_mut().enumerate() {
            let path = &self.arena[e.path_start..e.path_start + e.path_len];
            starts.push((arena.len(), slot));
            e.path_start = arena.len();
            arena.push_str(path);
            arena.push('\0');
        }
        self.arena = arena;
        self.starts = starts;
        self.garbage = 0;
    }

    fn path(&self, e: &Entry) -> &str {
        &self.arena[e.path_start..e.path_start + e.path_len]
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Counts per state of non-archived jobs.
    pub fn counts(&self) -> [u64; 8] {
        self.counts
    }

    /// Slots of entries whose path contains `needle` (already lower-cased), in arena order.
    fn search(&self, needle: &str) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        if needle.contains('\0') {
            return out;
        }
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        let mut last_start = usize::MAX;
        for pos in finder.find_iter(self.arena.as_bytes()) {
            // The path holding `pos`: the last start at or before it.
            let i = self.starts.partition_point(|&(start, _)| start <= pos);
            let Some(&(start, slot)) = i.checked_sub(1).and_then(|i| self.starts.get(i)) else {
                continue;
            };
            if start == last_start {
                continue;
            }
            last_start = start;
            let e = &self.entries[slot];
            // Stale offsets (a replaced path) and matches past the end of the path are not hits.
            if e.path_start == start && pos + needle.len() <= start + e.path_len {
                out.push(slot);
            }
        }
        out
    }

    /// Ids of one page of the query, and the number of matching jobs.
    pub fn query(&self, q: &JobQuery) -> (Vec<JobId>, usize) {
        let mut status_mask = [q.statuses.is_none(); 8];
        if let Some(list) = &q.statuses {
            for s in list {
                status_mask[s.code() as usize] = true;
            }
        }
        let keep = |e: &Entry| e.archived == q.archived && status_mask[e.status.code() as usize];
        let cmp = |a: &Entry, b: &Entry| {
            let ord = match q.sort {
                SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
                SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
                SortKey::InputPath => self.path(a).cmp(self.path(b)),
                SortKey::Size => a.size.cmp(&b.size),
                SortKey::Priority => a.priority.cmp(&b.priority),
            }
            .then(a.id.cmp(&b.id));
            if q.desc { ord.reverse() } else { ord }
        };
        // Strictly after the cursor, in the same order; the total still counts every match.
        let after = |e: &Entry| {
            let Some(c) = &q.after else { return true };
            let ord = match (&c.value, q.sort) {
                (CursorValue::Path(p), _) => self.path(e).cmp(p.as_str()),
                (CursorValue::Number(n), SortKey::CreatedAt) => i128::from(e.created_at).cmp(n),
                (CursorValue::Number(n), SortKey::UpdatedAt) => i128::from(e.updated_at).cmp(n),
                (CursorValue::Number(n), SortKey::Size) => i128::from(e.size).cmp(n),
                (CursorValue::Number(n), _) => i128::from(e.priority).cmp(n),
            }
            .then(e.id.cmp(&c.id));
            let ord = if q.desc { ord.reverse() } else { ord };
            ord == std::cmp::Ordering::Greater
        };
        let page = if q.after.is_some() { 1 } else { q.page };
        let start = page.saturating_sub(1).saturating_mul(q.limit);
        let end = start.saturating_add(q.limit);
        let searched = q
            .search
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|needle| self.search(&needle.to_lowercase()));
        // Descending sorts walk newest first: times (and often sizes) grow with the job id, so
        // the best entries then come early and the rest cost one comparison each in `top_k`;
        // walked the other way, every entry would displace the buffer's worst.
        let hits: Box<dyn Iterator<Item = &Entry>> = match (&searched, q.desc) {
            (Some(slots), false) => Box::new(slots.iter().map(|&slot| &self.entries[slot])),
            (Some(slots), true) => Box::new(slots.iter().rev().map(|&slot| &self.entries[slot])),
            (None, false) => Box::new(self.entries.iter()),
            (None, true) => Box::new(self.entries.iter().rev()),
        };
        let mut total = 0;
        let hits = hits.filter(|e| keep(e)).filter(|e| {
            total += 1;
            after(e)
        });
        let page = if end <= TOP_K_MAX {
            let (mut best, _) = top_k(hits, end, &cmp);
            best.split_off(start.min(best.len()))
        } else {
            select_range(hits.collect(), start, end, &cmp).0
        };
        (page.into_iter().map(|e| JobId(e.id)).collect(), total)
    }

    /// 1-based position of a queued job in dispatch order (priority desc, then oldest).
    pub fn queue_position(&self, id: JobId) -> Option<u64> {
        let me = &self.entries[*self.slots.get(&id.0)?];
        if me.status != JobState::Queued || me.archived {
            return None;
        }
        let ahead = self
            .entries
            .iter()
            .filter(|e| {
                e.status == JobState::Queued
                    && !e.archived
                    && (e.priority > me.priority
                        || (e.priority == me.priority
                            && (e.created_at, e.id) < (me.created_at, me.id)))
            })
            .count();
        Some(ahead as u64 + 1)
    }
}

/// Up to this many entries (page × limit) are kept in the one-pass buffer of [`top_k`]; past
/// it the buffer's insertions would cost more than a selection over every match.
const TOP_K_MAX: usize = 2048;

/// The first `k` entries in `cmp` order, sorted, and how many entries there were. One pass;
/// an entry costs one comparison with the buffer's last unless it belongs in the buffer.
fn top_k<'a>(
    entries: impl Iterator<Item = &'a Entry>,
    k: usize,
    cmp: &impl Fn(&Entry, &Entry) -> std::cmp::Ordering,
) -> (Vec<&'a Entry>, usize) {
    use std::cmp::Ordering::Less;
    let mut best: Vec<&Entry> = Vec::with_capacity(k.min(TOP_K_MAX) + 1);
    let mut total = 0;
    for e in entries {
        total += 1;
        if k == 0 {
            continue;
        }
        if best.len() == k {
            match best.last() {
                Some(last) if cmp(e, last) == Less => {
                    best.pop();
                }
                _ => continue,
            }
        }
        let at = best.partition_point(|b| cmp(b, e) == Less);
        best.insert(at, e);
    }
    (best, total)
}

/// Entries `start..end` of `hits` in `cmp` order, and how many hits there were.
fn select_range<'a>(
    mut hits: Vec<&'a Entry>,
    start: usize,
    end: usize,
    cmp: &impl Fn(&Entry, &Entry) -> std::cmp::Ordering,
) -> (Vec<&'a Entry>, usize) {
    let total = hits.len();
    if start >= total {
        return (Vec::new(), total);
    }
    let by = |a: &&Entry, b: &&Entry| cmp(a, b);
    if end < total {
        hits.select_nth_unstable_by(end, by);
        hits.truncate(end);
    }
    // Only the page itself needs sorting; what comes before it is skipped unsorted.
    let mut page = if start > 0 {
        hits.select_nth_unstable_by(start, by);
        hits.split_off(start)
    } else {
        hits
    };
    page.sort_unstable_by(by);
    (page, total)
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
