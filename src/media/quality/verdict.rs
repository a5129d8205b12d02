//! From what the samples measured to a decision, pure: the predicted output (the samples'
//! video bytes per second over the whole file, plus what is copied: the source minus its
//! video), the predicted saving against the profile's minimum, and the explanation fields the
//! job records (`quality_*`). A prediction below the minimum is the `quality_forecast_insufficient`
//! skip: no full encode is started for it.

use super::Metric;
use super::sample::Sampled;
use crate::media::MediaInfo;
use crate::media::reasons::video_bitrate;
use crate::model::Explanation;

/// The reason code of a skip decided on samples.
pub const SKIP_CODE: &str = "quality_forecast_insufficient";

/// The prediction for one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub metric: Metric,
    pub target: f64,
    pub crf: u8,
    /// Whether the samples reached the target at `crf`.
    pub met: bool,
    pub sample_score: f64,
    pub predicted_bytes: u64,
    pub predicted_saving_percent: f64,
    pub predicted_encode_seconds: f64,
    pub sample_encodes: usize,
    /// The minimum saving is reached.
    pub worth_it: bool,
}

/// See the module comment.
pub fn forecast(info: &MediaInfo, s: &Sampled, min_saving_percent: u8) -> Forecast {
    let duration = info.duration.max(0.0);
    let source_video = video_bitrate(info).map_or(info.size as f64, |(b, _)| {
        (b as f64 * duration / 8.0).min(info.size as f64)
    });
    let copied = (info.size as f64 - source_video).max(0.0);
    let predicted_bytes = (copied + s.predicted_video_bytes as f64) as u64;
    let saving = 100.0 * (1.0 - predicted_bytes as f64 / (info.size.max(1)) as f64);
    Forecast {
        metric: s.metric,
        target: s.target,
        crf: s.found.best.crf,
        met: s.found.met,
        sample_score: s.found.best.score,
        predicted_bytes,
        predicted_saving_percent: saving,
        predicted_encode_seconds: s.predicted_encode_seconds,
        sample_encodes: s.sample_encodes,
        worth_it: saving >= f64::from(min_saving_percent),
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

impl Forecast {
    /// Add the forecast's figures to an explanation.
    pub fn record(&self, e: Explanation) -> Explanation {
        e.with("quality_metric", self.metric.as_str())
            .with("quality_target", self.target)
            .with("quality_crf", self.crf)
            .with("quality_target_met", self.met)
            .with("quality_sample_score", round(self.sample_score, 5))
            .with("predicted_output_bytes", self.predicted_bytes)
            .with(
                "predicted_saving_percent",
                round(self.predicted_saving_percent, 1),
            )
            .with(
                "predicted_encode_seconds",
                round(self.predicted_encode_seconds, 1),
            )
            .with("sample_encodes", self.sample_encodes)
    }

    /// The skip when the prediction misses the minimum saving.
    pub fn skip(&self, source_size: u64, min_saving_percent: u8) -> Explanation {
        self.record(Explanation::new(
            SKIP_CODE,
            "Samples predict too small a saving; the file was not encoded.",
            format!(
                "At CRF {} the samples reach {} {:.4} (target {}); the whole output is predicted \
                 at about {} bytes against a {source_size}-byte source, a {:.0} % saving, below \
                 the profile's {min_saving_percent} %. Only {} sample encodes were run; the \
                 original is untouched.",
                self.crf,
                self.metric.as_str(),
                self.sample_score,
                self.target,
                self.predicted_bytes,
                self.predicted_saving_percent,
                self.sample_encodes
            ),
        ))
        .with("min_saving_percent", min_saving_percent)
        .with("source_bytes", source_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::quality::search::{Found, Measured};

    fn sampled(video_bytes: u64) -> Sampled {
        let m = Measured {
            crf: 30,
            score: 0.99,
            bytes: 1000,
            seconds: 2.0,
        };
        Sampled {
            metric: Metric::Ssim,
            target: 0.985,
            found: Found {
                best: m,
                met: true,
                tried: vec![m],
            },
            sample_seconds: 16.0,
            predicted_video_bytes: video_bytes,
            predicted_encode_seconds: 75.0,
            sample_encodes: 4,
            ffmpeg_runs: 12,
        }
    }

    fn info(size: u64, video_bps: u64) -> MediaInfo {
        MediaInfo {
            duration: 100.0,
            size,
            video: Some(crate::media::VideoStream {
                codec: "h264".into(),
                width: 640,
                height: 360,
                bitrate: Some(video_bps),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn copied_streams_and_predicted_video_make_the_output() {
        // 10 MB file, 8 MB of it video (640 kb/s × 100 s); video predicted at 2 MB.
        let f = forecast(&info(10_000_000, 640_000), &sampled(2_000_000), 10);
        assert_eq!(f.predicted_bytes, 4_000_000);
        assert!((f.predicted_saving_percent - 60.0).abs() < 1e-9);
        assert!(f.worth_it);
        let skip = f.skip(10_000_000, 70);
        assert_eq!(skip.code, SKIP_CODE);
        assert_eq!(skip.measured["sample_encodes"], 4);
        assert_eq!(skip.measured["quality_metric"], "ssim");
        // A prediction above the source saves nothing.
        let f = forecast(&info(10_000_000, 640_000), &sampled(9_500_000), 10);
        assert!(!f.worth_it);
    }
}
