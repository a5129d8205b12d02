//! Quality targets, measured on samples before the encode: which metric the ffmpeg build can
//! compute (`ffmpeg -filters`: libvmaf, xpsnr, ssim; detected once per ffmpeg path and cached),
//! what a profile's target means in that metric, the CRF search (`search`, pure) and the
//! sample step (`sample`: cut short samples at keyframes, encode them at a CRF, score them
//! against the same reference segment, predict the output's size and encode time).

pub mod sample;
pub mod search;
pub mod verdict;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use crate::profiles::{MetricChoice, QualityTarget};

/// A metric ffmpeg computes between an encode and its reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Vmaf,
    Xpsnr,
    Ssim,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Vmaf => "vmaf",
            Metric::Xpsnr => "xpsnr",
            Metric::Ssim => "ssim",
        }
    }

    /// ffmpeg's filter name.
    fn filter(self) -> &'static str {
        match self {
            Metric::Vmaf => "libvmaf",
            Metric::Xpsnr => "xpsnr",
            Metric::Ssim => "ssim",
        }
    }

    /// How far above the target a sample score may be and still end the search: about one
    /// CRF step of each metric near typical targets.
    pub fn tolerance(self) -> f64 {
        match self {
            Metric::Vmaf => 1.0,
            Metric::Xpsnr => 0.5,
            Metric::Ssim => 0.002,
        }
    }
}

/// The metric filters a build has, best first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics(pub Vec<Metric>);

/// Which metric filters `ffmpeg -filters` lists (pure; the listing's lines are
/// ` TS. ssim  VV->V  Calculate the SSIM …`).
pub fn parse_filters(listing: &str) -> Metrics {
    let names: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    Metrics(
        [Metric::Vmaf, Metric::Xpsnr, Metric::Ssim]
            .into_iter()
            .filter(|m| names.contains(&m.filter()))
            .collect(),
    )
}

/// How long `ffmpeg -filters` may take.
const FILTERS_TIMEOUT: Duration = Duration::from_secs(20);

/// The metric filters of the ffmpeg at `ffmpeg`, asked once per path and cached (the build
/// does not change while the server runs). A failure is not cached.
pub async fn available_metrics(ffmpeg: &Path) -> std::io::Result<Metrics> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Metrics>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(m) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(ffmpeg) {
        return Ok(m.clone());
    }
    let args = ["-hide_banner", "-filters"].map(std::ffi::OsString::from);
    let out = crate::process::output(ffmpeg, &args, FILTERS_TIMEOUT).await?;
    if !out.status.success() {
        return Err(std::io::Error::other("ffmpeg -filters failed"));
    }
    let metrics = parse_filters(&String::from_utf8_lossy(&out.stdout));
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(ffmpeg.to_path_buf(), metrics.clone());
    Ok(metrics)
}

/// A target made concrete: the metric used and the value in its scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    pub metric: Metric,
    pub value: f64,
}

/// The asked metric is not in this ffmpeg build.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("this ffmpeg has no {0} filter")]
pub struct MetricMissing(pub &'static str);

/// The metric a target uses with this build. `auto` takes the best available and converts
/// its VMAF-scale value: SSIM `1 − (100 − v) × 0.003` (VMAF 95 ≈ SSIM 0.985) and XPSNR
/// `30 + (v − 70) × 0.4` dB (VMAF 95 ≈ 40 dB), rough equivalences on 8-bit video; a profile
/// that needs precision names its metric.
pub fn resolve(target: &QualityTarget, have: &Metrics) -> Result<Resolved, MetricMissing> {
    let want = match target.metric {
        MetricChoice::Auto => {
            let metric = *have.0.first().ok_or(MetricMissing("vmaf, xpsnr or ssim"))?;
            let v = target.value;
            let value = match metric {
                Metric::Vmaf => v,
                Metric::Xpsnr => 30.0 + (v - 70.0) * 0.4,
                Metric::Ssim => 1.0 - (100.0 - v) * 0.003,
            };
            return Ok(Resolved { metric, value });
        }
        MetricChoice::Vmaf => Metric::Vmaf,
        MetricChoice::Xpsnr => Metric::Xpsnr,
        MetricChoice::Ssim => Metric::Ssim,
    };
    if have.0.contains(&want) {
        Ok(Resolved {
            metric: want,
            value: target.value,
        })
    } else {
        Err(MetricMissing(want.filter()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_read_from_the_listing() {
        let debian = " TS. psnr              VV->V      Calculate the PSNR.\n \
                      TS. ssim              VV->V      Calculate the SSIM.\n \
                      ... vmafmotion        V->V       Calculate the VMAF Motion score.\n";
        assert_eq!(parse_filters(debian), Metrics(vec![Metric::Ssim]));
        let full = " ... libvmaf  VV->V  x\n TS. xpsnr  VV->V  x\n TS. ssim  VV->V  x\n";
        assert_eq!(
            parse_filters(full),
            Metrics(vec![Metric::Vmaf, Metric::Xpsnr, Metric::Ssim])
        );
    }

    #[test]
    fn auto_takes_the_best_and_converts() {
        let t = QualityTarget {
            metric: MetricChoice::Auto,
            value: 95.0,
        };
        let ssim = resolve(&t, &Metrics(vec![Metric::Ssim])).unwrap();
        assert_eq!(ssim.metric, Metric::Ssim);
        assert!((ssim.value - 0.985).abs() < 1e-9);
        let vmaf = resolve(&t, &Metrics(vec![Metric::Vmaf, Metric::Ssim])).unwrap();
        assert_eq!((vmaf.metric, vmaf.value), (Metric::Vmaf, 95.0));
        assert!(resolve(&t, &Metrics(vec![])).is_err());
        let explicit = QualityTarget {
            metric: MetricChoice::Vmaf,
            value: 95.0,
        };
        assert_eq!(
            resolve(&explicit, &Metrics(vec![Metric::Ssim])),
            Err(MetricMissing("libvmaf"))
        );
    }
}
