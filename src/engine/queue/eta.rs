//! How long the queue will take and what it will save, the pure part.
//!
//! Speed is measured, not guessed: each past completed encode gives media seconds per wall
//! second for its backend and picture size class (SD below 720 lines, HD to 1080, UHD above).
//! A queued file's time is its media duration over the speed of its class on the backend that
//! encoded last (the one the box uses now); with no sample there, any backend's speed for that
//! class; with none, all samples together; with no sample at all, [`DEFAULT_SPEED`], and the
//! `basis` says so. Files the analyser has not probed yet count with a duration from their
//! size at [`UNPROBED_BITRATE`] and a saving of `UNPROBED_SAVING_FRACTION` of their size. The
//! total is divided over the engine's parallel slots.

use serde::Serialize;
use utoipa::ToSchema;

use crate::model::Backend;
use crate::store::{QueueFacts, QueuedRow, UNPROBED_SAVING_FRACTION};

/// Media seconds per wall second assumed before anything was measured: a small NAS CPU
/// encoding 1080p HEVC runs at about half real time.
pub const DEFAULT_SPEED: f64 = 0.5;
/// Bit rate assumed for a file not probed yet, to turn its size into a duration (a typical
/// 1080p H.264 download).
pub const UNPROBED_BITRATE: f64 = 8_000_000.0;

/// Picture size classes the speed is measured per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SizeClass {
    Sd,
    Hd,
    Uhd,
}

impl SizeClass {
    pub fn of(height: u32) -> SizeClass {
        match height {
            0..720 => SizeClass::Sd,
            720..=1088 => SizeClass::Hd,
            _ => SizeClass::Uhd,
        }
    }
    fn name(self) -> &'static str {
        match self {
            SizeClass::Sd => "SD",
            SizeClass::Hd => "HD",
            SizeClass::Uhd => "UHD",
        }
    }
}

/// One past completed encode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub backend: Backend,
    pub height: u32,
    pub media_seconds: f64,
    pub wall_seconds: f64,
}

/// Where the estimate's speed came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// From past encodes on this box.
    Measured,
    /// Nothing measured yet: [`DEFAULT_SPEED`].
    Default,
}

/// `GET /api/stats/queue-eta`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QueueEta {
    pub queued: u64,
    /// Wall seconds until the queue is empty, at the measured speed.
    pub estimated_seconds: u64,
    /// Bytes the queued files are predicted to save.
    pub estimated_savings_bytes: u64,
    pub basis: Basis,
    /// The basis in words (samples, speeds, assumptions), for a hint on the dashboard.
    pub basis_detail: String,
}

/// Media seconds and wall seconds summed per (backend, class).
#[derive(Debug, Default)]
struct Speeds {
    sums: Vec<(Backend, SizeClass, f64, f64)>,
}

impl Speeds {
    fn new(samples: &[Sample]) -> Speeds {
        let mut sums: Vec<(Backend, SizeClass, f64, f64)> = Vec::new();
        for s in samples.iter().filter(|s| {
            s.media_seconds.is_finite()
                && s.media_seconds > 0.0
                && s.wall_seconds.is_finite()
                && s.wall_seconds > 0.0
        }) {
            let class = SizeClass::of(s.height);
            match sums
                .iter_mut()
                .find(|(b, c, _, _)| *b == s.backend && *c == class)
            {
                Some(e) => {
                    e.2 += s.media_seconds;
                    e.3 += s.wall_seconds;
                }
                None => sums.push((s.backend, class, s.media_seconds, s.wall_seconds)),
            }
        }
        Speeds { sums }
    }

    fn ratio(&self, keep: impl Fn(Backend, SizeClass) -> bool) -> Option<f64> {
        let (media, wall) = self
            .sums
            .iter()
            .filter(|(b, c, _, _)| keep(*b, *c))
            .fold((0.0, 0.0), |(m, w), e| (m + e.2, w + e.3));
        (wall > 0.0).then(|| media / wall)
    }

    /// See the module comment for the fallbacks.
    fn speed(&self, backend: Option<Backend>, class: SizeClass) -> f64 {
        backend
            .and_then(|b| self.ratio(|sb, sc| sb == b && sc == class))
            .or_else(|| self.ratio(|_, sc| sc == class))
            .or_else(|| self.ratio(|_, _| true))
            .unwrap_or(DEFAULT_SPEED)
    }
}

/// The estimate for `queued` jobs (with the analyser's facts when it has them), from past
/// `samples` (newest first: the first one's backend is the one in use), over `slots` slots.
pub fn estimate<'a>(
    queued: impl Iterator<Item = (&'a QueuedRow, Option<&'a QueueFacts>)>,
    samples: &[Sample],
    slots: u32,
) -> QueueEta {
    let speeds = Speeds::new(samples);
    let backend = samples.first().map(|s| s.backend);
    let (mut count, mut unprobed, mut seconds, mut savings) = (0u64, 0u64, 0.0f64, 0u64);
    for (row, facts) in queued {
        count += 1;
        let (media, height, saving) = match facts {
            Some(f) if f.media_seconds > 0.0 => (f.media_seconds, f.height, f.saving_bytes),
            _ => {
                unprobed += 1;
                let media = row.size as f64 * 8.0 / UNPROBED_BITRATE;
                let saving = (row.size as f64 * UNPROBED_SAVING_FRACTION) as u64;
                (media, 1080, saving)
            }
        };
        seconds += media / speeds.speed(backend, SizeClass::of(height));
        savings = savings.saturating_add(saving);
    }
    let slots = slots.max(1);
    let over = crate::model::count(slots, "slot", "slots");
    let mut detail = if speeds.sums.is_empty() {
        format!("no encode measured yet: assumed {DEFAULT_SPEED}× real time; over {over}")
    } else {
        let mut parts: Vec<String> = speeds
            .sums
            .iter()
            .map(|(b, c, m, w)| format!("{} {} {:.2}× real time", b.as_str(), c.name(), m / w))
            .collect();
        parts.sort();
        format!(
            "measured from {}: {}; over {over}",
            crate::model::count(samples.len(), "encode", "encodes"),
            parts.join(", ")
        )
    };
    if unprobed > 0 {
        detail.push_str(&format!(
            "; {} not probed yet, assumed {} Mb/s and {:.0}% saving",
            crate::model::count(unprobed, "file", "files"),
            UNPROBED_BITRATE / 1e6,
            UNPROBED_SAVING_FRACTION * 100.0
        ));
    }
    QueueEta {
        queued: count,
        estimated_seconds: (seconds / f64::from(slots)).round() as u64,
        estimated_savings_bytes: savings,
        basis: if speeds.sums.is_empty() {
            Basis::Default
        } else {
            Basis::Measured
        },
        basis_detail: detail,
    }
}

#[cfg(test)]
#[path = "eta_tests.rs"]
mod tests;
