//! Answering a [`JobQuery`] from the index: one page of ids, the number of matches and the
//! cursor of the next page.
//!
//! Without a search, every order walks its maintained order (`order`) from the cursor (or the
//! page's start) and stops after one page of matches; its total comes from the counts kept
//! on write, and when every job matches, a page number is a jump rather than a walk. A
//! search first scans the path arena once (the part that stays O(library): about a byte
//! compared per path byte, SIMD); then few hits are sorted by themselves, and many are
//! marked in a bitmap that the walk over the maintained order tests, stopping after one page.

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

/// A search whose matches are at most one in this many jobs sorts its matches; more walk the
/// maintained order: sorting `m` matches costs about `m` comparisons of keys spread over
/// memory, the walk at most a bit test per job in the order, and it stops after one page.
const SORT_HITS_BELOW: usize = 32;

/// How a search's matches are put in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SearchPlan {
    /// Sort the matches themselves (few of them).
    SortHits,
    /// Walk the maintained order, keeping the jobs marked in a bitmap of matches.
    WalkOrder,
}

impl JobIndex {
    /// One page of the query.
    pub fn query(&self, q: &JobQuery) -> Page {
        self.query_planned(q, None)
    }

    /// One page of the query, a search's matches ordered as `plan` says (by their number
    /// when `None`).
    pub(super) fn query_planned(&self, q: &JobQuery, plan: Option<SearchPlan>) -> Page {
        let search = q.search.as_deref().filter(|s| !s.is_empty());
        let (entries, total) = match search {
            None => {
                let mask = q.status_mask();
                let archived = usize::from(q.archived);
                let total = (0..8)
                    .filter(|&s| mask[s])
                    .map(|s| self.counts[archived][s])
                    .sum::<u64>() as usize;
                let keep = |s: u32| {
                    let e = &self.entries[s as usize];
                    e.archived() == q.archived && mask[e.status_code()]
                };
                (self.walk_order(q, total, keep), total)
            }
            Some(needle) => self.walk_search(q, needle, plan),
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
            SortKey::InputPath => CursorValue::Path(self.path(e).to_vec()),
            s => CursorValue::Number(e.number(s).into()),
        };
        Cursor { value, id: e.id }
    }

    /// One page of the jobs `keep` keeps (`total` of them), walking the maintained order of
    /// the query's sort from the cursor (a binary search) or the page's start.
    fn walk_order(&self, q: &JobQuery, total: usize, keep: impl Fn(u32) -> bool) -> Vec<&Entry> {
        let view = self.view(q.sort);
        let (mut lo, mut hi) = (0, view.len());
        let mut skip = 0;
        match &q.after {
            Some(c) => {
                if !c.fits(q.sort) {
                    // A cursor of another order never parses for this one.
                    return Vec::new();
                }
                let cmp = |s: u32| self.cmp_cursor(q.sort, &self.entries[s as usize], c);
                if q.desc {
                    hi = view.partition_point(|s| cmp(s) == Some(Ordering::Less));
                } else {
                    lo = view.partition_point(|s| cmp(s) != Some(Ordering::Greater));
                }
            }
            None => skip = q.page.saturating_sub(1).saturating_mul(q.limit),
        }
        if total == self.entries.len() {
            // Every job matches: the page starts `skip` positions in.
            if q.desc {
                hi = hi.saturating_sub(skip).max(lo);
            } else {
                lo = lo.saturating_add(skip).min(hi);
            }
            skip = 0;
        }
        let entry = |s: u32| &self.entries[s as usize];
        let slots = (lo..hi).map(|i| view.get(i));
        if q.desc {
            let hits = slots.rev().filter(|&s| keep(s));
            hits.skip(skip).take(q.limit).map(entry).collect()
        } else {
            let hits = slots.filter(|&s| keep(s));
            hits.skip(skip).take(q.limit).map(entry).collect()
        }
    }

    /// A searched list: the arena scan, then the matches in order.
    fn walk_search(
        &self,
        q: &JobQuery,
        needle: &str,
        plan: Option<SearchPlan>,
    ) -> (Vec<&Entry>, usize) {
        let mask = q.status_mask();
        let keep = |e: &Entry| e.archived() == q.archived && mask[e.status_code()];
        let mut hits = self.search(&needle.to_lowercase());
        hits.retain(|&s| keep(&self.entries[s]));
        let total = hits.len();
        let plan = plan.unwrap_or(
            if total.saturating_mul(SORT_HITS_BELOW) < self.entries.len() {
                SearchPlan::SortHits
            } else {
                SearchPlan::WalkOrder
            },
        );
        if plan == SearchPlan::WalkOrder {
            let mut marked = vec![0u64; self.entries.len().div_ceil(64)];
            for &s in &hits {
                marked[s / 64] |= 1 << (s % 64);
            }
            drop(hits);
            let keep = |s: u32| marked[s as usize / 64] & (1 << (s % 64)) != 0;
            return (self.walk_order(q, total, keep), total);
        }
        let cmp = |a: &Entry, b: &Entry| {
            let ord = self.cmp_in(q.sort, a, b);
            if q.desc { ord.reverse() } else { ord }
        };
        // Strictly after the cursor, in the same order.
        let after = |e: &Entry| {
            let Some(c) = &q.after else { return true };
            match self.cmp_cursor(q.sort, e, c) {
                Some(ord) if q.desc => ord == Ordering::Less,
                Some(ord) => ord == Ordering::Greater,
                None => false,
            }
        };
        let page = if q.after.is_some() { 1 } else { q.page };
        let start = page.saturating_sub(1).saturating_mul(q.limit);
        let end = start.saturating_add(q.limit);
        // Descending sorts walk newest first: times (and often sizes) grow with the job id, so
        // the best entries then come early and the rest cost one comparison each in `top_k`;
        // walked the other way, every entry would displace the buffer's worst.
        let candidates: Box<dyn Iterator<Item = &Entry>> = if q.desc {
            Box::new(hits.iter().rev().map(|&s| &self.entries[s]))
        } else {
            Box::new(hits.iter().map(|&s| &self.entries[s]))
        };
        let candidates = candidates.filter(|e| after(e));
        let page = if end <= TOP_K_MAX {
            let mut best = top_k(candidates, end, &cmp);
            best.split_off(start.min(best.len()))
        } else {
            select_range(candidates.collect(), start, end, &cmp)
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
        let start = |i: usize| self.entries[self.starts[i] as usize].path_start as usize;
        // Index in `starts` of the live path at or before the last hit: hits come in arena
        // order, so it only moves forward.
        let mut i = 0;
        let mut from = 0;
        while let Some(found) = finder.find(&self.arena[from..]) {
            let pos = from + found;
            if self.starts.is_empty() || start(0) > pos {
                from = pos + 1;
                continue;
            }
            // Gallop forward to the last path starting at or before `pos`.
            let mut step = 1;
            while i + step < self.starts.len() && start(i + step) <= pos {
                i += step;
                step *= 2;
            }
            let end = (i + step).min(self.starts.len());
            i += self.starts[i + 1..end]
                .partition_point(|&s| self.entries[s as usize].path_start as usize <= pos);
            let slot = self.starts[i] as usize;
            let e = &self.entries[slot];
            let path_end = e.path_start as usize + self.path(e).len();
            if pos + key.len() <= path_end {
                out.push(slot);
                // One hit is enough: go on after this path's NUL.
                from = path_end + 1;
            } else {
                // A hit in a replaced path, which no live entry points at.
                from = pos + 1;
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
