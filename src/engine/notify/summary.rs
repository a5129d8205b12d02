//! The daily summary's text (from the store's statistics) and the box's local time the summary
//! hour and quiet hours are read in: the zone the owner chose for the pages, else the system's
//! (the same rule as `engine::schedule`).

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::render::Notice;
use super::target::{EventKind, QuietHours, clock};
use crate::model::JobState;
use crate::store::{Store, StoreError};

/// The pages' chosen zone (`web::pages::context::TZ_SETTING`), else the system's, else UTC.
pub async fn zone(store: &Store) -> TimeZone {
    let name = store
        .call(|s| s.setting("timezone"))
        .await
        .ok()
        .flatten()
        .and_then(|v| v.as_str().map(str::to_string));
    name.and_then(|n| TimeZone::get(&n).ok())
        .unwrap_or_else(|| TimeZone::try_system().unwrap_or(TimeZone::UTC))
}

/// Local (day number, hour, minute of day) of `now` in `zone`.
pub fn local(now: Timestamp, zone: &TimeZone) -> (i64, u8, u32) {
    let z = now.to_zoned_datetime(zone.clone());
    let day = z
        .date()
        .since(jiff::civil::date(2000, 1, 1))
        .map(|s| s.get_days() as i64);
    let (h, m) = (z.hour() as u8, z.minute() as u32);
    (day.unwrap_or_default(), h, h as u32 * 60 + m)
}

/// Whether minute-of-day `now` is inside `quiet` (`end` at or before `start` ends the next day;
/// equal: no quiet hours).
pub fn is_quiet(quiet: Option<&QuietHours>, now: u32) -> bool {
    let Some((start, end)) = quiet.and_then(|q| Some((clock(&q.start)?, clock(&q.end)?))) else {
        return false;
    };
    match start.cmp(&end) {
        std::cmp::Ordering::Less => (start..end).contains(&now),
        std::cmp::Ordering::Greater => now >= start || now < end,
        std::cmp::Ordering::Equal => false,
    }
}

fn size(bytes: i64) -> String {
    let gib = bytes as f64 / (1u64 << 30) as f64;
    if gib.abs() >= 1.0 {
        format!("{gib:.1} GiB")
    } else {
        format!("{:.0} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

/// The summary of the last two UTC days (the store keeps its daily counts in UTC) and the
/// queue now.
pub async fn build(store: &Store) -> Result<Notice, StoreError> {
    let (days, totals) = store.call(|s| Ok((s.daily()?, s.aggregated()?))).await?;
    let counts = store.status_counts();
    let recent: Vec<_> = days.iter().rev().take(2).collect();
    let done: u64 = recent.iter().map(|d| d.jobs_completed).sum();
    let failed: u64 = recent.iter().map(|d| d.jobs_failed).sum();
    let saved: i64 = recent.iter().map(|d| d.bytes_saved).sum();
    let message = format!(
        "Since yesterday: {done} encoded, {failed} failed, {} saved. Queue: {} waiting, {} running. Saved in total: {}.",
        size(saved),
        counts.get(JobState::Queued),
        counts.active(),
        size(totals.total_savings_bytes),
    );
    Ok(Notice {
        event: EventKind::DailySummary,
        title: "Daily summary".into(),
        message,
        job: None,
    })
}
