//! The sample step: cut a few short samples spread over the source (stream copy, `-ss` before
//! `-i`, so each starts at a keyframe), encode each at a CRF, score each encode against its
//! own cut (the very same frames), and search the CRF (`search`) with a bounded number of
//! rounds; then predict the whole output from the samples' bytes per second and the encode
//! time from their encode speed. Blocking: call from `spawn_blocking`. Every ffmpeg runs
//! through `media::run` (so through `process`), at the given priority, and is counted.
//! Samples live in a fresh folder below the caller's work folder (never the library), removed
//! when the [`Sampler`] is dropped.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::search::{self, Found, Measured, Search};
use super::{Metric, Resolved};
use crate::media::args::file_url;
use crate::media::plan::VideoEncode;
use crate::media::run::{RunError, RunEvent, RunOptions, run_ffmpeg};

/// Samples per file: enough to see a film's quiet and busy parts, few enough to stay cheap.
pub const DEFAULT_SAMPLES: usize = 4;
/// One sample per this many seconds of media, up to [`DEFAULT_SAMPLES`]: a short clip needs
/// no four rounds of ffmpeg start-ups per CRF.
pub const SECONDS_PER_SAMPLE: f64 = 20.0;
/// Seconds per sample (ab-av1 uses 20 s on films; short clips get shorter ones, see
/// [`sample_starts`]).
pub const DEFAULT_SAMPLE_SECONDS: f64 = 4.0;
/// Rounds of sample encodes the CRF search may take.
pub const MAX_ROUNDS: usize = 5;

/// Where each sample starts: `count` windows of `seconds` spread evenly over `duration`,
/// centred on its (i+1)/(count+1) points. A file shorter than the samples together is taken
/// whole, as one sample. Pure.
pub fn sample_starts(duration: f64, count: usize, seconds: f64) -> Vec<(f64, f64)> {
    if !duration.is_finite() || duration <= 0.0 {
        return Vec::new();
    }
    let count = count.max(1);
    if duration <= seconds * count as f64 * 1.5 {
        return vec![(0.0, duration)];
    }
    (0..count)
        .map(|i| {
            let centre = duration * (i + 1) as f64 / (count + 1) as f64;
            ((centre - seconds / 2.0).max(0.0), seconds)
        })
        .collect()
}

/// Why sampling failed.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("could not make the sample folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("a sample run of ffmpeg failed: {0}")]
    Run(#[from] RunError),
    #[error("ffmpeg printed no {0} score")]
    NoScore(&'static str),
    #[error("the source has no duration to sample")]
    NoDuration,
}

/// One cut sample.
struct Cut {
    path: PathBuf,
    /// Media seconds in the cut.
    seconds: f64,
}

/// Cuts, encodes and scores samples of one source; counts its ffmpeg runs.
pub struct Sampler {
    opts: RunOptions,
    dir: tempfile::TempDir,
    cancel: CancellationToken,
    cuts: Vec<Cut>,
    encodes: AtomicUsize,
    runs: AtomicUsize,
}

/// What the sample step found for one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampled {
    pub metric: Metric,
    pub target: f64,
    pub found: Found,
    /// Media seconds sampled.
    pub sample_seconds: f64,
    /// Predicted bytes of the encoded video over the whole file.
    pub predicted_video_bytes: u64,
    /// Predicted wall seconds of the full encode on this machine.
    pub predicted_encode_seconds: f64,
    /// Encoder runs (one per sample per round).
    pub sample_encodes: usize,
    /// All ffmpeg runs (cuts, encodes, scores).
    pub ffmpeg_runs: usize,
}

impl Sampler {
    /// Cut the samples of `input` (read as `input`, e.g. `/proc/self/fd/N` with `opts.pass_fd`)
    /// into a new folder below `work_dir`.
    pub fn cut(
        opts: RunOptions,
        work_dir: &Path,
        input: &Path,
        duration: f64,
        cancel: CancellationToken,
    ) -> Result<Sampler, SampleError> {
        std::fs::create_dir_all(work_dir)?;
        let dir = tempfile::Builder::new()
            .prefix("samples-")
            .tempdir_in(work_dir)?;
        let mut s = Sampler {
            opts,
            dir,
            cancel,
            cuts: Vec::new(),
            encodes: AtomicUsize::new(0),
            runs: AtomicUsize::new(0),
        };
        let count = ((duration / SECONDS_PER_SAMPLE) as usize).clamp(1, DEFAULT_SAMPLES);
        let windows = sample_starts(duration, count, DEFAULT_SAMPLE_SECONDS);
        if windows.is_empty() {
            return Err(SampleError::NoDuration);
        }
        for (i, (start, seconds)) in windows.into_iter().enumerate() {
            let path = s.dir.path().join(format!("ref{i}.mkv"));
            let mut a: Vec<OsString> = Vec::new();
            push(&mut a, &["-hide_banner", "-nostdin", "-y", "-ss"]);
            a.push(format!("{start:.3}").into());
            push(&mut a, &["-i"]);
            a.push(file_url(input));
            push(&mut a, &["-t"]);
            a.push(format!("{seconds:.3}").into());
            push(&mut a, &["-map", "0:V:0", "-c", "copy", "-f", "matroska"]);
            a.push(file_url(&path));
            let out_time = s.ffmpeg(a, true)?;
            s.cuts.push(Cut {
                path,
                seconds: if out_time > 0.0 { out_time } else { seconds },
            });
        }
        Ok(s)
    }

    /// Run ffmpeg; returns the last output time it reported. `pass_fd` only for cuts (the
    /// only runs that read the source).
    fn ffmpeg(&self, args: Vec<OsString>, source: bool) -> Result<f64, RunError> {
        let mut opts = self.opts.clone();
        if !source {
            opts.pass_fd = None;
        }
        opts.duration = 0.0;
        self.runs.fetch_add(1, Ordering::Relaxed);
        let mut last = 0.0f64;
        let summary = run_ffmpeg(&opts, args, &self.cancel, &mut |e| {
            if let RunEvent::Progress(p) = e {
                last = last.max(p.out_time_seconds);
            }
        })?;
        drop(summary);
        Ok(last)
    }

    fn score(&self, metric: Metric, encoded: &Path, reference: &Path) -> Result<f64, SampleError> {
        let mut opts = self.opts.clone();
        opts.pass_fd = None;
        self.runs.fetch_add(1, Ordering::Relaxed);
        score_files(&opts, metric, encoded, reference, &self.cancel)
    }

    /// Encode every sample at `crf` with the plan's encoder settings and score them: the mean
    /// score (weighted by sample length), total bytes and encode seconds.
    pub fn measure(
        &self,
        video: &VideoEncode,
        threads: u32,
        metric: Metric,
        crf: u8,
    ) -> Result<Measured, SampleError> {
        let (mut bytes, mut seconds, mut weighted, mut media) = (0u64, 0.0, 0.0, 0.0);
        for (i, cut) in self.cuts.iter().enumerate() {
            let out = self.dir.path().join(format!("enc{i}-{crf}.mkv"));
            let started = Instant::now();
            self.encodes.fetch_add(1, Ordering::Relaxed);
            self.ffmpeg(encode_args(video, threads, crf, &cut.path, &out), false)?;
            seconds += started.elapsed().as_secs_f64();
            bytes += std::fs::metadata(&out)?.len();
            weighted += self.score(metric, &out, &cut.path)? * cut.seconds;
            media += cut.seconds;
            // Each encode is read once; keep the folder small.
            let _ = std::fs::remove_file(&out);
        }
        Ok(Measured {
            crf,
            score: weighted / media.max(f64::EPSILON),
            bytes,
            seconds,
        })
    }

    /// Search the CRF for `target` and predict the whole file (`duration` seconds).
    pub fn run(
        &self,
        video: &VideoEncode,
        threads: u32,
        target: Resolved,
        crf_range: (u8, u8),
        duration: f64,
    ) -> Result<Sampled, SampleError> {
        let s = Search {
            target: target.value,
            tolerance: target.metric.tolerance(),
            min_crf: crf_range.0,
            max_crf: crf_range.1,
            start_crf: video.crf,
            max_runs: MAX_ROUNDS,
        };
        let found = search::search(&s, |crf| self.measure(video, threads, target.metric, crf))?;
        let sample_seconds: f64 = self.cuts.iter().map(|c| c.seconds).sum();
        let per_second = found.best.bytes as f64 / sample_seconds.max(f64::EPSILON);
        let speed = found.best.seconds / sample_seconds.max(f64::EPSILON);
        Ok(Sampled {
            metric: target.metric,
            target: target.value,
            sample_seconds,
            predicted_video_bytes: (per_second * duration) as u64,
            predicted_encode_seconds: speed * duration,
            sample_encodes: self.encodes.load(Ordering::Relaxed),
            ffmpeg_runs: self.runs.load(Ordering::Relaxed),
            found,
        })
    }

    /// Encoder runs so far.
    pub fn encoder_runs(&self) -> usize {
        self.encodes.load(Ordering::Relaxed)
    }
}

/// Score `encoded` against `reference` with `metric` (both from their first frame; pixel
/// formats made equal). With `opts.pass_fd`, either may be a `/proc/self/fd/N` path.
pub fn score_files(
    opts: &RunOptions,
    metric: Metric,
    encoded: &Path,
    reference: &Path,
    cancel: &CancellationToken,
) -> Result<f64, SampleError> {
    let graph = format!(
        "[0:v]format=yuv420p,setpts=PTS-STARTPTS[d];[1:v]format=yuv420p,setpts=PTS-STARTPTS[r];[d][r]{}",
        metric.filter()
    );
    let mut a: Vec<OsString> = Vec::new();
    push(&mut a, &["-hide_banner", "-nostdin", "-i"]);
    a.push(file_url(encoded));
    push(&mut a, &["-i"]);
    a.push(file_url(reference));
    push(&mut a, &["-map_metadata", "-1", "-lavfi"]);
    a.push(graph.into());
    push(&mut a, &["-f", "null", "-"]);
    let mut opts = opts.clone();
    opts.duration = 0.0;
    let summary = run_ffmpeg(&opts, a, cancel, &mut |_| {})?;
    summary
        .stderr_tail
        .iter()
        .rev()
        .find_map(|l| parse_score(metric, l))
        .ok_or(SampleError::NoScore(metric.as_str()))
}

fn push(a: &mut Vec<OsString>, items: &[&str]) {
    a.extend(items.iter().map(OsString::from));
}

/// The sample encode: the plan's encoder, preset and depth at `crf`, video only.
fn encode_args(
    v: &VideoEncode,
    threads: u32,
    crf: u8,
    input: &Path,
    output: &Path,
) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    push(&mut a, &["-hide_banner", "-nostdin", "-y", "-i"]);
    a.push(file_url(input));
    push(&mut a, &["-map", "0:V:0", "-c:v", v.encoder.as_str()]);
    push(&mut a, &["-preset", &v.preset, "-crf"]);
    a.push(crf.to_string().into());
    if v.ten_bit {
        push(&mut a, &["-pix_fmt", "yuv420p10le"]);
    }
    if threads > 0 {
        push(&mut a, &["-threads"]);
        a.push(threads.to_string().into());
    }
    if v.encoder == crate::model::CpuEncoder::Libx265 {
        push(&mut a, &["-x265-params", "log-level=error"]);
    }
    push(&mut a, &["-f", "matroska"]);
    a.push(file_url(output));
    a
}

/// The score in one stderr line of a scoring run: SSIM's `… All:0.987654 (19.1)`, VMAF's
/// `VMAF score: 95.1`, XPSNR's luma `XPSNR … y: 41.2 …`. Pure.
pub fn parse_score(metric: Metric, line: &str) -> Option<f64> {
    let after = |key: &str| {
        let at = line.find(key)? + key.len();
        line[at..].split_whitespace().next()?.parse::<f64>().ok()
    };
    match metric {
        Metric::Ssim if line.contains("SSIM") => after("All:"),
        Metric::Vmaf => after("VMAF score:"),
        Metric::Xpsnr if line.contains("XPSNR") => after("y:"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_spread_over_the_file() {
        let w = sample_starts(600.0, 4, 4.0);
        assert_eq!(w.len(), 4);
        assert_eq!(w[0], (118.0, 4.0));
        assert_eq!(w[3], (478.0, 4.0));
        assert_eq!(sample_starts(10.0, 4, 4.0), vec![(0.0, 10.0)]);
        assert!(sample_starts(0.0, 4, 4.0).is_empty());
    }

    #[test]
    fn scores_are_read_from_ffmpeg_lines() {
        let ssim = "[Parsed_ssim_4 @ 0x55] SSIM Y:0.990139 (20.059) U:0.99 (20.1) V:0.99 (20.2) All:0.988373 (19.344)";
        assert_eq!(parse_score(Metric::Ssim, ssim), Some(0.988373));
        assert_eq!(
            parse_score(Metric::Vmaf, "[libvmaf @ 0x1] VMAF score: 94.870"),
            Some(94.87)
        );
        assert_eq!(
            parse_score(
                Metric::Xpsnr,
                "[Parsed_xpsnr_0 @ 0x1] XPSNR  y: 41.2300  u: 43.1"
            ),
            Some(41.23)
        );
        assert_eq!(parse_score(Metric::Ssim, "frame=  50 fps=0.0"), None);
    }
}
