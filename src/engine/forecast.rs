//! The folder forecast (`POST /api/library/folders/{id}/forecast`): before the owner turns on
//! `replace`, run the sample step over a sample of a folder's files and say what encoding the
//! folder would bring: bytes and percent saved, encode time on this machine (from the sample
//! encodes' speed) and each sampled file's decision. Files are picked evenly from the folder's
//! video files in path order. Each sampled file is probed and planned with its profile; a file
//! the planner would encode is sampled: with the profile's quality target the CRF search runs
//! (and may predict `quality_forecast_insufficient`), without one the samples are encoded once
//! at the profile's CRF. The folder's totals are the sampled files' figures scaled by the
//! folder's bytes.
//!
//! Bounded: one forecast at a time (`Busy` otherwise), at most [`MAX_SAMPLE_FILES`] files, and
//! its ffmpeg runs at background priority (nice 19, idle I/O) outside the encoder slots: a
//! forecast takes no slot away from queued jobs, and at nice 19 it only gets the CPU the
//! encodes leave (so on a busy box its time prediction is pessimistic).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::Tools;
use super::job::quality::{crf_range, target_metric};
use crate::media::plan::{self, Decision};
use crate::media::quality::sample::Sampler;
use crate::media::quality::verdict;
use crate::media::quality::{Metric, Resolved, available_metrics};
use crate::media::run::RunOptions;
use crate::media::{paths, probe};
use crate::process::Priority;
use crate::profiles::Profiles;
use crate::store::Store;

/// Most files one forecast samples: each costs several sample encodes.
pub const MAX_SAMPLE_FILES: u32 = 10;
/// Files sampled when the request does not say.
pub const DEFAULT_SAMPLE_FILES: u32 = 3;
/// Most directory entries looked at to find the folder's files.
const MAX_WALK: usize = 100_000;

/// `POST /api/library/folders/{id}/forecast`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForecastRequest {
    /// Files to sample, 1 to 10 (default 3).
    pub sample_files: Option<u32>,
}

/// One sampled file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileForecast {
    #[schema(value_type = String)]
    pub path: PathBuf,
    pub size_bytes: u64,
    /// `encode`, `skip`, `remux` or `error`.
    pub decision: String,
    /// The reason code (a planner skip, `quality_forecast_insufficient`, or the plan's).
    pub code: String,
    /// The reason in words, for the page.
    pub summary: String,
    pub predicted_output_bytes: Option<u64>,
    pub predicted_savings_bytes: u64,
    pub predicted_encode_seconds: f64,
    /// The CRF the encode would use (found by the search with a quality target).
    pub crf: Option<u8>,
    pub metric: Option<Metric>,
    pub sample_score: Option<f64>,
}

/// The folder's forecast.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Forecast {
    pub folder_id: u64,
    /// The folder's path, as the library page shows it.
    pub folder_path: String,
    pub profile: String,
    /// Video files in the folder and their bytes.
    pub folder_files: u64,
    pub folder_bytes: u64,
    /// The sampled files' bytes.
    pub sampled_bytes: u64,
    /// For the whole folder, scaled from the sample by bytes.
    pub predicted_savings_bytes: u64,
    pub predicted_savings_percent: f64,
    /// Wall seconds to encode the whole folder on this machine, scaled likewise.
    pub predicted_encode_seconds: f64,
    pub files: Vec<FileForecast>,
}

/// Why no forecast.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    #[error("no library folder {0}")]
    NoFolder(u64),
    #[error("a forecast is already running; try again when it has finished")]
    Busy,
    #[error("sample_files must be 1 to {MAX_SAMPLE_FILES}")]
    Invalid,
    #[error("the folder could not be read: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The forecast service: one at a time.
#[derive(Clone)]
pub struct Forecaster {
    pub(crate) tools: Tools,
    pub(crate) store: Store,
    pub(crate) profiles: Profiles,
    pub(crate) shutdown: CancellationToken,
    busy: Arc<tokio::sync::Mutex<()>>,
}

impl Forecaster {
    pub(crate) fn new(
        tools: Tools,
        store: Store,
        profiles: Profiles,
        shutdown: CancellationToken,
    ) -> Forecaster {
        Forecaster {
            tools,
            store,
            profiles,
            shutdown,
            busy: Arc::default(),
        }
    }

    /// Run a forecast for folder `id`.
    pub async fn run(&self, id: u64, req: &ForecastRequest) -> Result<Forecast, ForecastError> {
        let n = req.sample_files.unwrap_or(DEFAULT_SAMPLE_FILES);
        if !(1..=MAX_SAMPLE_FILES).contains(&n) {
            return Err(ForecastError::Invalid);
        }
        let _guard = self.busy.try_lock().map_err(|_| ForecastError::Busy)?;
        let folder = self
            .store
            .call(move |s| s.folder(id))
            .await?
            .ok_or(ForecastError::NoFolder(id))?;
        let root = folder.path.clone();
        let own = self.store.call(crate::profiles::own_outputs).await?;
        let all = tokio::task::spawn_blocking(move || video_files(&root, &own))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        let folder_bytes: u64 = all.iter().map(|(_, s)| s).sum();
        let (profile_name, _) = self.profiles.for_path(&folder.path, Some(id)).await;
        let mut files = Vec::new();
        for (path, size) in pick(&all, n as usize) {
            files.push(self.file(&path, size, id).await);
        }
        let sampled_bytes: u64 = files.iter().map(|f| f.size_bytes).sum();
        let saved: u64 = files.iter().map(|f| f.predicted_savings_bytes).sum();
        let seconds: f64 = files.iter().map(|f| f.predicted_encode_seconds).sum();
        let scale = folder_bytes as f64 / sampled_bytes.max(1) as f64;
        Ok(Forecast {
            folder_id: id,
            folder_path: folder.path.display().to_string(),
            profile: profile_name,
            folder_files: all.len() as u64,
            folder_bytes,
            sampled_bytes,
            predicted_savings_bytes: (saved as f64 * scale) as u64,
            predicted_savings_percent: if sampled_bytes > 0 {
                (saved as f64 * 1000.0 / sampled_bytes as f64).round() / 10.0
            } else {
                0.0
            },
            // Tenths, like each file's: a folder of short clips on a fast box takes under half
            // a second, which whole seconds would round to nothing.
            predicted_encode_seconds: (seconds * scale * 10.0).round() / 10.0,
            files,
        })
    }

    /// Probe, plan and sample one file.
    async fn file(&self, path: &Path, size: u64, folder: u64) -> FileForecast {
        let mut out = FileForecast {
            path: path.to_path_buf(),
            size_bytes: size,
            decision: "error".into(),
            code: String::new(),
            summary: String::new(),
            predicted_output_bytes: None,
            predicted_savings_bytes: 0,
            predicted_encode_seconds: 0.0,
            crf: None,
            metric: None,
            sample_score: None,
        };
        let info = match probe::probe(&self.tools.ffprobe, path).await {
            Ok(i) => i,
            Err(e) => {
                out.code = "probe_failed".into();
                out.summary = e.explanation().summary;
                tracing::info!(error = %e, "forecast: probe failed");
                return out;
            }
        };
        let (_, profile) = self.profiles.for_path(path, Some(folder)).await;
        let caps = crate::engine::hardware::planner_capabilities(None);
        let decision = plan::plan(&info, &profile, &caps);
        let why = decision.explanation();
        (out.code, out.summary) = (why.code, why.summary);
        let mut plan = match decision {
            Decision::Skip(_) => {
                out.decision = "skip".into();
                return out;
            }
            Decision::Remux(_) => {
                out.decision = "remux".into();
                return out;
            }
            Decision::Transcode(p) => p,
        };
        let Some(video) = plan.video.take() else {
            return out;
        };
        let target = match &profile.quality_target {
            Some(t) => target_metric(&self.tools.ffmpeg, t).await.ok(),
            None => None,
        };
        let metric = match target {
            Some(r) => Some(r.metric),
            None => available_metrics(&self.tools.ffmpeg)
                .await
                .ok()
                .and_then(|m| m.0.first().copied()),
        };
        let Some(metric) = metric else {
            out.code = "no_metric".into();
            out.summary = "This ffmpeg has no quality metric (VMAF, XPSNR or SSIM) to measure \
                           samples with."
                .into();
            return out;
        };
        let opts = RunOptions {
            ffmpeg: self.tools.ffmpeg.clone(),
            priority: Priority::Background,
            duration: 0.0,
            pass_fd: None,
        };
        let (work, input, duration, threads) = (
            self.tools.samples.clone(),
            path.to_path_buf(),
            info.duration,
            plan.threads,
        );
        let cancel = self.shutdown.child_token();
        let sampled = tokio::task::spawn_blocking(move || {
            let sampler = Sampler::cut(opts, &work, &input, duration, cancel)?;
            // Without a target the samples are encoded once, at the profile's CRF.
            let target = target.unwrap_or(Resolved {
                metric,
                value: f64::NEG_INFINITY,
            });
            let range = match target.value {
                v if v.is_finite() => crf_range(video.encoder),
                _ => (video.crf, video.crf),
            };
            sampler.run(&video, threads, target, range, duration)
        })
        .await;
        let sampled = match sampled {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                out.code = "sample_failed".into();
                out.summary = "The sample encodes failed; the server log says why.".into();
                tracing::info!(error = %e, "forecast: sampling failed");
                return out;
            }
            Err(e) => {
                out.code = "sample_failed".into();
                out.summary = "The sample encodes failed; the server log says why.".into();
                tracing::error!(error = %e, "forecast: the sampling task failed");
                return out;
            }
        };
        let f = verdict::forecast(&info, &sampled, profile.min_saving_percent);
        out.crf = Some(f.crf);
        out.metric = Some(f.metric);
        out.sample_score = Some((f.sample_score * 100_000.0).round() / 100_000.0);
        out.predicted_output_bytes = Some(f.predicted_bytes);
        if f.worth_it {
            out.decision = "encode".into();
            out.predicted_savings_bytes = info.size.saturating_sub(f.predicted_bytes);
            out.predicted_encode_seconds = (f.predicted_encode_seconds * 10.0).round() / 10.0;
        } else {
            out.decision = "skip".into();
            out.code = verdict::SKIP_CODE.into();
            out.summary = format!(
                "The samples predict a {:.0} % saving, below the profile's {} %: it would not \
                 be encoded.",
                f.predicted_saving_percent, profile.min_saving_percent
            );
        }
        out
    }
}

/// The folder's video files (not our own outputs: `own`) with their sizes, in path order.
fn video_files(root: &Path, own: &paths::OwnOutputs) -> std::io::Result<Vec<(PathBuf, u64)>> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            seen += 1;
            if seen > MAX_WALK {
                break;
            }
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() && !entry.file_name().to_string_lossy().starts_with('.') {
                dirs.push(path);
            } else if kind.is_file() && paths::is_video_file(&path) && !own.is_own(&path) {
                found.push((path, entry.metadata()?.len()));
            }
        }
    }
    found.sort();
    Ok(found)
}

/// `n` entries spread evenly over `all`.
fn pick(all: &[(PathBuf, u64)], n: usize) -> Vec<(PathBuf, u64)> {
    if all.len() <= n {
        return all.to_vec();
    }
    (0..n).map(|i| all[i * all.len() / n].clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_spread_over_the_list() {
        let all: Vec<_> = (0..10)
            .map(|i| (PathBuf::from(format!("{i}")), 1))
            .collect();
        let p: Vec<_> = pick(&all, 3).into_iter().map(|(p, _)| p).collect();
        assert_eq!(p, ["0", "3", "6"].map(PathBuf::from));
        assert_eq!(pick(&all[..2], 3).len(), 2);
    }
}
