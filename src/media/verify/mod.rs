//! Checks an encoded file before it may replace anything: ffprobe can read it, it is not
//! empty, its video is in the codec we asked for, it is as long as the input, it has the
//! planned streams, and it decodes (`decode`). `check` and `check_streams` are the pure parts,
//! so the tolerances are unit-tested without ffmpeg. Every way it can fail is a
//! [`VerifyError`] (code `verify_failed`), rendered for the user by `explanation`.

pub mod decode;
pub mod sync;

use std::path::Path;

use crate::model::{Explanation, VideoCodec};

use super::MediaInfo;
use super::probe::{ProbeError, probe};

/// Allowed duration difference relative to the input (containers round and pad differently).
pub const DURATION_TOLERANCE: f64 = 0.01;
/// Absolute slack in seconds so that very short clips are not failed for a frame or an audio
/// packet of difference.
pub const DURATION_SLACK_SECONDS: f64 = 0.1;

/// What the output was measured to be, for the explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub size: u64,
    pub duration: f64,
    pub codec: Option<String>,
    pub expected_duration: f64,
    pub expected_codec: VideoCodec,
}

/// Why an encoded file failed verification.
#[derive(Debug)]
pub enum VerifyError {
    /// ffprobe could not read it back.
    Unreadable(ProbeError),
    Empty(Measured),
    NoVideo {
        container: String,
        measured: Measured,
    },
    WrongCodec(Measured),
    /// Shorter or longer than the input by more than `allowed` seconds.
    WrongLength {
        difference: f64,
        allowed: f64,
        measured: Measured,
    },
    MissingStreams {
        expected_audio: usize,
        expected_subtitles: usize,
        audio: usize,
        subtitles: usize,
    },
    /// The decode check could not run ffmpeg.
    DecodeNotRun(String),
    /// The decode check reported errors.
    DecodeErrors {
        exit_code: Option<i32>,
        lines: Vec<String>,
    },
    /// A joined (segmented) output's video starts or ends at another time relative to its
    /// audio than the source's does, by more than a frame (`sync`).
    OutOfSync {
        /// `start` or `end`.
        at: &'static str,
        /// Video minus audio, in seconds, in the source and in the output.
        source_offset: f64,
        output_offset: f64,
        allowed: f64,
    },
}

impl VerifyError {
    /// The user-facing explanation (code `verify_failed`).
    pub fn explanation(&self) -> Explanation {
        const CODE: &str = "verify_failed";
        let checked = |summary: &str, detail: String, m: &Measured| {
            let mut e = Explanation::new(CODE, summary, detail)
                .with("output_size", m.size)
                .with("output_duration", m.duration)
                .with("expected_duration", m.expected_duration)
                .with("expected_codec", m.expected_codec.as_str());
            if let Some(codec) = &m.codec {
                e = e.with("output_codec", codec.as_str());
            }
            e
        };
        match self {
            VerifyError::Unreadable(cause) => {
                let cause = cause.explanation();
                let mut x = Explanation::new(
                    CODE,
                    "The encoded file could not be read back.",
                    format!("{} {}", cause.summary, cause.detail),
                );
                x.measured = cause.measured;
                x
            }
            VerifyError::Empty(m) => checked(
                "The encoded file is empty.",
                "ffmpeg finished but the output file has 0 bytes.".into(),
                m,
            ),
            VerifyError::NoVideo {
                container,
                measured,
            } => checked(
                "The encoded file has no video stream.",
                format!(
                    "ffprobe found no video stream in the {container} output, so it cannot replace the original."
                ),
                measured,
            ),
            VerifyError::WrongCodec(m) => checked(
                "The encoded video is in the wrong codec.",
                format!(
                    "The output's video stream is {}, but {} was expected.",
                    m.codec.as_deref().unwrap_or("unknown"),
                    m.expected_codec
                ),
                m,
            ),
            VerifyError::WrongLength {
                difference,
                allowed,
                measured: m,
            } => checked(
                "The encoded file is not as long as the original.",
                format!(
                    "The output lasts {:.3} s but the original lasts {:.3} s; the difference of \
                     {:.3} s is more than the {:.3} s allowed, so the encode is probably truncated.",
                    m.duration, m.expected_duration, difference, allowed
                ),
                m,
            )
            .with("allowed_difference", *allowed),
            VerifyError::MissingStreams {
                expected_audio,
                expected_subtitles,
                audio,
                subtitles,
            } => Explanation::new(
                CODE,
                "The encoded file is missing streams.",
                format!(
                    "The plan kept {expected_audio} audio and {expected_subtitles} subtitle stream(s); the output has {audio} and {subtitles}."
                ),
            )
            .with("expected_audio_streams", *expected_audio)
            .with("expected_subtitle_streams", *expected_subtitles)
            .with("audio_streams", *audio)
            .with("subtitle_streams", *subtitles),
            VerifyError::DecodeNotRun(e) => Explanation::new(
                CODE,
                "The encoded file could not be decoded.",
                format!("Running ffmpeg to decode it failed: {e}"),
            ),
            VerifyError::DecodeErrors { exit_code, lines } => Explanation::new(
                CODE,
                "The encoded file does not decode cleanly.",
                "Decoding the encoded file with ffmpeg reported errors, so it was not used; \
                 the source is untouched."
                    .to_string(),
            )
            .with("exit_code", exit_code.unwrap_or(-1))
            .with("stderr_tail", lines.clone()),
            VerifyError::OutOfSync {
                at,
                source_offset,
                output_offset,
                allowed,
            } => Explanation::new(
                CODE,
                "The joined encode's picture and sound are out of sync.",
                format!(
                    "At its {at}, the output's video is {output_offset:.3} s from its audio, \
                     the source's {source_offset:.3} s: more than the {allowed:.3} s (one frame) \
                     allowed, so segments were joined wrongly; the source is untouched."
                ),
            )
            .with("at", *at)
            .with("source_offset", *source_offset)
            .with("output_offset", *output_offset)
            .with("allowed_difference", *allowed),
        }
    }
}

/// Probe `output` and check it against the expectations.
pub async fn verify(
    ffprobe: &Path,
    output: &Path,
    expected_duration: f64,
    expected_codec: VideoCodec,
) -> Result<MediaInfo, VerifyError> {
    let info = probe(ffprobe, output)
        .await
        .map_err(VerifyError::Unreadable)?;
    check(&info, expected_duration, expected_codec)?;
    Ok(info)
}

/// The pure checks behind [`verify`].
pub fn check(
    info: &MediaInfo,
    expected_duration: f64,
    expected_codec: VideoCodec,
) -> Result<(), VerifyError> {
    let measured = Measured {
        size: info.size,
        duration: info.duration,
        codec: info.video.as_ref().map(|v| v.codec.clone()),
        expected_duration,
        expected_codec,
    };
    if info.size == 0 {
        return Err(VerifyError::Empty(measured));
    }
    let Some(video) = &info.video else {
        return Err(VerifyError::NoVideo {
            container: info.container.clone(),
            measured,
        });
    };
    if VideoCodec::from_ffprobe(&video.codec) != Some(expected_codec) {
        return Err(VerifyError::WrongCodec(measured));
    }
    if expected_duration > 0.0 {
        let allowed = (expected_duration * DURATION_TOLERANCE).max(DURATION_SLACK_SECONDS);
        let difference = (info.duration - expected_duration).abs();
        if difference > allowed {
            return Err(VerifyError::WrongLength {
                difference,
                allowed,
                measured,
            });
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
    pub decode: decode::DecodeCheck,
}

/// [`verify`] plus the planned stream counts and the decode check.
pub async fn verify_planned(
    ffprobe: &Path,
    ffmpeg: &Path,
    output: &Path,
    expect: &Expect,
) -> Result<MediaInfo, VerifyError> {
    let info = verify(ffprobe, output, expect.duration, expect.codec).await?;
    check_streams(&info, expect)?;
    decode::decode_check(ffmpeg, output, expect.decode, info.duration).await?;
    Ok(info)
}

/// Every planned audio and subtitle stream made it into the output.
pub fn check_streams(info: &MediaInfo, expect: &Expect) -> Result<(), VerifyError> {
    let (audio, subtitles) = (info.audio.len(), info.subtitles.len());
    if audio == expect.audio_streams && subtitles == expect.subtitle_streams {
        return Ok(());
    }
    Err(VerifyError::MissingStreams {
        expected_audio: expect.audio_streams,
        expected_subtitles: expect.subtitle_streams,
        audio,
        subtitles,
    })
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
            decode: decode::DecodeCheck::Off,
        };
        let info = out("hevc", 2.0, 10);
        assert!(check_streams(&info, &expect).is_ok());
        expect.audio_streams = 2;
        let e = check_streams(&info, &expect).unwrap_err().explanation();
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
        let e = check(&out("hevc", 98.0, 10), 100.0, VideoCodec::Hevc)
            .unwrap_err()
            .explanation();
        assert_eq!(e.code, "verify_failed");
        assert!(e.detail.contains("98.000 s"), "{}", e.detail);
        assert_eq!(e.measured["allowed_difference"], 1.0);
        assert!(check(&out("hevc", 2.2, 10), 2.0, VideoCodec::Hevc).is_err());
    }

    #[test]
    fn wrong_codec_empty_or_no_video_fails() {
        let e = check(&out("h264", 2.0, 10), 2.0, VideoCodec::Hevc)
            .unwrap_err()
            .explanation();
        assert!(e.detail.contains("h264"), "{}", e.detail);
        assert_eq!(e.measured["output_codec"], "h264");
        let e = check(&out("hevc", 2.0, 0), 2.0, VideoCodec::Hevc)
            .unwrap_err()
            .explanation();
        assert_eq!(e.summary, "The encoded file is empty.");
        let mut no_video = out("hevc", 2.0, 10);
        no_video.video = None;
        assert!(check(&no_video, 2.0, VideoCodec::Hevc).is_err());
    }
}
