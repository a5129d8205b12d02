//! The quality stage of a run whose profile has a quality target: before anything is encoded
//! in full, search the CRF on samples (`media::quality`), then either skip with the prediction
//! (`quality_forecast_insufficient`: only the sample encodes ran) or hand the found CRF to the
//! encode; after the encode, score the whole output against the whole source and record it
//! beside the prediction. Sampling problems other than a cancel (a build without the asked
//! metric, a sample ffmpeg cannot cut) fall back to the profile's CRF, said in the job log: the
//! target is an optimisation, not a reason to lose the encode.

use std::os::fd::AsRawFd;
use std::path::Path;

use super::stages::{Planned, Source};
use super::{JobContext, Stop};
use crate::media::MediaInfo;
use crate::media::quality::sample::{SampleError, Sampler, score_files};
use crate::media::quality::verdict::{self, Forecast};
use crate::media::quality::{Resolved, available_metrics, resolve};
use crate::media::run::{RunError, RunOptions};
use crate::model::{CpuEncoder, LogLevel};

/// Lowest CRF the search tries: below it the encoders are near-lossless and bigger than most
/// sources.
pub(crate) const MIN_SEARCH_CRF: u8 = 10;

/// The CRF range searched for `encoder`.
pub(crate) fn crf_range(encoder: CpuEncoder) -> (u8, u8) {
    match encoder {
        CpuEncoder::Libsvtav1 => (MIN_SEARCH_CRF, 63),
        CpuEncoder::Libx264 | CpuEncoder::Libx265 => (MIN_SEARCH_CRF, 51),
    }
}

/// The metric and value a profile's target means with this ffmpeg, or why none (logged).
pub(crate) async fn target_metric(
    ffmpeg: &Path,
    target: &crate::profiles::QualityTarget,
) -> Result<Resolved, String> {
    let have = available_metrics(ffmpeg)
        .await
        .map_err(|e| format!("the ffmpeg filters could not be listed: {e}"))?;
    resolve(target, &have).map_err(|e| e.to_string())
}

/// Search the CRF on samples; `Ok(None)` when the profile has no target or sampling is not
/// possible (the plan keeps its CRF); `Err(Skip)` when the prediction misses the minimum
/// saving.
pub(super) async fn search(
    ctx: &JobContext,
    planned: &Planned,
    info: &MediaInfo,
    source: &Source,
) -> Result<Option<Forecast>, Stop> {
    let (Some(target), Some(video)) = (planned.profile.quality_target, &planned.plan.video) else {
        return Ok(None);
    };
    let resolved = match target_metric(&ctx.tools.ffmpeg, &target).await {
        Ok(r) => r,
        Err(why) => {
            ctx.log(
                LogLevel::Warning,
                format!(
                    "quality target not used ({why}); encoding at CRF {}",
                    video.crf
                ),
            )
            .await;
            return Ok(None);
        }
    };
    ctx.log(
        LogLevel::Info,
        format!(
            "searching the CRF for {} {} on samples",
            resolved.metric.as_str(),
            resolved.value
        ),
    )
    .await;
    let fd = source.file.as_raw_fd();
    let opts = RunOptions {
        ffmpeg: ctx.tools.ffmpeg.clone(),
        priority: ctx.priority,
        duration: 0.0,
        pass_fd: Some(fd),
    };
    let (work, video, threads) = (
        ctx.tools.samples.clone(),
        video.clone(),
        planned.plan.threads,
    );
    let (duration, cancel) = (info.duration, ctx.slot.cancel_token().clone());
    let range = crf_range(video.encoder);
    // The source stays open in `source` until this returns: the fd path stays valid.
    let sampled = tokio::task::spawn_blocking(move || {
        let input = crate::process::fd_path(fd);
        let sampler = Sampler::cut(opts, &work, &input, duration, cancel)?;
        sampler.run(&video, threads, resolved, range, duration)
    })
    .await
    .map_err(|e| SampleError::Io(std::io::Error::other(e.to_string())));
    let sampled = match sampled.and_then(|r| r) {
        Ok(s) => s,
        Err(SampleError::Run(RunError::Cancelled)) => {
            ctx.check_stop()?;
            return Err(Stop::Cancelled);
        }
        Err(e) => {
            ctx.log(
                LogLevel::Warning,
                format!("quality samples failed ({e}); encoding at the profile's CRF"),
            )
            .await;
            return Ok(None);
        }
    };
    let min_saving = planned.profile.min_saving_percent;
    let forecast = verdict::forecast(info, &sampled, min_saving);
    ctx.log(
        LogLevel::Info,
        format!(
            "samples: CRF {} gives {} {:.4}; predicted {} bytes ({:.0} % saving), about {:.0} s to \
             encode ({} sample encodes)",
            forecast.crf,
            forecast.metric.as_str(),
            forecast.sample_score,
            forecast.predicted_bytes,
            forecast.predicted_saving_percent,
            forecast.predicted_encode_seconds,
            forecast.sample_encodes
        ),
    )
    .await;
    if !forecast.worth_it {
        return Err(Stop::Skip(forecast.skip(source.size, min_saving)));
    }
    Ok(Some(forecast))
}

/// Score the whole verified output against the whole source and record it, with the output's
/// size, beside the prediction in the job's decision. A scoring failure is logged, not fatal.
pub(super) async fn record_measured(
    ctx: &JobContext,
    forecast: &Forecast,
    mut explanation: crate::model::Explanation,
    source: &Source,
    temp: &Path,
) {
    let fd = source.file.as_raw_fd();
    let opts = RunOptions {
        ffmpeg: ctx.tools.ffmpeg.clone(),
        priority: ctx.priority,
        duration: 0.0,
        pass_fd: Some(fd),
    };
    let (metric, temp_owned, cancel) = (
        forecast.metric,
        temp.to_path_buf(),
        ctx.slot.cancel_token().clone(),
    );
    let scored = tokio::task::spawn_blocking(move || {
        score_files(
            &opts,
            metric,
            &temp_owned,
            &crate::process::fd_path(fd),
            &cancel,
        )
    })
    .await;
    let bytes = std::fs::metadata(temp).map(|m| m.len()).unwrap_or(0);
    explanation = explanation.with("measured_output_bytes", bytes);
    match scored {
        Ok(Ok(score)) => {
            explanation = explanation
                .with("measured_score", (score * 100_000.0).round() / 100_000.0)
                .with(
                    "score_measured_on",
                    "the whole output against the whole source",
                );
            ctx.log(
                LogLevel::Info,
                format!(
                    "output: {bytes} bytes (predicted {}), {} {score:.4} (samples {:.4}, target {})",
                    forecast.predicted_bytes,
                    metric.as_str(),
                    forecast.sample_score,
                    forecast.target
                ),
            )
            .await;
        }
        Ok(Err(e)) => {
            ctx.log(LogLevel::Warning, format!("output not scored: {e}"))
                .await
        }
        Err(e) => {
            ctx.log(LogLevel::Warning, format!("output not scored: {e}"))
                .await
        }
    }
    let id = ctx.id();
    if let Err(e) = ctx
        .ledger
        .store()
        .call(move |s| {
            s.update_job(id, |j| {
                j.decision = Some(explanation);
                Ok(())
            })
        })
        .await
    {
        tracing::warn!(error = %e, "could not record the measured quality");
    }
}
