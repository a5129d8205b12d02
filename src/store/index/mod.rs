//! In-memory index of the job list fields (status, archived, priority, times, size, lower-cased
//! path). `GET /api/jobs` filters, searches (substring) and sorts with it, then reads only the
//! page's records from redb: a substring search cannot use a B-tree.
//!
//! Layout for 100k+ jobs on a small box: one 40-byte [`Entry`] per job in a vector sorted by
//! id (job ids only grow, so a new job is a push and a lookup a binary search: no hash map),
//! and every lower-cased path appended, NUL-terminated, to one arena. A search is one SIMD
//! substring scan (`memchr::memmem`) over the arena; a hit maps back to its job through
//! `starts` (slots by path offset). Paths never contain NUL, so a match cannot span two jobs.
//! Every sort order is kept as a sorted vector of slots (`order`), so a page in any order
//! (either direction, any status filter, after any cursor) costs a binary search and a walk
//! of about one page (see `query`). Counts per state and archive flag are kept on write, so
//! the totals of unsearched lists cost nothing.

mod arena;
mod cursor;
mod order;
mod query;

use std::borrow::Cow;

pub use cursor::{Cursor, JobQuery, SortKey};
#[cfg(test)]
use query::Page;

use crate::model::JobState;

use super::records::Job;
use cursor::push_path_key;

/// The list fields of one job, as the store hands them to the index: from a stored job, or
/// decoded from a record at start-up without the rest of it.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub id: u64,
    pub status: JobState,
    pub archived: bool,
    pub priority: i32,
    pub created_at: i64,
    pub updated_at: i64,
    pub size: u64,
    /// The input path as text (lossy for non-UTF-8 names), in its own case.
    pub path: Cow<'a, str>,
}

impl<'a> From<&'a Job> for Row<'a> {
    fn from(job: &'a Job) -> Row<'a> {
        Row {
            id: job.id.0,
            status: job.status,
            archived: job.archived,
            priority: job.priority,
            created_at: job.created_at,
            updated_at: job.updated_at,
            size: job.input_size,
            path: job.input_path.to_string_lossy(),
        }
    }
}

impl Row<'_> {
    /// The same row owning its path (kept while the index loads).
    pub fn into_owned(self) -> Row<'static> {
        Row {
            path: Cow::Owned(self.path.into_owned()),
            ..self
        }
    }
}

/// Bits of [`Entry::packed`] that hold the input size: 64 PiB, beyond any file.
const SIZE_BITS: u32 = 56;
const SIZE_MASK: u64 = (1 << SIZE_BITS) - 1;
const ARCHIVED_BIT: u64 = 1 << 63;
/// [`Entry::path_start`] of a job whose path did not fit in the arena: it has none.
const NO_PATH: u32 = u32::MAX;
/// Batches larger than this re-sort the changed slots and merge them into each order in one
/// pass, instead of moving each one (a memmove of up to the whole order).
const BATCH_MERGE: usize = 32;

/// The list fields of one job: 40 bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u64,
    created_at: i64,
    updated_at: i64,
    /// Input size in the low 56 bits, state code in bits 56-59, archived in bit 63.
    packed: u64,
    priority: i32,
    /// Offset of the lower-cased path in the arena (it ends at the next NUL).
    path_start: u32,
}

impl Entry {
    fn size(&self) -> u64 {
        self.packed & SIZE_MASK
    }
    fn status_code(&self) -> usize {
        ((self.packed >> SIZE_BITS) & 0x7) as usize
    }
    fn status(&self) -> JobState {
        JobState::ALL[self.status_code()]
    }
    fn archived(&self) -> bool {
        self.packed & ARCHIVED_BIT != 0
    }
    fn set(&mut self, row: &Row) {
        self.created_at = row.created_at;
        self.updated_at = row.updated_at;
        self.priority = row.priority;
        self.packed = row.size.min(SIZE_MASK)
            | u64::from(row.status.code()) << SIZE_BITS
            | if row.archived { ARCHIVED_BIT } else { 0 };
    }
}

/// Builds an index from rows in ascending id order, sorting the orders once at the end
/// instead of placing each row.
pub struct IndexBuilder {
    index: JobIndex,
    slots: Vec<(u32, u8)>,
}

impl IndexBuilder {
    /// With room for `capacity` jobs.
    pub fn new(capacity: usize) -> IndexBuilder {
        IndexBuilder {
            index: JobIndex {
                entries: Vec::with_capacity(capacity),
                starts: Vec::with_capacity(capacity),
                ..JobIndex::default()
            },
            slots: Vec::with_capacity(capacity),
        }
    }

    pub fn push(&mut self, row: &Row) {
        self.slots.extend(self.index.put_entry(row, false));
    }

    pub fn finish(mut self) -> JobIndex {
        self.index.reorder(&self.slots);
        drop(self.slots);
        // The arena grew by doubling: give back what a few thousand more paths will not use.
        let arena = &mut self.index.arena;
        arena.shrink_to(arena.len() + arena.len() / 32 + 4096);
        self.index
    }
}

#[derive(Default)]
pub struct JobIndex {
    /// Ascending by id.
    entries: Vec<Entry>,
    /// Lower-cased paths, each followed by NUL. Replaced paths stay until the next compaction.
    arena: Vec<u8>,
    /// Slots of every entry, ascending by their path's offset in the arena.
    starts: Vec<u32>,
    /// Slots of every entry in each sort order.
    orders: order::Orders,
    /// Arena bytes no entry points at any more.
    garbage: usize,
    /// Jobs per archive flag (0: listed, 1: archived) and state code.
    counts: [[u64; 8]; 2],
}

impl JobIndex {
    /// An index of `rows`, taken in ascending id order (the order of the jobs table).
    #[cfg(test)]
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = Row<'a>>) -> JobIndex {
        let mut builder = IndexBuilder::new(0);
        for row in rows {
            builder.push(&row);
        }
        builder.finish()
    }

    /// Take one stored job.
    #[cfg(test)]
    pub fn put(&mut self, job: &Job) {
        self.put_rows([Row::from(job)]);
    }

    /// Take the jobs of one commit, in commit order.
    pub fn put_rows<'a>(&mut self, rows: impl IntoIterator<Item = Row<'a>>) {
        let rows: Vec<Row> = rows.into_iter().collect();
        if rows.len() <= BATCH_MERGE {
            for row in &rows {
                self.put_entry(row, true);
            }
            return;
        }
        let mut moved = Vec::new();
        for row in &rows {
            moved.extend(self.put_entry(row, false));
        }
        self.reorder(&moved);
    }

    /// Store `row` in its entry; with `order_now`, move it in the orders its change moves
    /// it in too, else return its slot and those orders (bits by `order::rank`) when the
    /// caller must ([`JobIndex::reorder`]).
    fn put_entry(&mut self, row: &Row, order_now: bool) -> Option<(u32, u8)> {
        let slot = match self.slot(row.id) {
            Some(slot) => slot,
            None => return self.insert(row, order_now),
        };
        let old = self.entries[slot];
        self.counts[usize::from(old.archived())][old.status_code()] -= 1;
        self.count(row);
        let mut key = Vec::with_capacity(row.path.len());
        push_path_key(&mut key, &row.path);
        // A job without a path in the arena may get one now: move it in the path order too.
        let path_moves = old.path_start == NO_PATH || self.path(&old) != key.as_slice();
        let mut new = old;
        new.set(row);
        let moves = JobIndex::moves(&old, &new, path_moves);
        if order_now {
            // Taken out by the old values, before the entry and its path change.
            self.order_remove(moves, slot as u32, &old);
        }
        self.entries[slot] = new;
        self.replace_path_key(slot, &key);
        match (moves, order_now) {
            (0, _) => None,
            (_, true) => {
                self.order_place(moves, slot as u32);
                None
            }
            (_, false) => Some((slot as u32, moves)),
        }
    }

    fn insert(&mut self, row: &Row, order_now: bool) -> Option<(u32, u8)> {
        let mut entry = Entry {
            id: row.id,
            created_at: 0,
            updated_at: 0,
            packed: 0,
            priority: 0,
            path_start: 0,
        };
        entry.set(row);
        entry.path_start = self.push_path(&row.path);
        self.count(row);
        if self.entries.last().is_some_and(|last| last.id > row.id) {
            // Ids only grow, so this does not happen; if it ever does, stay correct: the
            // entry goes where it belongs and the slot orders are rebuilt.
            let at = self.entries.partition_point(|e| e.id < row.id);
            self.entries.insert(at, entry);
            self.rebuild_starts();
            self.rebuild_orders();
            return None;
        }
        self.entries.push(entry);
        let slot = (self.entries.len() - 1) as u32;
        if entry.path_start != NO_PATH {
            self.starts.push(slot);
        }
        if order_now {
            self.order_place(order::ALL_ORDERS, slot);
            None
        } else {
            Some((slot, order::ALL_ORDERS))
        }
    }

    fn count(&mut self, row: &Row) {
        self.counts[usize::from(row.archived)][row.status.code() as usize] += 1;
    }

    fn slot(&self, id: u64) -> Option<usize> {
        match self.entries.last() {
            Some(last) if last.id < id => None,
            None => None,
            Some(_) => self.entries.binary_search_by_key(&id, |e| e.id).ok(),
        }
    }

    /// The path order of the arena from scratch (after an out-of-order insert shifted the
    /// slots).
    fn rebuild_starts(&mut self) {
        let n = self.entries.len() as u32;
        let entries = &self.entries;
        self.starts = (0..n)
            .filter(|&s| entries[s as usize].path_start != NO_PATH)
            .collect();
        self.starts
            .sort_unstable_by_key(|&s| entries[s as usize].path_start);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Counts per state of non-archived jobs.
    pub fn counts(&self) -> [u64; 8] {
        self.counts[0]
    }

    /// Bytes the index holds (its vectors' capacity), for the logs and the benchmarks.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.arena.capacity()
            + self.starts.capacity() * 4
            + self.orders.heap_bytes()
    }

    /// 1-based position of a queued job in dispatch order (priority desc, then oldest).
    pub fn queue_position(&self, id: crate::model::JobId) -> Option<u64> {
        let me = &self.entries[self.slot(id.0)?];
        if me.status() != JobState::Queued || me.archived() {
            return None;
        }
        let ahead = self
            .entries
            .iter()
            .filter(|e| {
                e.status() == JobState::Queued
                    && !e.archived()
                    && (e.priority > me.priority
                        || (e.priority == me.priority
                            && (e.created_at, e.id) < (me.created_at, me.id)))
            })
            .count();
        Some(ahead as u64 + 1)
    }
}

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
