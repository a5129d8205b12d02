//! The sample step on its own: cut, encode and score samples with the real ffmpeg, and search
//! the CRF for an SSIM target. An easy clip (testsrc2) gets a clearly higher CRF than the same
//! picture under strong noise, and the search stays within its bounded rounds.

use std::path::Path;

use alchemist::media::plan::VideoEncode;
use alchemist::media::quality::sample::{MAX_ROUNDS, Sampler};
use alchemist::media::quality::{Metric, Resolved};
use alchemist::media::run::RunOptions;
use alchemist::model::CpuEncoder;
use alchemist::process::Priority;
use tokio_util::sync::CancellationToken;

use super::clip;
use crate::support::clips::ffmpeg;

fn x264() -> VideoEncode {
    VideoEncode {
        encoder: CpuEncoder::Libx264,
        crf: 23,
        preset: "ultrafast".into(),
        ten_bit: false,
        deinterlace: false,
        colour: None,
        tonemap: None,
    }
}

fn search(input: &Path, seconds: f64, work: &Path) -> (u8, f64, usize) {
    let opts = RunOptions {
        ffmpeg: ffmpeg().to_path_buf(),
        priority: Priority::Normal,
        duration: 0.0,
        pass_fd: None,
    };
    let sampler = Sampler::cut(opts, work, input, seconds, CancellationToken::new()).unwrap();
    let target = Resolved {
        metric: Metric::Ssim,
        value: 0.97,
    };
    let s = sampler.run(&x264(), 2, target, (10, 51), seconds).unwrap();
    assert!(s.found.met, "{s:?}");
    assert!(s.found.best.score >= 0.97, "{s:?}");
    assert!(s.found.tried.len() <= MAX_ROUNDS, "{s:?}");
    assert_eq!(s.sample_encodes, sampler.encoder_runs());
    assert!(s.predicted_video_bytes > 0);
    (s.found.best.crf, s.found.best.score, s.sample_encodes)
}

#[test]
fn an_easy_clip_gets_a_higher_crf_than_a_noisy_one() {
    let work = tempfile::tempdir().unwrap();
    let easy = clip("quality-easy.mkv", 4, false);
    let hard = clip("quality-hard.mkv", 4, true);
    let (easy_crf, easy_score, _) = search(&easy, 4.0, work.path());
    let (hard_crf, hard_score, _) = search(&hard, 4.0, work.path());
    assert!(
        easy_crf >= hard_crf + 6,
        "easy CRF {easy_crf} ({easy_score}) vs noisy CRF {hard_crf} ({hard_score})"
    );
    // The samples are cut into a folder of their own and removed with the sampler.
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0);
}
