//! Checks an encoded file before it may replace anything: ffprobe can read it, it is not
//! empty, its video is in the codec we asked for, and it is as long as the input. `check` is
//! the pure part, so the tolerances are unit-tested without ffmpeg.

use std::path::Path;

use crate::model::{Explanation, VideoCodec};

use super::MediaInfo;
use super::probe::probe;

/// Allowed duration difference relative to the input (containers round and pad differently).
pub const DURATION_TOLERANCE: f64 = 0.01;
/// Absolute slack in seconds so that very short clips are not failed for a frame or an audio
/// packet of difference.
pub const DURATION_SLACK_SECONDS: f64 = 0.1;

/// Probe `output` and check it against the expectations. Errors have code "verify_failed".
pub async fn verify(
    ffprobe: &Path,
    output: &Path,
    expected_duration: f64,
    expected_codec: VideoCodec,
) -> Result<MediaInfo, Explanation> {
    let info = probe(ffprobe, output).await.map_err(|e| {
        let cause = e.explanation();
        let mut x = Explanation::new(
            "verify_failed",
            "The encoded file could not be read back.",
            format!("{} {}", cause.summary, cause.detail),
        );
        x.measured = cause.measured;
        x
    })?;
    check(&info, expected_duration, expected_codec)?;
    Ok(info)
}

/// The pure checks behind [`verify`].
pub fn check(
    info: &MediaInfo,
    expected_duration: f64,
    expected_codec: VideoCodec,
) -> Result<(), Explanation> {
    let fail = |summary: &str, detail: String| {
        let mut e = Explanation::new("verify_failed", summary, detail)
            .with("output_size", info.size)
            .with("output_duration", info.duration)
            .with("expected_duration", expected_duration)
            .with("expected_codec", expected_codec.as_str());
        if let Some(v) = &info.video {
            e = e.with("output_codec", v.codec.as_str());
        }
        e
    };
    if info.size == 0 {
        return Err(fail(
            "The encoded file is empty.",
            "ffmpeg finished but the output file has 0 bytes.".into(),
        ));
    }
    let Some(video) = &info.video else {
        return Err(fail(
            "The encoded file has no video stream.",
            format!(
                "ffprobe found no video stream in the {} output, so it cannot replace the original.",
                info.container
            ),
        ));
    };
    if VideoCodec::from_ffprobe(&video.codec) != Some(expected_codec) {
        return Err(fail(
            "The encoded video is in the wrong codec.",
            format!(
                "The output's video stream is {}, but {} was expected.",
                video.codec, expected_codec
            ),
        ));
    }
    if expected_duration > 0.0 {
        let allowed = (expected_duration * DURATION_TOLERANCE).max(DURATION_SLACK_SECONDS);
        let difference = (info.duration - expected_duration).abs();
        if difference > allowed {
            return Err(fail(
                "The encoded file is not as long as the original.",
                format!(
                    "The output lasts {:.3} s but the original lasts {:.3} s; the difference of \
                     {:.3} s is more than the {:.3} s allowed, so the encode is probably truncated.",
                    info.duration, expected_duration, difference, allowed
                ),
            )
            .with("allowed_difference", allowed));
        }
    }
    Ok(())
}

/// What a planned output must look like.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub duration: f64,
    pub codec: VideoCodec,
    pub audio_streams: usize,
    pub subtitle_streams: usize,
    pub decode: super::decode::DecodeCheck,
}

/// [`verify`] plus the planned stream counts and the decode check.
pub async fn verify_planned(
    ffprobe: &Path,
    ffmpeg: &Path,
    output: &Path,
    expect: &Expect,
) -> Result<MediaInfo, Explanation> {
    let info = verify(ffprobe, output, expect.duration, expect.codec).await?;
    check_streams(&info, expect)?;
    super::decode::decode_check(ffmpeg, output, expect.decode, info.duration).await?;
    Ok(info)
}

/// Every planned audio and subtitle stream made it into the output.
pub fn check_streams(info: &MediaInfo, expect: &Expect) -> Result<(), Explanation> {
    let (audio, subs) = (info.audio.len(), info.subtitles.len());
    if audio == expect.audio_streams && subs == expect.subtitle_streams {
        return Ok(());
    }
    Err(Explanation::new(
        "verify_failed",
        "The encoded file is missing streams.",
        format!(
            "The plan kept {} audio and {} subtitle stream(s); the output has {audio} and {subs}.",
            expect.audio_streams, expect.subtitle_streams
        ),
    )
    .with("expected_audio_streams", expect.audio_streams)
    .with("expected_subtitle_streams", expect.subtitle_streams)
    .with("audio_streams", audio)
    .with("subtitle_streams", subs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::VideoStream;

    fn out(codec: &str, duration: f64, size: u64) -> MediaInfo {
        MediaInfo {
            container: "matroska".into(),
            duration,
            size,
            bit_rate: None,
            video: Some(VideoStream {
                codec: codec.into(),
                width: 320,
                height: 240,
                fps: Some(25.0),
                bit_depth: Some(8),
                bitrate: None,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn stream_counts_must_match_the_plan() {
        let mut expect = Expect {
            duration: 2.0,
            codec: VideoCodec::Hevc,
            audio_streams: 0,
            subtitle_streams: 0,
            decode: crate::media::decode::DecodeCheck::Off,
        };
        let info = out("hevc", 2.0, 10);
        assert!(check_streams(&info, &expect).is_ok());
        expect.audio_streams = 2;
        let e = check_streams(&info, &expect).unwrap_err();
        assert_eq!(e.code, "verify_failed");
        assert_eq!(e.measured["expected_audio_streams"], 2);
    }

    #[test]
    fn good_output_passes() {
        assert!(check(&out("hevc", 100.5, 10), 100.0, VideoCodec::Hevc).is_ok());
        assert!(
            check(&out("hevc", 2.08, 10), 2.0, VideoCodec::Hevc).is_ok(),
            "0.1 s slack"
        );
        assert!(
            check(&out("hevc", 0.0, 10), 0.0, VideoCodec::Hevc).is_ok(),
            "unknown length"
        );
    }

    #[test]
    fn truncated_output_fails_with_numbers() {
        let e = check(&out("hevc", 98.0, 10), 100.0, VideoCodec::Hevc).unwrap_err();
        assert_eq!(e.code, "verify_failed");
        assert!(e.detail.contains("98.000 s"), "{}", e.detail);
        assert_eq!(e.measured["allowed_difference"], 1.0);
        assert!(check(&out("hevc", 2.2, 10), 2.0, VideoCodec::Hevc).is_err());
    }

    #[test]
    fn wrong_codec_empty_or_no_video_fails() {
        let e = check(&out("h264", 2.0, 10), 2.0, VideoCodec::Hevc).unwrap_err();
        assert!(e.detail.contains("h264"), "{}", e.detail);
        assert_eq!(e.measured["output_codec"], "h264");
        let e = check(&out("hevc", 2.0, 0), 2.0, VideoCodec::Hevc).unwrap_err();
        assert_eq!(e.summary, "The encoded file is empty.");
        let mut no_video = out("hevc", 2.0, 10);
        no_video.video = None;
        assert!(check(&no_video, 2.0, VideoCodec::Hevc).is_err());
    }
}
