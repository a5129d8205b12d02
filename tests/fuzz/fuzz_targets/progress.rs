//! ffmpeg's stderr as the engine reads it: arbitrary bytes, lines and progress records. The
//! reader must end cleanly and every progress it reports must be a sane percentage.
#![no_main]

use alchemist::media::run::{RunEvent, pump_stderr};
use libfuzzer_sys::fuzz_target;

static HOOK: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts in its panic hook, before any `catch_unwind` runs; but the reader
    // deliberately catches panics inside ffmpeg-sidecar's parser (see `pump_stderr`). A panic
    // that escapes the reader still aborts: libfuzzer-sys catches it at the target's boundary.
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let in_sidecar = info
                .location()
                .is_some_and(|l| l.file().contains("ffmpeg-sidecar"));
            if !in_sidecar {
                eprintln!("{info}");
            }
        }));
    });
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
