//! Charts as inline SVG geometry computed here and drawn by the templates (which escape every
//! label): savings per day (vertical bars) and savings by codec (horizontal bars). No script.

use serde::Serialize;

use crate::store::{CodecSavings, DailyEntry};

/// Drawing area of the daily chart, in SVG user units (the SVG scales to its box).
pub const DAILY_WIDTH: f64 = 600.0;
pub const DAILY_HEIGHT: f64 = 160.0;
/// Width of the codec chart; each codec gets one row.
pub const CODEC_WIDTH: f64 = 600.0;
pub const CODEC_ROW: f64 = 28.0;

#[derive(Serialize)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub label: String,
    pub value: i64,
    /// Share of the largest value, 0 to 100 (bars drawn in a 100-unit-wide box).
    pub percent: f64,
}

#[derive(Serialize)]
pub struct Chart {
    pub width: f64,
    pub height: f64,
    pub bars: Vec<Bar>,
    /// Largest value, for the axis caption.
    pub max: i64,
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// One bar per day, height proportional to the bytes saved (days that grew files show none).
pub fn daily(days: &[DailyEntry]) -> Chart {
    let max = days.iter().map(|d| d.bytes_saved).max().unwrap_or(0).max(1);
    let slot = DAILY_WIDTH / days.len().max(1) as f64;
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let h = (d.bytes_saved.max(0) as f64 / max as f64) * DAILY_HEIGHT;
            Bar {
                x: round(i as f64 * slot + slot * 0.1),
                y: round(DAILY_HEIGHT - h),
                width: round(slot * 0.8),
                height: round(h),
                label: d.date.clone(),
                value: d.bytes_saved,
                percent: round(h / DAILY_HEIGHT * 100.0),
            }
        })
        .collect();
    Chart {
        width: DAILY_WIDTH,
        height: DAILY_HEIGHT,
        bars,
        max,
    }
}

/// One row per codec; the label column is left of the bar.
pub fn by_codec(codecs: &[CodecSavings]) -> Chart {
    let max = codecs
        .iter()
        .map(|c| c.bytes_saved)
        .max()
        .unwrap_or(0)
        .max(1);
    let label_width = 120.0;
    let bars = codecs
        .iter()
        .enumerate()
        .map(|(i, c)| Bar {
            x: label_width,
            y: round(i as f64 * CODEC_ROW + 4.0),
            width: round(
                (c.bytes_saved.max(0) as f64 / max as f64) * (CODEC_WIDTH - label_width - 100.0),
            ),
            height: CODEC_ROW - 8.0,
            label: c.codec.clone(),
            value: c.bytes_saved,
            percent: round(c.bytes_saved.max(0) as f64 / max as f64 * 100.0),
        })
        .collect();
    Chart {
        width: CODEC_WIDTH,
        height: (codecs.len().max(1) as f64) * CODEC_ROW,
        bars,
        max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, saved: i64) -> DailyEntry {
        DailyEntry {
            date: date.into(),
            jobs_completed: 1,
            jobs_failed: 0,
            bytes_saved: saved,
            encode_seconds: 1.0,
        }
    }

    #[test]
    fn bars_scale_to_the_largest_day() {
        let c = daily(&[day("a", 0), day("b", 50), day("c", 100), day("d", -10)]);
        assert_eq!(c.bars.len(), 4);
        assert_eq!(c.bars[2].height, DAILY_HEIGHT);
        assert_eq!(c.bars[1].height, DAILY_HEIGHT / 2.0);
        assert_eq!(c.bars[3].height, 0.0);
        assert_eq!(c.bars[2].y, 0.0);
        assert!(c.bars[3].x > c.bars[2].x);
    }

    #[test]
    fn empty_is_drawable() {
        assert!(daily(&[]).bars.is_empty());
        assert_eq!(by_codec(&[]).height, CODEC_ROW);
    }
}
