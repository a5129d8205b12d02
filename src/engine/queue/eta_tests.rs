//! Table tests of the queue ETA: default and measured bases, the speed fallbacks, unprobed
//! files and slots.

use super::*;

fn row(id: u64, size: u64) -> QueuedRow {
    QueuedRow {
        id,
        priority: 0,
        created_at: 0,
        size,
    }
}

fn facts(media_seconds: f64, height: u32, saving_bytes: u64) -> QueueFacts {
    QueueFacts {
        saving_bytes,
        media_seconds,
        height,
    }
}

fn sample(backend: Backend, height: u32, media: f64, wall: f64) -> Sample {
    Sample {
        backend,
        height,
        media_seconds: media,
        wall_seconds: wall,
    }
}

#[test]
fn nothing_measured_uses_the_default_speed_and_says_so() {
    let rows = [row(1, 10), row(2, 10)];
    let f = [facts(100.0, 1080, 1000), facts(50.0, 480, 500)];
    let eta = estimate(rows.iter().zip(f.iter().map(Some)), &[], 1);
    assert_eq!(eta.queued, 2);
    assert_eq!(eta.basis, Basis::Default);
    assert_eq!(eta.estimated_seconds, (150.0 / DEFAULT_SPEED) as u64);
    assert_eq!(eta.estimated_savings_bytes, 1500);
    assert!(eta.basis_detail.contains("no encode measured"), "{eta:?}");
}

#[test]
fn measured_speed_per_backend_and_class_with_fallbacks() {
    let samples = [
        // Newest first: VAAPI is in use now.
        sample(Backend::Vaapi, 1080, 400.0, 100.0),
        sample(Backend::Cpu, 1080, 100.0, 100.0),
        sample(Backend::Cpu, 2160, 30.0, 100.0),
    ];
    let cases = [
        // HD on VAAPI: 4× real time.
        (facts(400.0, 1080, 0), 100),
        // UHD: no VAAPI sample, any backend's UHD speed (0.3×).
        (facts(30.0, 2160, 0), 100),
        // SD: no sample anywhere, all samples together: 530/300.
        (facts(530.0, 480, 0), 300),
    ];
    for (f, expected) in cases {
        let r = row(1, 1);
        let eta = estimate([(&r, Some(&f))].into_iter(), &samples, 1);
        assert_eq!(eta.basis, Basis::Measured);
        assert_eq!(eta.estimated_seconds, expected, "{f:?}");
    }
}

#[test]
fn unprobed_files_and_slots() {
    let samples = [sample(Backend::Cpu, 1080, 100.0, 100.0)];
    // 100 MB at 8 Mb/s is 100 s of media; at 1× over 2 slots, 50 s.
    let r = row(1, 100_000_000);
    let eta = estimate([(&r, None)].into_iter(), &samples, 2);
    assert_eq!(eta.estimated_seconds, 50);
    assert_eq!(
        eta.estimated_savings_bytes,
        (100_000_000.0 * UNPROBED_SAVING_FRACTION) as u64
    );
    assert!(eta.basis_detail.contains("1 file not probed"), "{eta:?}");
    // Broken samples (no wall time) are not measurements.
    let broken = [sample(Backend::Cpu, 1080, 100.0, 0.0)];
    let eta = estimate(std::iter::empty(), &broken, 1);
    assert_eq!((eta.queued, eta.basis), (0, Basis::Default));
}
