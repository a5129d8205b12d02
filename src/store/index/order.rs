//! The maintained sort orders: for every sort key, the slots of all entries ascending by
//! `(key, id)`, so a page in any order, either direction, after any cursor costs a binary
//! search to its start and a walk of about one page (see `query`). A slot is 4 bytes, so an
//! order of 100k jobs is 400 KB. The `created_at` order usually needs no vector at all: a job
//! is created when its id is taken, so creation times follow the ids and the order is the
//! slot order itself; a vector is made the first time that stops being true (the clock
//! stepped back), and kept from then on.
//!
//! A single change moves its slot (a binary search and a memmove of at most the order) in the
//! orders whose key changed; a large batch re-sorts its changed slots and merges them into
//! each order in one pass.

use std::cmp::Ordering;

use super::cursor::{Cursor, CursorValue, SortKey};
use super::{Entry, JobIndex};

/// Every sort key, in the order of [`Orders::lists`].
pub(super) const SORTS: [SortKey; 5] = [
    SortKey::CreatedAt,
    SortKey::UpdatedAt,
    SortKey::InputPath,
    SortKey::Size,
    SortKey::Priority,
];

/// The position of `sort` in [`SORTS`] and [`Orders::lists`]; its bit in a change mask.
pub(super) fn rank(sort: SortKey) -> usize {
    match sort {
        SortKey::CreatedAt => 0,
        SortKey::UpdatedAt => 1,
        SortKey::InputPath => 2,
        SortKey::Size => 3,
        SortKey::Priority => 4,
    }
}

/// A change mask with every order's bit set: a new entry goes into every order.
pub(super) const ALL_ORDERS: u8 = 0b1_1111;

/// The slots of every entry in one sort order.
#[derive(Debug, Default)]
pub(super) struct SlotOrder {
    /// Ascending by `(key, id)`; empty while `by_slot`.
    slots: Vec<u32>,
    /// The order is the slot order itself: no vector needed.
    by_slot: bool,
}

/// One maintained order per sort key.
#[derive(Debug)]
pub(super) struct Orders {
    lists: [SlotOrder; 5],
}

impl Default for Orders {
    fn default() -> Orders {
        let mut lists: [SlotOrder; 5] = Default::default();
        // Creation times follow the ids until the clock steps back.
        lists[rank(SortKey::CreatedAt)].by_slot = true;
        Orders { lists }
    }
}

impl Orders {
    pub(super) fn heap_bytes(&self) -> usize {
        self.lists.iter().map(|l| l.slots.capacity() * 4).sum()
    }
}

/// An order to walk: the positions `0..len()` hold slots ascending by `(key, id)`.
#[derive(Clone, Copy)]
pub(super) enum View<'a> {
    Slots(&'a [u32]),
    /// The slot order: position `i` holds slot `i`.
    BySlot(usize),
}

impl View<'_> {
    pub(super) fn len(&self) -> usize {
        match self {
            View::Slots(s) => s.len(),
            View::BySlot(n) => *n,
        }
    }

    pub(super) fn get(&self, i: usize) -> u32 {
        match self {
            View::Slots(s) => s[i],
            View::BySlot(_) => i as u32,
        }
    }

    /// The first position whose slot fails `pred` (which holds for a prefix).
    pub(super) fn partition_point(&self, pred: impl Fn(u32) -> bool) -> usize {
        match self {
            View::Slots(s) => s.partition_point(|&slot| pred(slot)),
            View::BySlot(n) => {
                let (mut lo, mut hi) = (0, *n);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if pred(mid as u32) {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                lo
            }
        }
    }
}

impl Entry {
    /// The entry's numeric sort value (every key but the path).
    pub(super) fn number(&self, sort: SortKey) -> i64 {
        match sort {
            SortKey::CreatedAt => self.created_at,
            SortKey::UpdatedAt => self.updated_at,
            // At most 56 bits: fits.
            SortKey::Size => self.size() as i64,
            SortKey::Priority => i64::from(self.priority),
            SortKey::InputPath => 0,
        }
    }
}

impl JobIndex {
    /// `a` against `b` in `sort` order, ascending; ids break ties.
    pub(super) fn cmp_in(&self, sort: SortKey, a: &Entry, b: &Entry) -> Ordering {
        match sort {
            SortKey::InputPath => self.path(a).cmp(self.path(b)),
            _ => a.number(sort).cmp(&b.number(sort)),
        }
        .then(a.id.cmp(&b.id))
    }

    /// `e` against the cursor's `(value, id)` in `sort` order, ascending; `None` when the
    /// cursor holds another kind of value than `sort` sorts by.
    pub(super) fn cmp_cursor(&self, sort: SortKey, e: &Entry, c: &Cursor) -> Option<Ordering> {
        if !c.fits(sort) {
            return None;
        }
        let ord = match &c.value {
            CursorValue::Path(p) => self.path(e).cmp(p.as_slice()),
            CursorValue::Number(n) => i128::from(e.number(sort)).cmp(n),
        };
        Some(ord.then(e.id.cmp(&c.id)))
    }

    /// The maintained order of `sort`.
    pub(super) fn view(&self, sort: SortKey) -> View<'_> {
        let list = &self.orders.lists[rank(sort)];
        if list.by_slot {
            View::BySlot(self.entries.len())
        } else {
            View::Slots(&list.slots)
        }
    }

    /// Which orders `row`'s new values move `old` in (bits by [`rank`]); `path_moves` says
    /// whether its path key changes.
    pub(super) fn moves(old: &Entry, new: &Entry, path_moves: bool) -> u8 {
        let mut mask = 0;
        for sort in SORTS {
            let moved = match sort {
                SortKey::InputPath => path_moves,
                s => old.number(s) != new.number(s),
            };
            if moved {
                mask |= 1 << rank(sort);
            }
        }
        mask
    }

    /// Take the slot holding `old` (the entry as it was) out of the orders in `mask`, before
    /// the entry changes.
    pub(super) fn order_remove(&mut self, mask: u8, slot: u32, old: &Entry) {
        for sort in SORTS {
            if mask & (1 << rank(sort)) == 0 || self.orders.lists[rank(sort)].by_slot {
                continue;
            }
            let slots = &self.orders.lists[rank(sort)].slots;
            let at = slots.partition_point(|&s| {
                self.cmp_in(sort, &self.entries[s as usize], old) == Ordering::Less
            });
            debug_assert_eq!(slots.get(at), Some(&slot), "{sort:?}");
            self.orders.lists[rank(sort)].slots.remove(at);
        }
    }

    /// Put `slot` (new, or taken out by [`JobIndex::order_remove`]) where its entry now
    /// belongs in the orders in `mask`.
    pub(super) fn order_place(&mut self, mask: u8, slot: u32) {
        let n = self.entries.len();
        for sort in SORTS {
            if mask & (1 << rank(sort)) == 0 {
                continue;
            }
            let e = &self.entries[slot as usize];
            let list = &self.orders.lists[rank(sort)];
            if list.by_slot {
                let s = slot as usize;
                let before = s == 0 || self.cmp_in(sort, &self.entries[s - 1], e).is_lt();
                let after = s + 1 >= n || self.cmp_in(sort, e, &self.entries[s + 1]).is_lt();
                if before && after {
                    continue;
                }
                // The others are still in slot order: a vector of them, then this one.
                let slots = (0..n as u32).filter(|&x| x != slot).collect();
                self.orders.lists[rank(sort)] = SlotOrder {
                    slots,
                    by_slot: false,
                };
            }
            let slots = &self.orders.lists[rank(sort)].slots;
            let at = slots.partition_point(|&s| {
                self.cmp_in(sort, &self.entries[s as usize], e) == Ordering::Less
            });
            self.orders.lists[rank(sort)].slots.insert(at, slot);
        }
    }

    /// Put the `moved` slots (new, or with a changed key; each with its mask of changed
    /// orders) where they belong: one pass over each order whatever their number.
    pub(super) fn reorder(&mut self, moved: &[(u32, u8)]) {
        for sort in SORTS {
            let bit = 1 << rank(sort);
            let slots: Vec<u32> = moved
                .iter()
                .filter(|(_, mask)| mask & bit != 0)
                .map(|&(s, _)| s)
                .collect();
            self.reorder_one(sort, slots);
        }
    }

    fn reorder_one(&mut self, sort: SortKey, mut moved: Vec<u32>) {
        if moved.is_empty() {
            return;
        }
        let n = self.entries.len();
        let entry = |s: u32| &self.entries[s as usize];
        let list = &self.orders.lists[rank(sort)];
        let kept_source: Vec<u32>;
        let current: &[u32] = if list.by_slot {
            let sorted = self
                .entries
                .windows(2)
                .all(|w| self.cmp_in(sort, &w[0], &w[1]).is_lt());
            if sorted {
                return;
            }
            // Every unchanged slot is still in slot order.
            kept_source = (0..n as u32).collect();
            &kept_source
        } else {
            &list.slots
        };
        let mut is_moved = vec![false; n];
        for &s in &moved {
            is_moved[s as usize] = true;
        }
        moved.clear();
        moved.extend((0..n as u32).filter(|&s| is_moved[s as usize]));
        let cmp = |a: &u32, b: &u32| self.cmp_in(sort, entry(*a), entry(*b));
        moved.sort_unstable_by(cmp);
        let mut merged = Vec::with_capacity(n.max(list.slots.capacity()));
        let mut kept = current
            .iter()
            .filter(|&&s| !is_moved[s as usize])
            .peekable();
        let mut fresh = moved.iter().peekable();
        loop {
            let next = match (kept.peek(), fresh.peek()) {
                (Some(x), Some(y)) if cmp(x, y).is_le() => kept.next(),
                (Some(_), Some(_)) => fresh.next(),
                (Some(_), None) => kept.next(),
                (None, _) => fresh.next(),
            };
            match next {
                Some(&s) => merged.push(s),
                None => break,
            }
        }
        self.orders.lists[rank(sort)] = SlotOrder {
            slots: merged,
            by_slot: false,
        };
    }

    /// Every order from scratch (after an out-of-order insert shifted the slots).
    pub(super) fn rebuild_orders(&mut self) {
        self.orders = Orders::default();
        let all: Vec<(u32, u8)> = (0..self.entries.len() as u32)
            .map(|s| (s, ALL_ORDERS))
            .collect();
        self.reorder(&all);
    }

    /// The slot orders' invariants, for the tests: each holds every slot once, ascending.
    #[cfg(test)]
    pub(super) fn check_orders(&self) {
        let n = self.entries.len();
        for sort in SORTS {
            let view = self.view(sort);
            assert_eq!(view.len(), n, "{sort:?}");
            let mut seen: Vec<u32> = (0..n).map(|i| view.get(i)).collect();
            for w in seen.windows(2) {
                let (a, b) = (&self.entries[w[0] as usize], &self.entries[w[1] as usize]);
                assert!(self.cmp_in(sort, a, b).is_lt(), "{sort:?} is out of order");
            }
            seen.sort_unstable();
            assert_eq!(seen, (0..n as u32).collect::<Vec<_>>(), "{sort:?}");
        }
    }

    /// Whether `sort` is kept as the slot order itself, for the tests.
    #[cfg(test)]
    pub(super) fn order_by_slot(&self, sort: SortKey) -> bool {
        self.orders.lists[rank(sort)].by_slot
    }
}
