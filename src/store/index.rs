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
    /// 1-based.
    pub page: usize,
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
        let key = job
            .input_path
            .to_string_lossy()
            .to_lowercase()
            .replace('\0', "");
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
        let start = q.page.saturating_sub(1).saturating_mul(q.limit);
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
        let hits = hits.filter(|e| keep(e));
        let (page, total) = if end <= TOP_K_MAX {
            let (mut best, total) = top_k(hits, end, &cmp);
            (best.split_off(start.min(best.len())), total)
        } else {
            select_range(hits.collect(), start, end, &cmp)
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
