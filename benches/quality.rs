//! Sampling against a full encode (issue 19): a generated clip of CLIP_SECONDS (default 600)
//! at 320×180, 25 fps (testsrc2 with light noise, MPEG-2 source), an SSIM target of TARGET
//! (default 0.97) with libx264 PRESET (default `veryfast`). Measures the time to the decision
//! with sampling (cut, CRF search, prediction), the time of the full encode at the found CRF,
//! and the prediction error of size (samples' bytes per second × duration against the real
//! output) and of score (samples' SSIM against the whole output's SSIM to the whole source).
//!
//! Run: `cargo bench --bench quality` (CLIP_SECONDS=600 TARGET=0.97 PRESET=veryfast), or
//! `cargo test --bench quality` to reuse the debug build (ffmpeg does the work either way).
//!
//! Measured 2026-12-06, 2 cores shared with other builds (load average 7–9 before, 3.8 after):
//! decision by sampling 16.1 s (4 samples × 4 s, 3 rounds, 12 sample encodes, 28 ffmpeg runs)
//! against 87.1 s for the full encode at the found CRF 14; size predicted +27 % (244 MB vs
//! 192 MB: every 4 s sample starts with an IDR frame and has no long-GOP gain), SSIM predicted
//! 0.9713 vs 0.9713 measured on the whole output; encode time predicted 145 s vs 87 s.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use alchemist::media::plan::VideoEncode;
use alchemist::media::quality::sample::{Sampler, score_files};
use alchemist::media::quality::{Metric, Resolved};
use alchemist::media::run::RunOptions;
use alchemist::model::CpuEncoder;
use alchemist::process::Priority;
use tokio_util::sync::CancellationToken;

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ffmpeg(args: &[&str]) {
    let ok = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg")
        .success();
    assert!(ok, "ffmpeg {args:?}");
}

fn main() {
    let seconds: u32 = env_or("CLIP_SECONDS", 600);
    let target: f64 = env_or("TARGET", 0.97);
    let preset: String = env_or("PRESET", "veryfast".to_string());
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("source.mkv");
    let lavfi = format!("testsrc2=size=320x180:rate=25:duration={seconds},noise=alls=8:allf=t");
    let t = Instant::now();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &lavfi,
        "-c:v",
        "mpeg2video",
        "-q:v",
        "3",
        "-g",
        "25",
        src.to_str().unwrap(),
    ]);
    println!(
        "generated {seconds} s clip in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let opts = RunOptions {
        ffmpeg: "/usr/bin/ffmpeg".into(),
        priority: Priority::Normal,
        duration: 0.0,
        pass_fd: None,
    };
    let video = VideoEncode {
        encoder: CpuEncoder::Libx264,
        crf: 23,
        preset: preset.clone(),
        ten_bit: false,
        deinterlace: false,
        colour: None,
        tonemap: None,
    };
    let duration = f64::from(seconds);
    let t = Instant::now();
    let sampler = Sampler::cut(
        opts.clone(),
        dir.path(),
        &src,
        duration,
        CancellationToken::new(),
    )
    .unwrap();
    let resolved = Resolved {
        metric: Metric::Ssim,
        value: target,
    };
    let s = sampler
        .run(&video, 0, resolved, (10, 51), duration)
        .unwrap();
    let decision = t.elapsed().as_secs_f64();
    let tried: Vec<_> = s.found.tried.iter().map(|m| (m.crf, m.score)).collect();
    println!(
        "sampling: decision in {decision:.1} s; {} sample encodes, {} ffmpeg runs, \
         {:.0} s sampled; tried {tried:?}; CRF {} (SSIM {:.4}); predicted {} bytes, {:.0} s encode",
        s.sample_encodes,
        s.ffmpeg_runs,
        s.sample_seconds,
        s.found.best.crf,
        s.found.best.score,
        s.predicted_video_bytes,
        s.predicted_encode_seconds
    );
    let out = dir.path().join("full.mkv");
    let crf = s.found.best.crf.to_string();
    let t = Instant::now();
    ffmpeg(&[
        "-i",
        src.to_str().unwrap(),
        "-map",
        "0:V:0",
        "-c:v",
        "libx264",
        "-preset",
        &preset,
        "-crf",
        &crf,
        out.to_str().unwrap(),
    ]);
    let full = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let score = score_files(
        &opts,
        Metric::Ssim,
        &out,
        Path::new(&src),
        &CancellationToken::new(),
    )
    .unwrap();
    let scoring = t.elapsed().as_secs_f64();
    let real = std::fs::metadata(&out).unwrap().len();
    let size_err = (s.predicted_video_bytes as f64 - real as f64) / real as f64 * 100.0;
    println!(
        "full encode at CRF {crf}: {full:.1} s, {real} bytes, SSIM {score:.4} (scored in {scoring:.1} s)"
    );
    println!(
        "time to decision: sampling {decision:.1} s vs full encode {full:.1} s ({:.1} %); \
         size prediction error {size_err:+.1} %; score prediction error {:+.4} SSIM",
        decision / full * 100.0,
        s.found.best.score - score
    );
}
