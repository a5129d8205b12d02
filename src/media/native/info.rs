//! [`Facts`] → [`MediaInfo`], exactly as ffprobe's JSON would normalise, or a [`Decline`].
//!
//! ## When the headers are not enough (the native path declines, ffprobe answers)
//! The planner's rules read: the container name; duration, size and container bit rate (the
//! bits-per-pixel rule estimates the video bit rate from them when the stream has none); for
//! the main video stream its codec, picture size, frame rate, pixel format / bit depth, stream
//! bit rate, colour tags (HDR keeps 10 bits and its tags), field order (deinterlacing), Dolby
//! Vision and variable frame rate; for every audio stream codec, channels, bit rate and profile
//! (lossless or huge tracks are re-encoded); for subtitles codec and language; the attachment
//! count. ffprobe takes some of these from the coded frames, not the headers. The native path
//! therefore declines when:
//! - the duration is unknown or zero (ffprobe would estimate it from packets, and the container
//!   bit rate is derived from it);
//! - any stream's codec is one it does not map to ffprobe's name;
//! - a video stream lacks a picture size, an average frame rate from the headers (Matroska
//!   `DefaultDuration`, MP4 `stts`), a real frame rate ffprobe would take from the headers (it
//!   estimates one from timestamps otherwise), or a pixel format from the codec configuration;
//! - the main video's field order is not decided by the headers: H.264 without an SPS or
//!   with field coding allowed, MPEG-2 and other codecs whose picture headers decide it;
//! - an audio stream lacks a channel count, or is a codec whose bit rate (AC-3, E-AC-3,
//!   MPEG audio, DTS) or profile (DTS) ffprobe reads from the first frame, or PCM;
//! - the stream bit rates the planner uses are not in the headers and ffprobe would have one:
//!   MP4 tracks always carry sample sizes, so they do; in ffmpeg-written Matroska neither side
//!   has a per-stream rate, and both fall back to the container rate, which is derived from
//!   size and duration.

use super::colour::{matrix_name, primaries_name, transfer_name};
use super::{Container, Decline, Facts, Kind, Stream, Video};
use crate::media::{AudioStream, Disposition, MediaInfo, ProbeSource, SubtitleStream, VideoStream};

/// Audio codecs whose bit rate ffprobe takes from the first frame header.
const BITSTREAM_RATE_AUDIO: [&str; 6] = ["ac3", "eac3", "mp2", "mp3", "dts", "truehd"];
/// normalize's limit: higher frame rates are timebase artefacts.
const MAX_PLAUSIBLE_FPS: f64 = 1000.0;
/// normalize's VFR tolerance.
const VFR_TOLERANCE: f64 = 0.01;

/// Build `MediaInfo` from `facts` for a file of `size` bytes.
pub fn media_info(facts: &Facts, size: u64) -> Result<MediaInfo, Decline> {
    let container = match facts.container {
        Some(Container::Matroska) => "matroska",
        Some(Container::Mp4) => "mov",
        None => return Err(Decline::OtherContainer),
    };
    let duration_us = facts
        .duration_us
        .filter(|d| *d > 0)
        .ok_or(Decline::Missing("the duration"))?;
    for s in &facts.streams {
        if s.codec.is_none() {
            return Err(Decline::Unsupported(
                "a codec the native probe does not map",
            ));
        }
    }
    // ffprobe prints the duration in seconds with 6 decimals; normalize parses that text.
    let duration: f64 = format!("{:.6}", duration_us as f64 * 1e-6)
        .parse()
        .map_err(|_| Decline::Malformed("duration"))?;
    // libavformat: bit rate = file size × 8 / duration, as a double truncated to an integer.
    let bit_rate = (size as f64 * 8.0 * 1_000_000.0 / duration_us as f64) as u64;
    let audio = facts
        .streams
        .iter()
        .filter_map(|s| match &s.kind {
            Kind::Audio(a) => Some((s, a)),
            _ => None,
        })
        .map(|(s, a)| {
            let codec = s.codec.unwrap_or_default();
            if BITSTREAM_RATE_AUDIO.contains(&codec) || codec.starts_with("pcm_") {
                return Err(Decline::Missing(
                    "an audio bit rate ffprobe reads from frames",
                ));
            }
            Ok(AudioStream {
                codec: codec.to_string(),
                channels: Some(
                    a.channels
                        .filter(|c| *c > 0)
                        .ok_or(Decline::Missing("the audio channel count"))?,
                ),
                language: s.language.clone(),
                bitrate: s.bitrate.filter(|b| *b > 0),
                profile: a.profile.map(str::to_string),
                title: s.title.clone(),
                disposition: Disposition {
                    default: s.default,
                    forced: s.forced,
                    ..s.flags
                },
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let subtitles = facts
        .streams
        .iter()
        .filter(|s| matches!(s.kind, Kind::Subtitle { .. }))
        .map(|s| SubtitleStream {
            codec: s.codec.unwrap_or_default().to_string(),
            language: s.language.clone(),
            title: s.title.clone(),
            disposition: Disposition {
                default: s.default,
                forced: s.forced,
                ..s.flags
            },
        })
        .collect::<Vec<_>>();
    if container == "mov" && (audio.len() > 1 || !subtitles.is_empty()) {
        // The stream rules read titles and commentary flags, which this parser reads only
        // from Matroska.
        return Err(Decline::Unsupported(
            "MP4 with several audio tracks or subtitles (titles and flags need ffprobe)",
        ));
    }
    Ok(MediaInfo {
        container: container.to_string(),
        duration,
        size,
        bit_rate: Some(bit_rate).filter(|b| *b > 0),
        video: main_video(&facts.streams)?,
        audio,
        subtitles,
        attachments: facts.attachments,
        source: ProbeSource::Native,
    })
}

/// normalize's choice (default flag, then largest picture, then first) over real video.
fn main_video(streams: &[Stream]) -> Result<Option<VideoStream>, Decline> {
    let best = streams
        .iter()
        .filter_map(|s| match &s.kind {
            Kind::Video(v) if !v.cover => Some((s, v)),
            _ => None,
        })
        .enumerate()
        .max_by_key(|(i, (s, v))| {
            (
                s.default,
                u64::from(v.width) * u64::from(v.height),
                usize::MAX - i,
            )
        })
        .map(|(_, sv)| sv);
    let Some((s, v)) = best else {
        return Ok(None);
    };
    Ok(Some(video_stream(s, v)?))
}

fn video_stream(s: &Stream, v: &Video) -> Result<VideoStream, Decline> {
    if v.width == 0 || v.height == 0 {
        return Err(Decline::Missing("the picture size"));
    }
    let avg = v
        .avg_rate
        .and_then(rate)
        .ok_or(Decline::Missing("the frame rate"))?;
    let real = match v.real_rate {
        Some(r) => rate(r),
        None => return Err(Decline::Missing("the real frame rate")),
    };
    let pix_fmt = v.pix_fmt.ok_or(Decline::Missing("the pixel format"))?;
    if !v.field_order_known {
        return Err(Decline::Missing("the field order"));
    }
    let transfer = v.colour.transfer.and_then(transfer_name);
    Ok(VideoStream {
        codec: s.codec.unwrap_or_default().to_string(),
        width: v.width,
        height: v.height,
        fps: Some(avg),
        bit_depth: v.bit_depth,
        bitrate: s.bitrate.filter(|b| *b > 0),
        hdr: matches!(transfer, Some("smpte2084" | "arib-std-b67")),
        pix_fmt: Some(pix_fmt.to_string()),
        color_transfer: transfer.map(str::to_string),
        color_primaries: v
            .colour
            .primaries
            .and_then(primaries_name)
            .map(str::to_string),
        color_space: v.colour.matrix.and_then(matrix_name).map(str::to_string),
        field_order: v.field_order.map(str::to_string),
        dolby_vision: v.dolby_vision.is_some(),
        variable_frame_rate: real.is_some_and(|r| (avg - r).abs() > r * VFR_TOLERANCE),
    })
}

/// A frame rate as normalize reads ffprobe's "num/den".
fn rate((num, den): (i64, i64)) -> Option<f64> {
    if den == 0 {
        return None;
    }
    let r = num as f64 / den as f64;
    (r.is_finite() && r > 0.0 && r <= MAX_PLAUSIBLE_FPS).then_some(r)
}

/// The closest fraction to `num/den` whose terms are at most `max`, chosen the way
/// libavformat does (continued-fraction convergents, then the best semiconvergent), because
/// ffprobe prints frame rates reduced that way and normalize divides what it prints.
pub fn reduce(num: u64, den: u64, max: u64) -> (i64, i64) {
    fn gcd(mut a: u64, mut b: u64) -> u64 {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    }
    if den == 0 {
        return (i64::from(num != 0), 0);
    }
    let g = gcd(num, den).max(1);
    let (mut n, mut d) = (u128::from(num / g), u128::from(den / g));
    let max = u128::from(max);
    if n <= max && d <= max {
        return (n as i64, d as i64);
    }
    // Convergents p/q: (prev_p/prev_q, p/q), starting from 0/1 and 1/0.
    let (mut prev_p, mut prev_q, mut p, mut q) = (0u128, 1u128, 1u128, 0u128);
    while d != 0 {
        let a = n / d;
        let (next_p, next_q) = (a * p + prev_p, a * q + prev_q);
        if next_p > max || next_q > max {
            // Largest k with k·p + prev_p and k·q + prev_q within bounds; take that
            // semiconvergent if it is closer than p/q.
            let mut k = a;
            if let Some(bound) = (max - prev_p).checked_div(p) {
                k = k.min(bound);
            }
            if let Some(bound) = (max - prev_q).checked_div(q) {
                k = k.min(bound);
            }
            if d * (2 * k * q + prev_q) > n * q {
                (p, q) = (k * p + prev_p, k * q + prev_q);
            }
            break;
        }
        (prev_p, prev_q, p, q) = (p, q, next_p, next_q);
        (n, d) = (d, n - d * a);
    }
    (
        i64::try_from(p).unwrap_or(i64::MAX),
        i64::try_from(q).unwrap_or(i64::MAX),
    )
}

#[cfg(test)]
#[path = "info_tests.rs"]
mod tests;
