//! Statistics from recorded encode results. Each result is written with its job's completion,
//! together with the day bucket and running totals, so the dashboards never scan all jobs.
//! Archiving a job changes none of these.

use std::collections::BTreeMap;

use redb::{ReadableTable, WriteTransaction};
use serde::Serialize;
use utoipa::ToSchema;

use super::codec::{decode, encode};
use super::records::{DailyBucket, EncodeResult, Totals};
use super::tables::*;
use super::{Result, Store};
use crate::model::{JobId, day_number, day_string, now_ms};

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

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Aggregated {
    pub total_input_bytes: u64,
    pub total_output_bytes: u64,
    pub total_savings_bytes: i64,
    pub savings_percent: f64,
    pub total_encode_seconds: f64,
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
    pub total_bytes_saved: i64,
    pub savings_percent: f64,
    pub by_codec: Vec<CodecSavings>,
    pub by_folder: Vec<FolderSavings>,
    pub largest: Vec<LargestSaving>,
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
        txn.open_table(ENCODE_RESULTS)?
            .insert(r.job_id.0, encode(r).as_slice())?;
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

    pub fn aggregated(&self) -> Result<Aggregated> {
        let read = self.read()?;
        let totals: Totals = match read.open_table(META)?.get("totals")? {
            Some(v) => decode(v.value())?,
            None => Totals::default(),
        };
        let saved = totals.input_bytes as i64 - totals.output_bytes as i64;
        Ok(Aggregated {
            total_input_bytes: totals.input_bytes,
            total_output_bytes: totals.output_bytes,
            total_savings_bytes: saved,
            savings_percent: percent(saved, totals.input_bytes),
            total_encode_seconds: totals.encode_seconds,
        })
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
        let read = self.read()?;
        let t = read.open_table(ENCODE_RESULTS)?;
        let mut by_codec: BTreeMap<String, (u64, i64)> = BTreeMap::new();
        let mut by_folder: BTreeMap<String, (u64, i64)> = BTreeMap::new();
        let mut largest: Vec<LargestSaving> = Vec::new();
        let (mut input, mut saved_total) = (0u64, 0i64);
        for e in t.iter()? {
            let r: EncodeResult = decode(e?.1.value())?;
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
        }
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
            by_codec,
            by_folder,
            largest,
        })
    }
}
