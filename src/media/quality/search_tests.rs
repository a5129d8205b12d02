//! The search against modelled score curves: no ffmpeg, exact answers.

use super::*;

/// A score that falls smoothly with the CRF; `hardness` scales how fast (noise-heavy content
/// loses quality sooner).
fn curve(hardness: f64) -> impl Fn(u8) -> f64 {
    move |crf| 100.0 - hardness * (f64::from(crf) / 10.0).powf(2.2)
}

fn run(s: &Search, score: impl Fn(u8) -> f64) -> (Found, usize) {
    let mut calls = 0;
    let found = search(s, |crf| {
        calls += 1;
        Ok::<_, ()>(Measured {
            crf,
            score: score(crf),
            bytes: 1_000_000 / u64::from(crf.max(1)),
            seconds: 1.0,
        })
    })
    .unwrap();
    (found, calls)
}

fn x265(target: f64) -> Search {
    Search {
        target,
        tolerance: 0.0,
        min_crf: 10,
        max_crf: 51,
        start_crf: 28,
        max_runs: 6,
    }
}

/// The true answer: the highest CRF in range whose score reaches the target.
fn truth(s: &Search, score: impl Fn(u8) -> f64) -> Option<u8> {
    (s.min_crf..=s.max_crf)
        .rev()
        .find(|c| score(*c) >= s.target)
}

#[test]
fn finds_the_highest_passing_crf_within_the_runs() {
    for hardness in [1.0, 2.0, 4.0, 8.0] {
        for target in [80.0, 90.0, 95.0] {
            let s = x265(target);
            let (found, calls) = run(&s, curve(hardness));
            assert!(calls <= s.max_runs, "{calls} runs");
            assert_eq!(found.tried.len(), calls);
            let want = truth(&s, curve(hardness));
            if let Some(want) = want {
                assert!(found.met, "h{hardness} t{target}: {found:?}");
                assert!(found.best.score >= target);
                // Within two CRF steps of the optimum (bounded runs, interpolated).
                assert!(
                    want - found.best.crf <= 2,
                    "h{hardness} t{target}: want {want}, got {found:?}"
                );
            }
        }
    }
}

#[test]
fn harder_content_gets_a_lower_crf() {
    let s = x265(92.0);
    let (easy, _) = run(&s, curve(1.5));
    let (hard, _) = run(&s, curve(6.0));
    assert!(easy.met && hard.met);
    assert!(hard.best.crf + 5 < easy.best.crf, "{easy:?} {hard:?}");
}

#[test]
fn an_unreachable_target_ends_at_the_best_crf_flagged() {
    let s = x265(99.0);
    let (found, calls) = run(&s, curve(50.0));
    assert!(!found.met);
    assert_eq!(found.best.crf, s.min_crf);
    assert!(calls <= s.max_runs);
}

#[test]
fn an_easy_target_ends_at_the_top_of_the_range() {
    let s = x265(50.0);
    let (found, _) = run(&s, curve(0.5));
    assert!(found.met);
    assert_eq!(found.best.crf, s.max_crf);
}

#[test]
fn a_pass_within_tolerance_stops_at_once() {
    let s = Search {
        tolerance: 5.0,
        ..x265(90.0)
    };
    // Score at 28 is about 95.2 with hardness 1: within 5 of 90.
    let (found, calls) = run(&s, curve(1.0));
    assert_eq!(calls, 1);
    assert_eq!(found.best.crf, 28);
}

#[test]
fn a_measuring_error_ends_the_search() {
    let mut calls = 0;
    let r = search(&x265(90.0), |_| {
        calls += 1;
        Err::<Measured, _>("ffmpeg failed")
    });
    assert_eq!(r.unwrap_err(), "ffmpeg failed");
    assert_eq!(calls, 1);
}

#[test]
fn one_run_is_one_answer() {
    let s = Search {
        max_runs: 1,
        ..x265(90.0)
    };
    let (found, calls) = run(&s, curve(1.0));
    assert_eq!(calls, 1);
    assert_eq!(found.best.crf, 28);
}
