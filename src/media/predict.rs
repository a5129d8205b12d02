//! Predicted saving of a queued file, the pure part: what `largest_saving_first` sorts by and
//! what the queue ETA adds up. It uses only what the planner already knows from the probe and
//! the profile, before any encode:
//!
//! - A file the planner would not transcode saves nothing: no video stream, or the video is
//!   already in the profile's target codec (skipped or only remuxed), or the file is below the
//!   profile's minimum size.
//! - Otherwise the encode's video is assumed to come out at the planner's own bits-per-pixel
//!   level for the target encoder at that picture size (`reasons::bpp_threshold` for an H.264
//!   source, factor 1: the rate below which the planner calls a source "already efficient"),
//!   times pixels × frame rate × duration, and never above the source's own video bit rate.
//!   Audio, subtitles and the container are copied, so they keep their size (source size
//!   minus source video bits).
//! - The saving is the source size minus that projected output, floored at zero.
//!
//! It is an estimate for ordering and "about how much": the early-abort projection
//! (`savings`) still judges the real encode.

use super::MediaInfo;
use super::reasons::{bpp_threshold, video_bitrate};
use crate::profiles::Profile;

/// Frame rate assumed when the probe has none (PAL; most files with no rate are old SD).
const DEFAULT_FPS: f64 = 25.0;

/// What the file's encode is predicted to bring.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Bytes saved (0: it would be skipped or remuxed).
    pub saving_bytes: u64,
    /// Media duration in seconds (0 when unknown).
    pub media_seconds: f64,
    /// Picture height in lines (0 without video).
    pub height: u32,
}

/// See the module comment. `None` when the probe gives no duration: nothing can be projected.
pub fn predict(info: &MediaInfo, profile: &Profile) -> Option<Prediction> {
    let media_seconds = if info.duration.is_finite() && info.duration > 0.0 {
        info.duration
    } else {
        return None;
    };
    let Some(video) = &info.video else {
        return Some(Prediction {
            saving_bytes: 0,
            media_seconds,
            height: 0,
        });
    };
    let none = Prediction {
        saving_bytes: 0,
        media_seconds,
        height: video.height,
    };
    let target = profile.encoder.codec();
    if video.codec == target.as_str()
        || (profile.min_file_size > 0 && info.size < profile.min_file_size)
    {
        return Some(none);
    }
    let fps = video.fps.filter(|f| f.is_finite() && *f > 0.0);
    let pixels = f64::from(video.width) * f64::from(video.height);
    let bpp = bpp_threshold(profile.encoder, "h264", video.width, video.height, 1.0);
    let mut out_video_bps = bpp * pixels * fps.unwrap_or(DEFAULT_FPS);
    let source_video_bps = video_bitrate(info).map(|(b, _)| b as f64);
    if let Some(source) = source_video_bps {
        out_video_bps = out_video_bps.min(source);
    }
    // What is copied: everything but the source's video (all of the file if its video rate
    // is unknown would overstate; then assume the video is the whole file).
    let source_video_bytes = source_video_bps.map_or(info.size as f64, |b| b * media_seconds / 8.0);
    let copied = (info.size as f64 - source_video_bytes).max(0.0);
    let output = copied + out_video_bps * media_seconds / 8.0;
    Some(Prediction {
        saving_bytes: (info.size as f64 - output).max(0.0) as u64,
        ..none
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::VideoStream;
    use crate::model::CpuEncoder;

    fn info(codec: &str, size: u64, seconds: f64, video_bps: Option<u64>) -> MediaInfo {
        let mut info: MediaInfo = serde_json::from_value(serde_json::json!({
            "container": "matroska", "duration": seconds, "size": size, "bit_rate": null,
            "video": null, "audio": [], "subtitles": []
        }))
        .unwrap();
        let video = VideoStream {
            codec: codec.into(),
            width: 1920,
            height: 1080,
            fps: Some(24.0),
            bitrate: video_bps,
            ..VideoStream::default()
        };
        info.video = Some(video);
        info
    }

    fn hevc_profile() -> Profile {
        Profile::from_settings(&crate::profiles::EncodeSettings {
            encoder: CpuEncoder::Libx265,
            crf: None,
            preset: None,
            threads: 0,
        })
    }

    #[test]
    fn a_fat_h264_file_saves_most_of_its_video() {
        // 1 h of 1080p24 H.264 at 10 Mb/s: 4.5 GB. HEVC at the planner's bpp is far less.
        let profile = Profile {
            encoder: CpuEncoder::Libx265,
            ..hevc_profile()
        };
        let i = info("h264", 4_500_000_000, 3600.0, Some(10_000_000));
        let p = predict(&i, &profile).unwrap();
        assert_eq!(p.height, 1080);
        assert!(p.saving_bytes > 2_000_000_000, "{p:?}");
        assert!(p.saving_bytes < 4_500_000_000, "{p:?}");
        // A leaner source of the same length saves less: the order is by what is gained.
        let lean = info("h264", 1_500_000_000, 3600.0, Some(3_300_000));
        assert!(predict(&lean, &profile).unwrap().saving_bytes < p.saving_bytes);
    }

    #[test]
    fn the_target_codec_no_duration_and_no_video_save_nothing() {
        let profile = Profile {
            encoder: CpuEncoder::Libx265,
            ..hevc_profile()
        };
        let already = info("hevc", 4_500_000_000, 3600.0, Some(10_000_000));
        assert_eq!(predict(&already, &profile).unwrap().saving_bytes, 0);
        assert_eq!(predict(&info("h264", 1000, 0.0, None), &profile), None);
        let mut audio_only = info("h264", 1000, 10.0, None);
        audio_only.video = None;
        assert_eq!(predict(&audio_only, &profile).unwrap().saving_bytes, 0);
    }

    #[test]
    fn a_source_leaner_than_the_target_rate_saves_nothing() {
        let profile = Profile {
            encoder: CpuEncoder::Libx265,
            ..hevc_profile()
        };
        let tiny = info("h264", 1_000_000, 100.0, Some(50_000));
        assert_eq!(predict(&tiny, &profile).unwrap().saving_bytes, 0);
    }
}
