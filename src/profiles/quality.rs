//! A profile's quality target: instead of a fixed CRF, a metric and the score the encode must
//! reach (`quality_target: {"metric": "auto" | "vmaf" | "xpsnr" | "ssim", "value": N}`; absent
//! or `null` uses `crf`). The engine searches the CRF on short samples (`media::quality`).
//! Plain data and validation; which metric `auto` becomes depends on the ffmpeg build and is
//! decided at run time.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The metric a target is expressed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricChoice {
    /// The best metric the ffmpeg build has (VMAF, else XPSNR, else SSIM); the value is on
    /// the VMAF scale (0–100) and is converted (roughly) for the metric used.
    Auto,
    /// VMAF (libvmaf), 0–100.
    Vmaf,
    /// XPSNR in dB.
    Xpsnr,
    /// SSIM (all planes), 0–1.
    Ssim,
}

/// What the encode must reach.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualityTarget {
    pub metric: MetricChoice,
    /// VMAF/auto: 50–99.5; XPSNR: 25–60 dB; SSIM: 0.8–0.9995.
    pub value: f64,
}

/// The accepted range of a target's value per metric: below it the encode is visibly damaged
/// (surely a typo), above it no CRF reaches it (the search would always end at the best CRF).
pub fn value_range(metric: MetricChoice) -> (f64, f64) {
    match metric {
        MetricChoice::Auto | MetricChoice::Vmaf => (50.0, 99.5),
        MetricChoice::Xpsnr => (25.0, 60.0),
        MetricChoice::Ssim => (0.8, 0.9995),
    }
}

/// A target out of its metric's range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("quality_target value {value} is out of range for {metric} ({min} to {max})")]
pub struct InvalidTarget {
    pub metric: &'static str,
    pub value: f64,
    pub min: f64,
    pub max: f64,
}

impl MetricChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricChoice::Auto => "auto",
            MetricChoice::Vmaf => "vmaf",
            MetricChoice::Xpsnr => "xpsnr",
            MetricChoice::Ssim => "ssim",
        }
    }
}

impl QualityTarget {
    pub fn validate(&self) -> Result<(), InvalidTarget> {
        let (min, max) = value_range(self.metric);
        if self.value.is_finite() && (min..=max).contains(&self.value) {
            Ok(())
        } else {
            Err(InvalidTarget {
                metric: self.metric.as_str(),
                value: self.value,
                min,
                max,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_per_metric() {
        let t = |metric, value| QualityTarget { metric, value }.validate();
        assert!(t(MetricChoice::Vmaf, 95.0).is_ok());
        assert!(t(MetricChoice::Auto, 93.0).is_ok());
        assert!(t(MetricChoice::Vmaf, 0.98).is_err());
        assert!(t(MetricChoice::Ssim, 0.98).is_ok());
        assert!(t(MetricChoice::Ssim, 95.0).is_err());
        assert!(t(MetricChoice::Xpsnr, 40.0).is_ok());
        assert!(t(MetricChoice::Xpsnr, f64::NAN).is_err());
        let e = t(MetricChoice::Ssim, 1.0).unwrap_err();
        assert!(e.to_string().contains("0.8 to 0.9995"), "{e}");
    }
}
