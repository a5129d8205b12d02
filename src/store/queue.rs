//! The dispatch order of the queue. Priority always comes first; within a priority the owner
//! picks `oldest_first` (the default, and the `JOBS_QUEUE` table's own order), `smallest_first`
//! (input size) or `largest_saving_first` (a predicted saving the engine hands in per job, see
//! `media::predict`). The choice is kept in the settings table under [`ORDER_KEY`].
//!
//! The other orders cannot use the table's key, and the queue can hold 100,000 jobs: rather
//! than scan them per claim, the store keeps a [`QueueBook`] in memory: one small row per queued
//! job and a `BTreeSet` sorted by the chosen order, so a claim is a `first()` and every commit
//! moves only the jobs it changed. It is built once, lazily (the first claim in another order,
//! or the first ETA), from inside a write transaction, and from then on kept in step by
//! `write_jobs` under the writer lock, like the job index. The engine's per-job facts (the
//! predicted saving, media seconds, picture height) live here too, in memory only: the
//! analyser hands them in again after every start.

use std::collections::{BTreeSet, HashMap};

use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codec::decode;
use super::records::Job;
use super::tables::{JOBS, JOBS_QUEUE};
use super::{Result, Store};
use crate::model::{JobId, JobState};

/// Settings key of the queue order.
pub const ORDER_KEY: &str = "queue.order";

/// A job nothing was predicted for yet (not probed) is assumed to save this fraction of its
/// size: typical of an H.264 source re-encoded to HEVC or AV1 at the default quality, and it
/// keeps unprobed files in size order among themselves.
pub const UNPROBED_SAVING_FRACTION: f64 = 0.4;

/// Which queued job goes first within a priority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueOrder {
    /// First queued, first encoded.
    #[default]
    OldestFirst,
    /// The most bytes predicted to be saved first.
    LargestSavingFirst,
    /// The smallest input first (many small wins early).
    SmallestFirst,
}

impl QueueOrder {
    pub const ALL: [QueueOrder; 3] = [
        QueueOrder::OldestFirst,
        QueueOrder::LargestSavingFirst,
        QueueOrder::SmallestFirst,
    ];

    /// The name used by the API and the settings table.
    pub fn code(self) -> &'static str {
        match self {
            QueueOrder::OldestFirst => "oldest_first",
            QueueOrder::LargestSavingFirst => "largest_saving_first",
            QueueOrder::SmallestFirst => "smallest_first",
        }
    }
}

/// What the engine learned about a queued job ahead of its run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueFacts {
    /// Predicted bytes saved by encoding it (0: it would be skipped or remuxed).
    pub saving_bytes: u64,
    /// Media duration in seconds (0 when unknown).
    pub media_seconds: f64,
    /// Picture height in lines (0 when unknown).
    pub height: u32,
}

/// One queued job, as the orders need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedRow {
    pub id: u64,
    pub priority: i32,
    pub created_at: i64,
    pub size: u64,
}

/// Sort key: higher priority first, then the order's key, then the id.
type Key = (i64, i64, u64);

/// The queued jobs in memory (see the module comment). Plain data, unit-tested.
#[derive(Debug, Default)]
pub struct QueueBook {
    order: QueueOrder,
    /// `None` until built.
    rows: Option<HashMap<u64, QueuedRow>>,
    sorted: BTreeSet<Key>,
    facts: HashMap<u64, QueueFacts>,
}

impl QueueBook {
    #[cfg(test)]
    pub fn new(order: QueueOrder) -> QueueBook {
        QueueBook {
            order,
            ..QueueBook::default()
        }
    }

    pub fn order(&self) -> QueueOrder {
        self.order
    }

    pub fn is_built(&self) -> bool {
        self.rows.is_some()
    }

    fn key(&self, row: &QueuedRow) -> Key {
        let within = match self.order {
            QueueOrder::OldestFirst => row.created_at,
            QueueOrder::SmallestFirst => row.size.min(i64::MAX as u64) as i64,
            QueueOrder::LargestSavingFirst => {
                let saving = match self.facts.get(&row.id) {
                    Some(f) => f.saving_bytes,
                    None => (row.size as f64 * UNPROBED_SAVING_FRACTION) as u64,
                };
                -(saving.min(i64::MAX as u64) as i64)
            }
        };
        (-i64::from(row.priority), within, row.id)
    }

    /// Start over from every queued job.
    pub fn build(&mut self, rows: impl IntoIterator<Item = QueuedRow>) {
        let rows: HashMap<u64, QueuedRow> = rows.into_iter().map(|r| (r.id, r)).collect();
        self.sorted = rows.values().map(|r| self.key(r)).collect();
        self.rows = Some(rows);
    }

    /// Switch the order: one re-sort of the queued rows.
    pub fn set_order(&mut self, order: QueueOrder) {
        self.order = order;
        if let Some(rows) = self.rows.take() {
            self.build(rows.into_values());
        }
    }

    fn remove(&mut self, id: u64) -> Option<QueuedRow> {
        let row = self.rows.as_mut()?.remove(&id)?;
        let key = self.key(&row);
        self.sorted.remove(&key);
        Some(row)
    }

    fn insert(&mut self, row: QueuedRow) {
        let key = self.key(&row);
        if let Some(rows) = self.rows.as_mut() {
            rows.insert(row.id, row);
            self.sorted.insert(key);
        }
    }

    /// Take a committed job: it enters, moves in or leaves the queue.
    pub fn put(&mut self, job: &Job) {
        let queued = job.status == JobState::Queued && !job.archived;
        // Out with the key its facts gave it, before the facts go.
        self.remove(job.id.0);
        if !queued {
            // Its facts may be stale by the time it is queued again; the analyser renews them.
            self.facts.remove(&job.id.0);
        }
        if queued && self.is_built() {
            self.insert(QueuedRow {
                id: job.id.0,
                priority: job.priority,
                created_at: job.created_at,
                size: job.input_size,
            });
        }
    }

    /// Record what the engine predicted for job `id`; it moves if the order depends on it.
    pub fn set_facts(&mut self, id: u64, facts: QueueFacts) {
        let row = self.remove(id);
        self.facts.insert(id, facts);
        if let Some(row) = row {
            self.insert(row);
        }
    }

    /// The next job to dispatch.
    pub fn first(&self) -> Option<JobId> {
        self.sorted.first().map(|&(_, _, id)| JobId(id))
    }

    /// 1-based place of queued job `id` in dispatch order (a walk of the jobs ahead of it).
    pub fn position(&self, id: u64) -> Option<u64> {
        let row = self.rows.as_ref()?.get(&id)?;
        Some(self.sorted.range(..self.key(row)).count() as u64 + 1)
    }

    /// Every queued job (once built) with its facts, for the ETA.
    pub fn queued(&self) -> impl Iterator<Item = (&QueuedRow, Option<&QueueFacts>)> {
        self.rows
            .iter()
            .flat_map(|rows| rows.values())
            .map(|r| (r, self.facts.get(&r.id)))
    }
}

/// Every queued job, read inside a write transaction (so no commit can slip between the read
/// and the book taking over).
fn queued_rows(txn: &WriteTransaction) -> Result<Vec<QueuedRow>> {
    let queue = txn.open_table(JOBS_QUEUE)?;
    let jobs = txn.open_table(JOBS)?;
    let mut out = Vec::new();
    for entry in queue.iter()? {
        let (_, _, id) = entry?.0.value();
        if let Some(v) = jobs.get(id)? {
            let job: Job = decode(v.value())?;
            out.push(QueuedRow {
                id,
                priority: job.priority,
                created_at: job.created_at,
                size: job.input_size,
            });
        }
    }
    Ok(out)
}

impl Store {
    /// The queue order in force.
    pub fn queue_order(&self) -> QueueOrder {
        self.queue_book().order()
    }

    /// Persist and apply a queue order; the next claim follows it.
    pub fn set_queue_order(&self, order: QueueOrder) -> Result<()> {
        self.set_setting(ORDER_KEY, &serde_json::json!(order.code()))?;
        self.queue_book().set_order(order);
        Ok(())
    }

    /// The order the settings table holds (the default when none or an unknown one).
    pub(super) fn stored_queue_order(&self) -> Result<QueueOrder> {
        Ok(self
            .setting(ORDER_KEY)?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    /// Hand in the engine's facts about queued jobs (see [`QueueFacts`]).
    pub fn set_queue_facts(&self, facts: &[(JobId, QueueFacts)]) {
        let mut book = self.queue_book();
        for (id, f) in facts {
            book.set_facts(id.0, *f);
        }
    }

    /// Run `f` over the queued jobs and their facts (building the book first if needed).
    pub fn with_queued<T>(
        &self,
        f: impl for<'a> FnOnce(&mut dyn Iterator<Item = (&'a QueuedRow, Option<&'a QueueFacts>)>) -> T,
    ) -> Result<T> {
        self.ensure_queue_book()?;
        let book = self.queue_book();
        Ok(f(&mut book.queued()))
    }

    /// Build the book if it is not yet, inside a write transaction that changes nothing.
    fn ensure_queue_book(&self) -> Result<()> {
        if self.queue_book().is_built() {
            return Ok(());
        }
        self.write_jobs(|txn, _| self.build_queue_book(txn))
    }

    /// Fill the book from `txn` (the writer lock is held) unless it is built.
    pub(super) fn build_queue_book(&self, txn: &WriteTransaction) -> Result<()> {
        if self.queue_book().is_built() {
            return Ok(());
        }
        let rows = queued_rows(txn)?;
        self.queue_book().build(rows);
        Ok(())
    }

    /// The next job in the chosen order: the `JOBS_QUEUE` table's first for `oldest_first`,
    /// the book's first otherwise.
    pub(super) fn next_queued(&self, txn: &WriteTransaction) -> Result<Option<JobId>> {
        if self.queue_order() == QueueOrder::OldestFirst {
            let first = txn.open_table(JOBS_QUEUE)?.first()?.map(|(k, _)| k.value());
            return Ok(first.map(|(_, _, id)| JobId(id)));
        }
        self.build_queue_book(txn)?;
        Ok(self.queue_book().first())
    }

    /// 1-based place of queued job `id` in the order in force (`None` when not queued).
    pub(super) fn queue_position_in_order(&self, id: JobId) -> Option<u64> {
        self.ensure_queue_book().ok()?;
        self.queue_book().position(id.0)
    }

    fn queue_book(&self) -> std::sync::MutexGuard<'_, QueueBook> {
        self.inner.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// After a commit (under the writer lock): the changed jobs enter or leave the book.
    pub(super) fn queue_book_apply(&self, jobs: &[Job]) {
        let mut book = self.queue_book();
        for job in jobs {
            book.put(job);
        }
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
