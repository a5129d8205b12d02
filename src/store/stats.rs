//! Statistics from recorded encode results. Each result is written with its job's completion,
//! together with the day bucket and running totals, so the dashboards never scan all jobs.
//! Archiving a job changes none of these.
//!
//! Savings count each file once: results are keyed by job, so a job encoded again replaces its
//! earlier result (and moves its day's figure). They are split by where the original stands:
//! *realized* when it was replaced or deleted (the space is freed on disk, or will be when the
//! trash is purged), *potential* when it was kept beside the output (nothing is freed until the
//! owner removes one of the two copies). A restored original that took the output away counts
//! in neither. The running `Totals` stay a count of all work done, for the metrics.

use std::collections::{BTreeMap, HashMap};

use redb::{ReadableTable, WriteTransaction};
use serde::Serialize;
use utoipa::ToSchema;

use super::codec::{decode, encode};
use super::records::{DailyBucket, EncodeResult, Totals, TrashEntry, TrashState};
use super::tables::*;
use super::{Result, Store};
use crate::model::{JobId, OriginalPolicy, day_number, day_string, now_ms};

/// Days covered by `/api/stats/daily`.
pub const DAILY_WINDOW: u32 = 30;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DailyEntry {
    pub date: String,
    pub jobs_completed: u64,
    pub jobs_failed: u64,
    pub bytes_saved: i64,
    pub encode_seconds: f64,
}

/// Savings by where the originals stand; each file counted once (its latest encode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct SavingsSplit {
    /// Freed on disk: source minus output of files whose original was replaced or deleted.
    pub realized_savings_bytes: i64,
    /// Could be freed: source minus output of files whose original was kept beside the output
    /// (both copies are on disk until the owner removes one).
    pub potential_savings_bytes: i64,
    /// Size of the replaced originals still held in the trash (restorable): counted as freed
    /// above, the space is released when the trash is purged.
    pub in_trash_bytes: u64,
    /// The part of `realized_savings_bytes` whose originals wait in the trash: freed on disk
    /// only once the trash is purged (the rest is freed now).
    pub in_trash_savings_bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Aggregated {
    /// Sources of the completed encodes, each file once (its latest encode).
    pub total_input_bytes: u64,
    /// Their outputs.
    pub total_output_bytes: u64,
    /// `total_input_bytes − total_output_bytes`, whatever became of the originals (kept for
    /// compatibility): what the encodes shrank, not what was freed on disk. See
    /// `realized_savings_bytes` and `potential_savings_bytes`.
    pub total_savings_bytes: i64,
    pub savings_percent: f64,
    /// Wall time of every encode, re-encodes included.
    pub total_encode_seconds: f64,
    #[serde(flatten)]
    pub split: SavingsSplit,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CodecSavings {
    pub codec: String,
    pub jobs: u64,
    pub bytes_saved: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FolderSavings {
    pub folder: String,
    pub jobs: u64,
    pub bytes_saved: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LargestSaving {
    pub job_id: JobId,
    pub input_path: String,
    pub bytes_saved: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Savings {
    /// Source minus output over each file's latest encode (realized plus potential, and
    /// restored files); see `/stats/aggregated`.
    pub total_bytes_saved: i64,
    pub savings_percent: f64,
    #[serde(flatten)]
    pub split: SavingsSplit,
    pub by_codec: Vec<CodecSavings>,
    pub by_folder: Vec<FolderSavings>,
    pub largest: Vec<LargestSaving>,
}

/// Where one file's saving stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Realized {
        in_trash: bool,
    },
    Potential,
    /// Restored, and the output removed: the encode left nothing behind.
    Undone,
}

/// `r`'s standing given the job's trash entry (the latest replacement of its original).
fn standing(r: &EncodeResult, trash: Option<&TrashEntry>) -> Standing {
    let policy = r.original.unwrap_or(if trash.is_some() {
        OriginalPolicy::Replace
    } else {
        OriginalPolicy::Keep
    });
    if policy == OriginalPolicy::Keep {
        return Standing::Potential;
    }
    match trash.map(|t| (t.state, t.output_removed)) {
        Some((TrashState::Restored, true)) => Standing::Undone,
        Some((TrashState::Restored, false)) => Standing::Potential,
        Some((TrashState::Trashed, _)) => Standing::Realized { in_trash: true },
        _ => Standing::Realized { in_trash: false },
    }
}

fn percent(saved: i64, input: u64) -> f64 {
    if input == 0 {
        0.0
    } else {
        (saved as f64 / input as f64 * 1000.0).round() / 10.0
    }
}

impl Store {
    /// Write an encode result with its day bucket and the totals (inside the caller's txn).
    pub(super) fn record_result(txn: &WriteTransaction, r: &EncodeResult) -> Result<()> {
        let earlier: Option<EncodeResult> = txn
            .open_table(ENCODE_RESULTS)?
            .insert(r.job_id.0, encode(r).as_slice())?
            .map(|v| decode(v.value()))
            .transpose()?;
        // The job was encoded before: its file counts once, on the day of its latest encode.
        if let Some(e) = earlier {
            let saved = e.input_size as i64 - e.output_size as i64;
            Store::bump_day(txn, day_number(e.completed_at), |b| b.bytes_saved -= saved)?;
        }
        let saved = r.input_size as i64 - r.output_size as i64;
        Store::bump_day(txn, day_number(r.completed_at), |b| {
            b.jobs_completed += 1;
            b.bytes_saved += saved;
            b.encode_seconds += r.encode_seconds;
        })?;
        let mut meta = txn.open_table(META)?;
        let mut totals: Totals = match meta.get("totals")? {
            Some(v) => decode(v.value())?,
            None => Totals::default(),
        };
        totals.input_bytes += r.input_size;
        totals.output_bytes += r.output_size;
        totals.encode_seconds += r.encode_seconds;
        meta.insert("totals", encode(&totals).as_slice())?;
        Ok(())
    }

    fn bump_day(txn: &WriteTransaction, day: u32, f: impl FnOnce(&mut DailyBucket)) -> Result<()> {
        let mut t = txn.open_table(DAILY_STATS)?;
        let mut bucket: DailyBucket = match t.get(day)? {
            Some(v) => decode(v.value())?,
            None => DailyBucket::default(),
        };
        f(&mut bucket);
        t.insert(day, encode(&bucket).as_slice())?;
        Ok(())
    }

    /// Count a failed attempt in today's bucket (inside the caller's txn).
    pub(super) fn count_failure(txn: &WriteTransaction) -> Result<()> {
        Store::bump_day(txn, day_number(now_ms()), |b| b.jobs_failed += 1)
    }

    /// Totals over each file's latest encode, split by where the originals stand.
    pub fn aggregated(&self) -> Result<Aggregated> {
        let read = self.read()?;
        let totals: Totals = match read.open_table(META)?.get("totals")? {
            Some(v) => decode(v.value())?,
            None => Totals::default(),
        };
        drop(read);
        let (mut input, mut output, mut split) = (0u64, 0u64, SavingsSplit::default());
        self.each_result(|r, standing| {
            input += r.input_size;
            output += r.output_size;
            split.add(r, standing);
        })?;
        let saved = input as i64 - output as i64;
        Ok(Aggregated {
            total_input_bytes: input,
            total_output_bytes: output,
            total_savings_bytes: saved,
            savings_percent: percent(saved, input),
            total_encode_seconds: totals.encode_seconds,
            split,
        })
    }

    /// All work done, re-encodes included: the running totals (for monotonic metrics).
    pub fn work_totals(&self) -> Result<(u64, u64, f64)> {
        let read = self.read()?;
        let totals: Totals = match read.open_table(META)?.get("totals")? {
            Some(v) => decode(v.value())?,
            None => Totals::default(),
        };
        Ok((
            totals.input_bytes,
            totals.output_bytes,
            totals.encode_seconds,
        ))
    }

    /// Call `f` with every recorded result (one per job: its latest) and its standing.
    fn each_result(&self, mut f: impl FnMut(&EncodeResult, Standing)) -> Result<()> {
        let read = self.read()?;
        let mut trash: HashMap<u64, TrashEntry> = HashMap::new();
        for row in read.open_table(TRASH)?.iter()? {
            let e: TrashEntry = decode(row?.1.value())?;
            trash.insert(e.job_id, e);
        }
        for row in read.open_table(ENCODE_RESULTS)?.iter()? {
            let r: EncodeResult = decode(row?.1.value())?;
            f(&r, standing(&r, trash.get(&r.job_id.0)));
        }
        Ok(())
    }

    /// The last `DAILY_WINDOW` UTC days, oldest first, zero days included.
    pub fn daily(&self) -> Result<Vec<DailyEntry>> {
        let today = day_number(now_ms());
        let first = today + 1 - DAILY_WINDOW;
        let read = self.read()?;
        let t = read.open_table(DAILY_STATS)?;
        let mut buckets = BTreeMap::new();
        for e in t.range(first..=today)? {
            let (k, v) = e?;
            buckets.insert(k.value(), decode::<DailyBucket>(v.value())?);
        }
        Ok((first..=today)
            .map(|day| {
                let b = buckets.remove(&day).unwrap_or_default();
                DailyEntry {
                    date: day_string(day),
                    jobs_completed: b.jobs_completed,
                    jobs_failed: b.jobs_failed,
                    bytes_saved: b.bytes_saved,
                    encode_seconds: b.encode_seconds,
                }
            })
            .collect())
    }

    /// Savings broken down by codec and folder, and the largest single savings.
    pub fn savings(&self) -> Result<Savings> {
        const LARGEST: usize = 10;
        let mut by_codec: BTreeMap<String, (u64, i64)> = BTreeMap::new();
        let mut by_folder: BTreeMap<String, (u64, i64)> = BTreeMap::new();
        let mut largest: Vec<LargestSaving> = Vec::new();
        let (mut input, mut saved_total) = (0u64, 0i64);
        let mut split = SavingsSplit::default();
        self.each_result(|r, standing| {
            split.add(r, standing);
            let saved = r.input_size as i64 - r.output_size as i64;
            input += r.input_size;
            saved_total += saved;
            let c = by_codec.entry(r.codec.clone()).or_default();
            c.0 += 1;
            c.1 += saved;
            let folder = r
                .folder
                .as_ref()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| "(enqueued)".to_string());
            let f = by_folder.entry(folder).or_default();
            f.0 += 1;
            f.1 += saved;
            largest.push(LargestSaving {
                job_id: r.job_id,
                input_path: r.input_path.to_string_lossy().into_owned(),
                bytes_saved: saved,
            });
            if largest.len() > LARGEST * 4 {
                largest.sort_by_key(|x| std::cmp::Reverse(x.bytes_saved));
                largest.truncate(LARGEST);
            }
        })?;
        largest.sort_by_key(|x| std::cmp::Reverse(x.bytes_saved));
        largest.truncate(LARGEST);
        let mut by_codec: Vec<CodecSavings> = by_codec
            .into_iter()
            .map(|(codec, (jobs, bytes_saved))| CodecSavings {
                codec,
                jobs,
                bytes_saved,
            })
            .collect();
        by_codec.sort_by_key(|x| std::cmp::Reverse(x.bytes_saved));
        let mut by_folder: Vec<FolderSavings> = by_folder
            .into_iter()
            .map(|(folder, (jobs, bytes_saved))| FolderSavings {
                folder,
                jobs,
                bytes_saved,
            })
            .collect();
        by_folder.sort_by_key(|x| std::cmp::Reverse(x.bytes_saved));
        Ok(Savings {
            total_bytes_saved: saved_total,
            savings_percent: percent(saved_total, input),
            split,
            by_codec,
            by_folder,
            largest,
        })
    }
}

impl SavingsSplit {
    fn add(&mut self, r: &EncodeResult, standing: Standing) {
        let saved = r.input_size as i64 - r.output_size as i64;
        match standing {
            Standing::Realized { in_trash } => {
                self.realized_savings_bytes += saved;
                if in_trash {
                    self.in_trash_bytes += r.input_size;
                    self.in_trash_savings_bytes += saved;
                }
            }
            Standing::Potential => self.potential_savings_bytes += saved,
            Standing::Undone => {}
        }
    }
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
