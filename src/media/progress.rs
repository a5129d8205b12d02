//! Pure progress arithmetic: ffmpeg's status line gives the output timestamp, fps and speed;
//! with the probed duration that becomes percent and ETA. `Throttle` limits how often a job
//! publishes progress so the event bus and SSE clients are not flooded.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// At most two progress events per second per job.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(500);

/// Progress of one encode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    /// 0 to 100.
    pub percent: f64,
    /// Frames encoded per second.
    pub fps: f64,
    /// Media seconds encoded per wall-clock second.
    pub speed: f64,
    /// Position reached in the output, in seconds.
    pub out_time_seconds: f64,
    /// Seconds left at the current speed; `None` while speed or duration is unknown.
    pub eta_seconds: Option<f64>,
}

/// Combine one status line's numbers with the input `duration` (0 = unknown). Non-finite or
/// negative inputs count as 0.
pub fn compute(out_time_seconds: f64, fps: f64, speed: f64, duration: f64) -> Progress {
    let clean = |v: f64| if v.is_finite() && v > 0.0 { v } else { 0.0 };
    let (out, fps, speed, duration) = (
        clean(out_time_seconds),
        clean(fps),
        clean(speed),
        clean(duration),
    );
    let percent = if duration > 0.0 {
        (out / duration * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    let eta_seconds = (speed > 0.0 && duration > 0.0).then(|| (duration - out).max(0.0) / speed);
    Progress {
        percent,
        fps,
        speed,
        out_time_seconds: out,
        eta_seconds,
    }
}

/// Parse ffmpeg's time notation: "01:02:03.5", "02:03.5" or "3.5" seconds, with an optional
/// leading '-'. "N/A", empty or malformed input gives `None`.
pub fn parse_ffmpeg_time(s: &str) -> Option<f64> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let parts: Vec<&str> = s.split(':').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let mut seconds = 0.0;
    for (i, part) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        // Only the seconds part may have a fraction; "1e3" and "inf" are not times.
        let valid = !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_digit() || (last && c == '.'))
            && part.chars().filter(|c| *c == '.').count() <= 1;
        if !valid {
            return None;
        }
        seconds = seconds * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(if negative { -seconds } else { seconds })
}

/// Lets an event through at most once per `min_interval`.
#[derive(Debug, Clone)]
pub struct Throttle {
    min_interval: Duration,
    last: Option<Instant>,
}

impl Throttle {
    pub fn new(min_interval: Duration) -> Self {
        Throttle {
            min_interval,
            last: None,
        }
    }

    /// True (and remembers `now`) when the previous emit is at least `min_interval` ago.
    pub fn ready(&mut self, now: Instant) -> bool {
        let ready = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.min_interval);
        if ready {
            self.last = Some(now);
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_ffmpeg_time("00:01:02.50"), Some(62.5));
        assert_eq!(parse_ffmpeg_time("01:00:00.00"), Some(3600.0));
        assert_eq!(parse_ffmpeg_time("02:03.5"), Some(123.5));
        assert_eq!(parse_ffmpeg_time("7.25"), Some(7.25));
        assert_eq!(parse_ffmpeg_time(" 00:00:02.002000000 "), Some(2.002));
        assert_eq!(parse_ffmpeg_time("-00:00:00.05"), Some(-0.05));
        assert_eq!(
            parse_ffmpeg_time("-577014:32:22.77"),
            Some(-(577014.0 * 3600.0 + 32.0 * 60.0 + 22.77))
        );
        for bad in [
            "N/A",
            "",
            "-",
            "1:2:3:4",
            "a:00",
            "00:1.5:00",
            "1e3",
            "inf",
            "1..2",
            "::",
        ] {
            assert_eq!(parse_ffmpeg_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn percent_and_eta() {
        let p = compute(30.0, 48.0, 2.0, 120.0);
        assert_eq!(p.percent, 25.0);
        assert_eq!(p.eta_seconds, Some(45.0));
        assert_eq!((p.fps, p.speed, p.out_time_seconds), (48.0, 2.0, 30.0));
    }

    #[test]
    fn clamping_and_unknowns() {
        assert_eq!(compute(130.0, 1.0, 1.0, 120.0).percent, 100.0);
        assert_eq!(compute(130.0, 1.0, 1.0, 120.0).eta_seconds, Some(0.0));
        let p = compute(-5.0, f64::NAN, 0.0, 120.0);
        assert_eq!((p.percent, p.fps, p.out_time_seconds), (0.0, 0.0, 0.0));
        assert_eq!(p.eta_seconds, None, "no speed yet");
        let p = compute(5.0, 10.0, 1.0, 0.0);
        assert_eq!((p.percent, p.eta_seconds), (0.0, None), "unknown duration");
    }

    #[test]
    fn throttle_allows_two_per_second() {
        let mut t = Throttle::new(PROGRESS_INTERVAL);
        let t0 = Instant::now();
        assert!(t.ready(t0));
        assert!(!t.ready(t0 + Duration::from_millis(100)));
        assert!(!t.ready(t0 + Duration::from_millis(499)));
        assert!(t.ready(t0 + Duration::from_millis(500)));
        assert!(!t.ready(t0 + Duration::from_millis(900)));
        assert!(t.ready(t0 + Duration::from_millis(1000)));
        // A clock that goes backwards does not panic or emit.
        assert!(!t.ready(t0));
    }
}
