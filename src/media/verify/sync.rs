//! The A/V sync check of a joined (segmented) output: the video is made of segments and the
//! audio comes whole from the source, so a frame lost or doubled at a join, or a segment placed
//! at the wrong time, shows as the video starting or ending at another time relative to the
//! audio than it does in the source. ffprobe reads the packets of the first and the last few
//! seconds of both files ([`edges_args`]); [`check_sync`] compares the offsets between the
//! video's and the audio's first and last instants, which must match the source's within one
//! frame. Pure except [`edges`].

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::VerifyError;
use crate::media::args::file_url;
use crate::process;

/// Seconds read at each end of a file.
const EDGE_SECONDS: f64 = 5.0;
/// Timestamps in Matroska are whole milliseconds: rounding at either end may add this much.
const ROUNDING: f64 = 0.002;
const PROBE_TIMEOUT: Duration = Duration::from_secs(300);

/// First and last instant (start of the first packet, end of the last) of a file's main video
/// stream and of one of its audio streams.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edges {
    pub video: (f64, f64),
    pub audio: Option<(f64, f64)>,
    /// The file's start time (its earliest stream's), from which ffmpeg counts `-ss`.
    pub start: f64,
}

/// ffprobe's packets of the first and last [`EDGE_SECONDS`] of `file` (all of it when short).
pub fn edges_args(file: &Path, duration: f64) -> Vec<OsString> {
    let mut a: Vec<OsString> = ["-v", "error"].map(OsString::from).to_vec();
    if duration > 4.0 * EDGE_SECONDS {
        a.push("-read_intervals".into());
        a.push(format!("%+{EDGE_SECONDS},{:.3}%", duration - 2.0 * EDGE_SECONDS).into());
    }
    a.extend(
        [
            "-show_entries",
            "format=start_time:stream=index,codec_type:stream_disposition=attached_pic:\
             packet=stream_index,pts_time,duration_time",
            "-of",
            "json",
        ]
        .map(OsString::from),
    );
    a.push(file_url(file));
    a
}

#[derive(Deserialize)]
struct Probed {
    #[serde(default)]
    format: Option<Format>,
    #[serde(default)]
    streams: Vec<Stream>,
    #[serde(default)]
    packets: Vec<Packet>,
}

#[derive(Deserialize)]
struct Format {
    start_time: Option<String>,
}

#[derive(Deserialize)]
struct Stream {
    index: usize,
    codec_type: String,
    #[serde(default)]
    disposition: Option<Disposition>,
}

#[derive(Deserialize)]
struct Disposition {
    #[serde(default)]
    attached_pic: u8,
}

#[derive(Deserialize)]
struct Packet {
    stream_index: usize,
    pts_time: Option<String>,
    duration_time: Option<String>,
}

/// The edges of the first (non-cover) video stream and the `audio`-th audio stream in
/// ffprobe's JSON; `None` when it holds no video packets.
pub fn parse_edges(json: &[u8], audio: usize) -> Option<Edges> {
    let p: Probed = serde_json::from_slice(json).ok()?;
    let video = p
        .streams
        .iter()
        .find(|s| {
            s.codec_type == "video" && s.disposition.as_ref().is_none_or(|d| d.attached_pic == 0)
        })?
        .index;
    let audio = p
        .streams
        .iter()
        .filter(|s| s.codec_type == "audio")
        .nth(audio)
        .map(|s| s.index);
    let span = |index: usize| -> Option<(f64, f64)> {
        let mut first = f64::INFINITY;
        let mut last = f64::NEG_INFINITY;
        for pk in p.packets.iter().filter(|pk| pk.stream_index == index) {
            let Some(pts) = pk.pts_time.as_deref().and_then(|t| t.parse::<f64>().ok()) else {
                continue;
            };
            let dur = pk
                .duration_time
                .as_deref()
                .and_then(|t| t.parse::<f64>().ok())
                .unwrap_or(0.0);
            first = first.min(pts);
            last = last.max(pts + dur);
        }
        first.is_finite().then_some((first, last))
    };
    let start = p
        .format
        .and_then(|f| f.start_time?.parse::<f64>().ok())
        .filter(|s| s.is_finite())
        .unwrap_or(0.0);
    Some(Edges {
        video: span(video)?,
        audio: audio.and_then(span),
        start,
    })
}

/// The output's video starts and ends, relative to its audio, where the source's does, within
/// one frame (`frame` seconds) plus timestamp rounding. Without audio there is nothing to drift.
pub fn check_sync(source: &Edges, output: &Edges, frame: f64) -> Result<(), VerifyError> {
    let (Some(sa), Some(oa)) = (source.audio, output.audio) else {
        return Ok(());
    };
    let allowed = frame + ROUNDING;
    let start = (source.video.0 - sa.0, output.video.0 - oa.0);
    let end = (source.video.1 - sa.1, output.video.1 - oa.1);
    for (at, (src, out)) in [("start", start), ("end", end)] {
        if (out - src).abs() > allowed {
            return Err(VerifyError::OutOfSync {
                at,
                source_offset: src,
                output_offset: out,
                allowed,
            });
        }
    }
    Ok(())
}

/// Probe the edges of `file` (see [`edges_args`]).
pub async fn edges(
    ffprobe: &Path,
    file: &Path,
    duration: f64,
    audio: usize,
) -> Result<Edges, VerifyError> {
    let out = process::output(ffprobe, &edges_args(file, duration), PROBE_TIMEOUT)
        .await
        .map_err(|e| VerifyError::DecodeNotRun(e.to_string()))?;
    if !out.status.success() {
        return Err(VerifyError::DecodeErrors {
            exit_code: out.status.code(),
            lines: crate::media::probe::tail_lines(&out.stderr, 8),
        });
    }
    parse_edges(&out.stdout, audio).ok_or_else(|| {
        VerifyError::DecodeNotRun(format!(
            "ffprobe found no video packets in {}",
            crate::media::paths::shown(file)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"packets": [
        {"stream_index": 0, "pts_time": "0.000000", "duration_time": "0.040000"},
        {"stream_index": 1, "pts_time": "0.000000", "duration_time": "0.021333"},
        {"stream_index": 2, "pts_time": "0.000000", "duration_time": "0.040000"},
        {"stream_index": 0, "pts_time": "19.960000", "duration_time": "0.040000"},
        {"stream_index": 1, "pts_time": "19.989333", "duration_time": "0.010667"},
        {"stream_index": 2, "pts_time": "25.000000", "duration_time": "0.040000"}],
      "streams": [
        {"index": 0, "codec_type": "video", "disposition": {"attached_pic": 0}},
        {"index": 1, "codec_type": "audio"},
        {"index": 2, "codec_type": "audio"}]}"#;

    #[test]
    fn edges_are_first_start_and_last_end_per_stream() {
        let e = parse_edges(JSON.as_bytes(), 0).unwrap();
        assert_eq!(e.video, (0.0, 20.0));
        let (a0, a1) = e.audio.unwrap();
        assert_eq!(a0, 0.0);
        assert!((a1 - 20.0).abs() < 1e-9);
        assert_eq!(
            parse_edges(JSON.as_bytes(), 1).unwrap().audio,
            Some((0.0, 25.04))
        );
        assert_eq!(parse_edges(JSON.as_bytes(), 2).unwrap().audio, None);
        assert_eq!(e.start, 0.0, "no format section");
        assert_eq!(parse_edges(b"{}", 0), None);
        let with_start = JSON.replacen('{', r#"{"format": {"start_time": "1.400000"},"#, 1);
        assert_eq!(parse_edges(with_start.as_bytes(), 0).unwrap().start, 1.4);
    }

    #[test]
    fn a_frame_lost_or_shifted_at_a_join_is_out_of_sync() {
        let source = Edges {
            video: (0.0, 20.0),
            audio: Some((0.0, 20.0)),
            start: 0.0,
        };
        assert!(check_sync(&source, &source, 0.04).is_ok());
        let rounded = Edges {
            video: (0.0, 20.001),
            ..source
        };
        assert!(check_sync(&source, &rounded, 0.04).is_ok(), "ms rounding");
        let one_frame_short = Edges {
            video: (0.0, 19.96),
            ..source
        };
        assert!(
            check_sync(&source, &one_frame_short, 0.04).is_ok(),
            "within a frame"
        );
        let two_frames_short = Edges {
            video: (0.0, 19.92),
            ..source
        };
        let e = check_sync(&source, &two_frames_short, 0.04)
            .unwrap_err()
            .explanation();
        assert_eq!(e.code, "verify_failed");
        assert_eq!(e.measured["at"], "end");
        let late_start = Edges {
            video: (0.1, 20.0),
            ..source
        };
        assert!(check_sync(&source, &late_start, 0.04).is_err());
        let no_audio = Edges {
            video: (0.0, 10.0),
            audio: None,
            start: 0.0,
        };
        assert!(check_sync(&source, &no_audio, 0.04).is_ok());
    }

    #[test]
    fn long_files_are_read_at_both_ends_only() {
        let a = edges_args(Path::new("/m/o.mkv"), 7200.0);
        let a: Vec<&str> = a.iter().map(|s| s.to_str().unwrap()).collect();
        assert_eq!(a[2..4], ["-read_intervals", "%+5,7190.000%"]);
        let short = edges_args(Path::new("/m/o.mkv"), 12.0);
        assert!(!short.iter().any(|s| s == "-read_intervals"));
    }
}
