//! Pure translation of ffprobe's `-show_format -show_streams` JSON into [`MediaInfo`].
//! ffprobe is inconsistent about types (numbers as strings, "N/A", "0/0" frame rates, missing
//! fields in Matroska), so fields are read leniently from a `serde_json::Value`: anything that
//! cannot be understood becomes "unknown" (`None` or 0), never a panic or an invented value.
//! Only a missing or unreadable format section is an error, because then nothing was probed.

use serde_json::Value;

use super::probe::ProbeError;
use super::{AudioStream, Disposition, MediaInfo, SubtitleStream, VideoStream};

/// Frame rates above this are timebase artefacts (e.g. r_frame_rate "90000/1"), not real fps.
const MAX_PLAUSIBLE_FPS: f64 = 1000.0;

/// Build [`MediaInfo`] from ffprobe JSON. `size_on_disk` wins over ffprobe's `format.size`
/// unless it is 0 (unknown).
pub fn normalize(ffprobe_json: &[u8], size_on_disk: u64) -> Result<MediaInfo, ProbeError> {
    let root: Value =
        serde_json::from_slice(ffprobe_json).map_err(|e| ProbeError::InvalidJson(e.to_string()))?;
    let format = root
        .get("format")
        .filter(|f| f.is_object())
        .ok_or(ProbeError::NoFormat)?;
    let container = text(format.get("format_name"))
        .and_then(|names| names.split(',').next().map(str::to_string))
        .filter(|c| !c.is_empty())
        .ok_or(ProbeError::NoFormat)?;
    let streams: &[Value] = root
        .get("streams")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);

    let duration = seconds(format.get("duration"))
        .or_else(|| streams.iter().filter_map(stream_duration).reduce(f64::max))
        .unwrap_or(0.0);
    let size = if size_on_disk > 0 {
        size_on_disk
    } else {
        unsigned(format.get("size")).unwrap_or(0)
    };

    Ok(MediaInfo {
        container,
        duration,
        size,
        bit_rate: unsigned(format.get("bit_rate")).filter(|b| *b > 0),
        video: main_video(streams),
        audio: of_type(streams, "audio")
            .map(|s| AudioStream {
                codec: codec_name(s),
                channels: unsigned(s.get("channels"))
                    .filter(|c| *c > 0)
                    .and_then(|c| u32::try_from(c).ok()),
                language: language(s),
                bitrate: stream_bitrate(s),
                profile: text(s.get("profile")).map(str::to_string),
                title: title(s),
                disposition: disposition(s),
            })
            .collect(),
        subtitles: of_type(streams, "subtitle")
            .map(|s| SubtitleStream {
                codec: codec_name(s),
                language: language(s),
                title: title(s),
                disposition: disposition(s),
            })
            .collect(),
        attachments: of_type(streams, "attachment").count(),
        source: super::ProbeSource::Ffprobe,
    })
}

fn of_type<'a>(streams: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    streams
        .iter()
        .filter(move |s| text(s.get("codec_type")) == Some(kind))
}

/// The stream to encode: real video (not cover art), preferring the default-flagged one, then
/// the largest picture, then the first.
fn main_video(streams: &[Value]) -> Option<VideoStream> {
    let flag = |s: &Value, name: &str| {
        s.get("disposition")
            .and_then(|d| d.get(name))
            .and_then(Value::as_i64)
            == Some(1)
    };
    let dims = |s: &Value| {
        let w = unsigned(s.get("width")).and_then(|w| u32::try_from(w).ok());
        let h = unsigned(s.get("height")).and_then(|h| u32::try_from(h).ok());
        (w.unwrap_or(0), h.unwrap_or(0))
    };
    let best = of_type(streams, "video")
        .filter(|s| !flag(s, "attached_pic") && !flag(s, "still_image"))
        .enumerate()
        // Reverse the index so that ties keep the first stream.
        .max_by_key(|(i, s)| {
            let (w, h) = dims(s);
            (
                flag(s, "default"),
                u64::from(w) * u64::from(h),
                usize::MAX - i,
            )
        })
        .map(|(_, s)| s)?;
    let (width, height) = dims(best);
    let pix_fmt = text(best.get("pix_fmt")).map(str::to_string);
    let transfer = text(best.get("color_transfer"));
    let colour = |key: &str| {
        text(best.get(key))
            .filter(|v| *v != "unknown" && *v != "reserved")
            .map(str::to_string)
    };
    let avg_fps = frame_rate(best.get("avg_frame_rate"));
    let real_fps = frame_rate(best.get("r_frame_rate"));
    Some(VideoStream {
        codec: codec_name(best),
        width,
        height,
        fps: avg_fps.or(real_fps),
        bit_depth: pix_fmt.as_deref().and_then(depth_from_pix_fmt).or_else(|| {
            unsigned(best.get("bits_per_raw_sample"))
                .filter(|d| (1..=32).contains(d))
                .and_then(|d| u8::try_from(d).ok())
        }),
        bitrate: stream_bitrate(best),
        hdr: matches!(transfer, Some("smpte2084" | "arib-std-b67")),
        pix_fmt,
        color_transfer: colour("color_transfer"),
        color_primaries: colour("color_primaries"),
        color_space: colour("color_space"),
        field_order: colour("field_order"),
        dolby_vision: has_dovi(best),
        variable_frame_rate: matches!((avg_fps, real_fps), (Some(a), Some(r)) if (a - r).abs() > r * VFR_TOLERANCE),
    })
}

/// Relative difference between average and real base frame rate that marks variable frame rate.
const VFR_TOLERANCE: f64 = 0.01;

/// Dolby Vision shows up as a "DOVI configuration record" in the stream's side data, or as the
/// `dvhe`/`dvh1`/`dav1` codec tag in MP4.
fn has_dovi(stream: &Value) -> bool {
    let side = stream
        .get("side_data_list")
        .and_then(Value::as_array)
        .is_some_and(|list| {
            list.iter()
                .any(|d| text(d.get("side_data_type")).is_some_and(|t| t.contains("DOVI")))
        });
    side || matches!(
        text(stream.get("codec_tag_string")),
        Some("dvhe" | "dvh1" | "dav1")
    )
}

/// Bit depth implied by a pixel format name ("yuv420p10le" → 10, "yuv420p" → 8).
fn depth_from_pix_fmt(pix_fmt: &str) -> Option<u8> {
    const PATTERNS: [(&str, u8); 9] = [
        ("p16", 16),
        ("16le", 16),
        ("16be", 16),
        ("p12", 12),
        ("12le", 12),
        ("12be", 12),
        ("p10", 10),
        ("10le", 10),
        ("10be", 10),
    ];
    const EIGHT_BIT: [&str; 10] = [
        "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21",
        "gray", "yuv411p",
    ];
    PATTERNS
        .iter()
        .find(|(pat, _)| pix_fmt.contains(pat))
        .map(|(_, d)| *d)
        .or_else(|| EIGHT_BIT.contains(&pix_fmt).then_some(8))
}

fn codec_name(stream: &Value) -> String {
    text(stream.get("codec_name"))
        .unwrap_or("unknown")
        .to_string()
}

fn language(stream: &Value) -> Option<String> {
    let tags = stream.get("tags")?;
    text(tags.get("language"))
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "und")
        .map(str::to_string)
}

fn title(stream: &Value) -> Option<String> {
    text(stream.get("tags")?.get("title"))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

fn disposition(stream: &Value) -> Disposition {
    let flag = |name: &str| {
        stream
            .get("disposition")
            .and_then(|d| d.get(name))
            .and_then(Value::as_i64)
            == Some(1)
    };
    Disposition {
        default: flag("default"),
        forced: flag("forced"),
        comment: flag("comment"),
        visual_impaired: flag("visual_impaired"),
        hearing_impaired: flag("hearing_impaired"),
        original: flag("original"),
    }
}

/// Stream bit rate; Matroska files written by mkvmerge carry it only as a `BPS` tag.
fn stream_bitrate(stream: &Value) -> Option<u64> {
    let tags = stream.get("tags");
    unsigned(stream.get("bit_rate"))
        .or_else(|| unsigned(tags.and_then(|t| t.get("BPS"))))
        .or_else(|| unsigned(tags.and_then(|t| t.get("BPS-eng"))))
        .filter(|b| *b > 0)
}

/// Per-stream duration: the `duration` field, else Matroska's `DURATION` tag ("00:00:02.002").
fn stream_duration(stream: &Value) -> Option<f64> {
    seconds(stream.get("duration")).or_else(|| {
        let tag = text(stream.get("tags")?.get("DURATION"))?;
        super::progress::parse_ffmpeg_time(tag).filter(|d| *d > 0.0)
    })
}

/// A non-empty string value other than ffprobe's "N/A".
fn text(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && *s != "N/A")
}

/// A non-negative integer given as a JSON number or a decimal string.
fn unsigned(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A finite, positive number of seconds given as a number or a string.
fn seconds(value: Option<&Value>) -> Option<f64> {
    let secs = match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    (secs.is_finite() && secs > 0.0).then_some(secs)
}

/// "30000/1001" → 29.97; "0/0", "N/A" and absurd rates → None.
fn frame_rate(value: Option<&Value>) -> Option<f64> {
    let raw = text(value)?;
    let rate = match raw.split_once('/') {
        Some((num, den)) => {
            let num: f64 = num.trim().parse().ok()?;
            let den: f64 = den.trim().parse().ok()?;
            if den == 0.0 {
                return None;
            }
            num / den
        }
        None => raw.trim().parse().ok()?,
    };
    (rate.is_finite() && rate > 0.0 && rate <= MAX_PLAUSIBLE_FPS).then_some(rate)
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
