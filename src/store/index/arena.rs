//! The index's path arena: every job's lower-cased path, NUL-terminated, in one buffer, so an
//! index entry holds a 4-byte offset instead of a `String`. Replaced paths leave garbage that
//! is compacted once it is over half the arena.

use super::cursor::push_path_key;
use super::{Entry, JobIndex, NO_PATH};

impl JobIndex {
    /// Append `path`'s key to the arena; its offset.
    pub(super) fn push_path(&mut self, path: &str) -> u32 {
        let mut key = Vec::with_capacity(path.len());
        push_path_key(&mut key, path);
        self.push_key(&key)
    }

    /// Append a key to the arena; its offset, or [`NO_PATH`] past 4 GiB of paths (some 40
    /// million jobs, far beyond what this box holds in memory) rather than wrap.
    pub(super) fn push_key(&mut self, key: &[u8]) -> u32 {
        match u32::try_from(self.arena.len() + key.len() + 1) {
            Ok(_) => {
                let start = self.arena.len() as u32;
                self.arena.extend_from_slice(key);
                self.arena.push(0);
                start
            }
            Err(_) => NO_PATH,
        }
    }

    /// Give `slot` the path key `key` (made by `push_path_key`) when it differs from the
    /// one it has.
    pub(super) fn replace_path_key(&mut self, slot: usize, key: &[u8]) {
        let old_start = self.entries[slot].path_start;
        if self.path_at(old_start) == key && old_start != NO_PATH {
            return;
        }
        if old_start != NO_PATH {
            self.garbage += self.path_at(old_start).len() + 1;
            let at = self
                .starts
                .partition_point(|&s| self.entries[s as usize].path_start < old_start);
            debug_assert_eq!(self.starts.get(at), Some(&(slot as u32)));
            self.starts.remove(at);
        }
        let start = self.push_key(key);
        self.entries[slot].path_start = start;
        if start != NO_PATH {
            self.starts.push(slot as u32);
        }
        if self.garbage > 1 << 20 && self.garbage > self.arena.len() / 2 {
            self.compact();
        }
    }

    /// Rebuild the arena without replaced paths, in slot order.
    pub(super) fn compact(&mut self) {
        let mut arena = Vec::with_capacity(self.arena.len() - self.garbage);
        let mut starts = Vec::with_capacity(self.entries.len());
        for (slot, e) in self.entries.iter_mut().enumerate() {
            if e.path_start == NO_PATH {
                continue;
            }
            let rest = &self.arena[e.path_start as usize..];
            let path = &rest[..memchr::memchr(0, rest).unwrap_or(rest.len())];
            e.path_start = arena.len() as u32;
            arena.extend_from_slice(path);
            arena.push(0);
            starts.push(slot as u32);
        }
        self.arena = arena;
        self.starts = starts;
        self.garbage = 0;
    }

    /// The lower-cased path that starts at `start`.
    pub(super) fn path_at(&self, start: u32) -> &[u8] {
        let rest = self.arena.get(start as usize..).unwrap_or_default();
        &rest[..memchr::memchr(0, rest).unwrap_or(rest.len())]
    }

    pub(super) fn path(&self, e: &Entry) -> &[u8] {
        self.path_at(e.path_start)
    }
}
