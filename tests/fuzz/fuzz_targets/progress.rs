//! ffmpeg's stderr as the engine reads it: arbitrary bytes, lines and progress records. The
//! reader must end cleanly and every progress it reports must be a sane percentage.
#![no_main]

use alchemist::media::run::{RunEvent, pump_stderr};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a known or unknown duration, as the probe would give.
    let (duration, text) = match data.split_first() {
        Some((d, rest)) => (f64::from(*d) / 8.0, rest),
        None => (0.0, data),
    };
    let mut check = |event: RunEvent| {
        if let RunEvent::Progress(p) = event {
            assert!((0.0..=100.0).contains(&p.percent), "{p:?}");
            assert!(p.fps.is_finite() && p.speed.is_finite(), "{p:?}");
            assert!(p.eta_seconds.is_none_or(|e| e.is_finite() && e >= 0.0), "{p:?}");
        }
    };
    let pumped = pump_stderr(text, duration, &mut check);
    assert!(pumped.tail.len() <= 1000);
});
