//! Answering a [`JobQuery`] from the index: one page of ids, the number of matches and the
//! cursor of the next page.
//!
//! Two ways: the `updated_at` order without a search walks the maintained order from the
//! cursor (or the page's start) and stops after one page of matches; its total comes from the
//! counts kept on write. Every other list (another order, or a search) walks its candidates
//! once: a search's hits, or every entry. Early pages keep the best `page × limit` entries in
//! a small sorted buffer during that walk; deep pages fall back to a selection over every
//! match.

use std::cmp::Ordering;

use crate::model::JobId;

use super::cursor::{Cursor, CursorValue, JobQuery, SortKey};
use super::{Entry, JobIndex};

/// One page of a job list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub ids: Vec<JobId>,
    /// Jobs matching the query on every page.
    pub total: usize,
    /// Where the next page starts; `None` when this page is not full (the last one).
    pub next: Option<Cursor>,
}

/// Up to this many entries (page × limit) are kept in the one-pass buffer of [`top_k`]; past
/// it the buffer's insertions would cost more than a selection over every match.
const TOP_K_MAX: usize = 2048;

impl JobIndex {
    /// One page of the query.
    pub fn query(&self, q: &JobQuery) -> Page {
        let search = q.search.as_deref().filter(|s| !s.is_empty());
        let (entries, total) = match search {
            None if q.sort == SortKey::UpdatedAt => self.walk_updated(q),
            _ => self.walk_all(q, search),
        };
        let next = (entries.len() == q.limit)
            .then(|| entries.last().map(|e| self.cursor_after(e, q.sort)))
            .flatten();
        Page {
            ids: entries.iter().map(|e| JobId(e.id)).collect(),
            total,
            next,
        }
    }

    fn cursor_after(&self, e: &Entry, sort: SortKey) -> Cursor {
        let value = match sort {
            SortKey::CreatedAt => CursorValue::Number(e.created_at.into()),
            SortKey::UpdatedAt => CursorValue::Number(e.updated_at.into()),
            SortKey::Size => CursorValue::Number(e.size().into()),
            SortKey::Priority => CursorValue::Number(e.priority.into()),
            SortKey::InputPath => CursorValue::Path(self.path(e).to_vec()),
        };
        Cursor { value, id: e.id }
    }

    /// The `updated_at` order: a binary search to the cursor, then one page of matches.
    fn walk_updated(&self, q: &JobQuery) -> (Vec<&Entry>, usize) {
        let mask = q.status_mask();
        let archived = usize::from(q.archived);
        let total = (0..8)
            .filter(|&s| mask[s])
            .map(|s| self.counts[archived][s])
            .sum::<u64>() as usize;
        let keep = |e: &&Entry| e.archived() == q.archived && mask[e.status_code()];
        let slots = &self.by_updated[..];
        let entry = |s: &u32| &self.entries[*s as usize];
        let (slots, skip) = match &q.after {
            Some(c) => {
                let CursorValue::Number(n) = c.value else {
                    // A path cursor never parses for this order.
                    return (Vec::new(), total);
                };
                let key = |s: &u32| {
                    let e = entry(s);
                    (i128::from(e.updated_at), e.id).cmp(&(n, c.id))
                };
                let slots = if q.desc {
                    &slots[..slots.partition_point(|s| key(s) == Ordering::Less)]
                } else {
                    &slots[slots.partition_point(|s| key(s) != Ordering::Greater)..]
                };
                (slots, 0)
            }
            None => (slots, q.page.saturating_sub(1).saturating_mul(q.limit)),
        };
        let page: Vec<&Entry> = if q.desc {
            let hits = slots.iter().rev().map(entry).filter(keep);
            hits.skip(skip).take(q.limit).collect()
        } else {
            let hits = slots.iter().map(entry).filter(keep);
            hits.skip(skip).take(q.limit).collect()
        };
        (page, total)
    }

    /// Any order, any search: one walk over the candidates.
    fn walk_all(&self, q: &JobQuery, search: Option<&str>) -> (Vec<&Entry>, usize) {
        let mask = q.status_mask();
        let keep = |e: &Entry| e.archived() == q.archived && mask[e.status_code()];
        let cmp = |a: &Entry, b: &Entry| {
            let ord = match q.sort {
                SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
                SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
                SortKey::InputPath => self.path(a).cmp(self.path(b)),
                SortKey::Size => a.size().cmp(&b.size()),
                SortKey::Priority => a.priority.cmp(&b.priority),
            }
            .then(a.id.cmp(&b.id));
            if q.desc { ord.reverse() } else { ord }
        };
        // Strictly after the cursor, in the same order; the total still counts every match.
        let after = |e: &Entry| {
            let Some(c) = &q.after else { return true };
            let ord = match (&c.value, q.sort) {
                (CursorValue::Path(p), _) => self.path(e).cmp(p.as_slice()),
                (CursorValue::Number(n), SortKey::CreatedAt) => i128::from(e.created_at).cmp(n),
                (CursorValue::Number(n), SortKey::UpdatedAt) => i128::from(e.updated_at).cmp(n),
                (CursorValue::Number(n), SortKey::Size) => i128::from(e.size()).cmp(n),
                (CursorValue::Number(n), _) => i128::from(e.priority).cmp(n),
            }
            .then(e.id.cmp(&c.id));
            let ord = if q.desc { ord.reverse() } else { ord };
            ord == Ordering::Greater
        };
        let page = if q.after.is_some() { 1 } else { q.page };
        let start = page.saturating_sub(1).saturating_mul(q.limit);
        let end = start.saturating_add(q.limit);
        let searched = search.map(|needle| self.search(&needle.to_lowercase()));
        // Descending sorts walk newest first: times (and often sizes) grow with the job id, so
        // the best entries then come early and the rest cost one comparison each in `top_k`;
        // walked the other way, every entry would displace the buffer's worst.
        let hits: Box<dyn Iterator<Item = &Entry>> = match (&searched, q.desc) {
            (Some(slots), false) => Box::new(slots.iter().map(|&s| &self.entries[s])),
            (Some(slots), true) => Box::new(slots.iter().rev().map(|&s| &self.entries[s])),
            (None, false) => Box::new(self.entries.iter()),
            (None, true) => Box::new(self.entries.iter().rev()),
        };
        let mut total = 0;
        let hits = hits.filter(|e| keep(e)).filter(|e| {
            total += 1;
            after(e)
        });
        let page = if end <= TOP_K_MAX {
            let mut best = top_k(hits, end, &cmp);
            best.split_off(start.min(best.len()))
        } else {
            select_range(hits.collect(), start, end, &cmp)
        };
        (page, total)
    }

    /// Slots of entries whose path contains `needle` (already lower-cased), in slot order.
    fn search(&self, needle: &str) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        if needle.contains('\0') {
            // No path has one (NUL ends each path in the arena).
            return out;
        }
        let key = needle.as_bytes();
        let finder = memchr::memmem::Finder::new(key);
        let mut last = usize::MAX;
        for pos in finder.find_iter(&self.arena) {
            // The live path holding `pos`: the last one starting at or before it. Replaced
            // paths are in no `starts`; a hit in one falls past the end of the path found.
            let i = self
                .starts
                .partition_point(|&s| self.entries[s as usize].path_start as usize <= pos);
            let Some(&slot) = i.checked_sub(1).and_then(|i| self.starts.get(i)) else {
                continue;
            };
            let slot = slot as usize;
            if slot == last {
                continue;
            }
            let e = &self.entries[slot];
            if pos + key.len() <= e.path_start as usize + self.path(e).len() {
                last = slot;
                out.push(slot);
            }
        }
        // Hits come in arena order; renamed paths sit at its end, out of slot order.
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The first `k` entries in `cmp` order, sorted. One pass; an entry costs one comparison with
/// the buffer's last unless it belongs in the buffer.
fn top_k<'a>(
    entries: impl Iterator<Item = &'a Entry>,
    k: usize,
    cmp: &impl Fn(&Entry, &Entry) -> Ordering,
) -> Vec<&'a Entry> {
    let mut best: Vec<&Entry> = Vec::with_capacity(k.min(TOP_K_MAX) + 1);
    for e in entries {
        if k == 0 {
            continue;
        }
        if best.len() == k {
            match best.last() {
                Some(last) if cmp(e, last) == Ordering::Less => {
                    best.pop();
                }
                _ => continue,
            }
        }
        let at = best.partition_point(|b| cmp(b, e) == Ordering::Less);
        best.insert(at, e);
    }
    best
}

/// Entries `start..end` of `hits` in `cmp` order.
fn select_range<'a>(
    mut hits: Vec<&'a Entry>,
    start: usize,
    end: usize,
    cmp: &impl Fn(&Entry, &Entry) -> Ordering,
) -> Vec<&'a Entry> {
    let total = hits.len();
    if start >= total {
        return Vec::new();
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
    page
}
