//! The native probe: reads Matroska/WebM and MP4/MOV headers in-process and produces the same
//! [`MediaInfo`] that ffprobe's JSON normalises to, or declines with a typed [`Decline`] so the
//! caller runs ffprobe instead. Starting ffprobe costs 10-150 ms per file, reading the headers
//! a fraction of a millisecond, which is what makes a first analysis of a large library fast.
//!
//! `mkv` (+ `mkv_tracks`, `ebml`) and `mp4` (+ `mp4_track`, `mp4_audio`) walk the container
//! into [`Facts`] (everything the headers say, including what `MediaInfo` has no field for
//! yet: chapters, forced flags, HDR10 mastering data, the Dolby Vision profile); `h264`,
//! `hevc`, `av1` (also VP9's `vpcC`), `vp9` (the first key frame's header) and `colour` read
//! the codec configuration, `codecs` turns it into what ffprobe reports after opening the
//! decoder; `info` turns facts into `MediaInfo` under the rules that decide when headers are
//! not enough (see its docs).
//!
//! No crate does this job: mp4-atom drops `dvcC`/`mdcv`/`clli` from HEVC sample entries
//! (Dolby Vision would be missed, not declined) and decodes every sample table into vectors;
//! mkv-element reads whole top-level elements, attachments included. The readers here are
//! small, allocate only what the file holds within [`MAX_HEADER_BYTES`], and are fuzzed
//! (`tests/fuzz`: `native_mkv`, `native_mp4`, `native_codecs`).
//!
//! Untrusted input: every read is bounded ([`MAX_HEADER_BYTES`] in total, element and box
//! counts capped), nothing is allocated from a size field before the bytes are there, and a
//! malformed header is a `Decline`, never a panic or a long loop.

pub mod av1;
pub(crate) mod bits;
pub mod codecs;
pub mod colour;
pub(crate) mod ebml;
pub mod h264;
pub mod hevc;
pub mod info;
pub mod mkv;
mod mkv_attachments;
mod mkv_tracks;
pub mod mp4;
mod mp4_audio;
mod mp4_track;
mod reader;
pub(crate) mod vp9;

use std::fs::File;
use std::path::Path;

use super::MediaInfo;

/// Header bytes read from one file at most. A two-hour MP4's `moov` (sample tables for 170k
/// frames and a few audio tracks) is 3-6 MiB; Matroska headers are kilobytes. Beyond this the
/// file is unusual enough for ffprobe.
pub const MAX_HEADER_BYTES: u64 = 64 << 20;
/// Streams in one file at most; more is a damaged or hostile header.
pub const MAX_STREAMS: usize = 256;

/// Why the native path handed a file to ffprobe. `code()` values are stable (logs, tests).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Decline {
    #[error("not a Matroska or MP4 file")]
    OtherContainer,
    #[error("could not read the file: {0}")]
    Io(String),
    #[error("malformed header: {0}")]
    Malformed(&'static str),
    #[error("header larger than the native probe reads")]
    TooLarge,
    #[error("not handled natively: {0}")]
    Unsupported(&'static str),
    #[error("the headers do not say {0}")]
    Missing(&'static str),
}

impl Decline {
    pub fn code(&self) -> &'static str {
        match self {
            Decline::OtherContainer => "other_container",
            Decline::Io(_) => "io",
            Decline::Malformed(_) => "malformed",
            Decline::TooLarge => "too_large",
            Decline::Unsupported(_) => "unsupported",
            Decline::Missing(_) => "missing_fact",
        }
    }
}

/// The container families read natively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// Matroska and WebM (ffprobe: "matroska,webm").
    Matroska,
    /// ISO BMFF: MP4, MOV, M4V (ffprobe: "mov,mp4,m4a,3gp,3g2,mj2").
    Mp4,
}

/// What the container headers say about a file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub container: Option<Container>,
    /// The duration ffprobe would report, in microseconds.
    pub duration_us: Option<i64>,
    pub streams: Vec<Stream>,
    /// Attachments ffprobe lists as attachment streams (fonts; not cover pictures).
    pub attachments: usize,
    /// Chapter entries (Matroska `ChapterAtom`s, MP4 chapter-track samples or `chpl` entries).
    pub chapters: usize,
}

/// One track.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub kind: Kind,
    /// ffprobe's codec name; `None` when the codec is one the native probe does not map.
    pub codec: Option<&'static str>,
    /// The language tag ffprobe would show (`None` for "und" or absent).
    pub language: Option<String>,
    pub default: bool,
    pub forced: bool,
    /// The track's name (Matroska `Name`), which ffprobe shows as the `title` tag; MP4 titles
    /// are not read.
    pub title: Option<String>,
    /// Matroska's commentary, impaired and original flags (`default`/`forced` are the fields
    /// above).
    pub flags: crate::media::Disposition,
    /// Bit rate as ffprobe would report it for the stream (MP4 sample tables, Matroska `BPS`
    /// statistics tags).
    pub bitrate: Option<u64>,
}

/// Per-kind facts.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Video(Video),
    Audio(Audio),
    Subtitle {
        /// Picture-based (PGS, VobSub, DVB) rather than text.
        image: bool,
    },
    /// A stream ffprobe lists but the planner ignores (timecode, chapter text, metadata).
    Data,
}

/// A video track's facts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Video {
    pub width: u32,
    pub height: u32,
    /// Average frame rate as ffprobe derives it from the headers (`avg_frame_rate`).
    pub avg_rate: Option<(i64, i64)>,
    /// ffprobe's `r_frame_rate` when the headers determine it.
    pub real_rate: Option<(i64, i64)>,
    /// The frame-rate entries do not all agree (MP4 `stts` with several durations).
    pub variable_timing: bool,
    /// ffprobe's pixel format, from the codec configuration.
    pub pix_fmt: Option<&'static str>,
    pub bit_depth: Option<u8>,
    pub profile: Option<String>,
    pub colour: colour::Colour,
    /// ffprobe's `field_order` when the headers decide it.
    pub field_order: Option<&'static str>,
    /// The codec configuration could decide the field order (e.g. an H.264 SPS was read).
    pub field_order_known: bool,
    pub dolby_vision: Option<colour::DoviConfig>,
    /// A cover picture (Matroska image attachment, MP4 `covr`): not a real video stream.
    pub cover: bool,
}

/// An audio track's facts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Audio {
    pub channels: Option<u32>,
    pub sample_rate: Option<u32>,
    /// ffprobe's `profile` (e.g. AAC "LC"), when the configuration says it.
    pub profile: Option<&'static str>,
}

/// Read `path`'s container headers.
pub fn read_facts(path: &Path) -> Result<(Facts, u64), Decline> {
    let mut file = File::open(path).map_err(|e| Decline::Io(e.to_string()))?;
    let size = file
        .metadata()
        .map_err(|e| Decline::Io(e.to_string()))?
        .len();
    let mut head = [0u8; 12];
    let n = reader::read_up_to(&mut file, &mut head).map_err(|e| Decline::Io(e.to_string()))?;
    let facts = match sniff(&head[..n]) {
        Some(Container::Matroska) => mkv::read(&mut file, size)?,
        Some(Container::Mp4) => mp4::read(&mut file, size)?,
        None => return Err(Decline::OtherContainer),
    };
    Ok((facts, size))
}

/// Probe `path` natively: `MediaInfo` exactly as ffprobe + `normalize` would give it, or why not.
pub fn probe(path: &Path) -> Result<MediaInfo, Decline> {
    let (facts, size) = read_facts(path)?;
    info::media_info(&facts, size)
}

/// Recognise the container from the first bytes.
pub fn sniff(head: &[u8]) -> Option<Container> {
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(Container::Matroska);
    }
    // ISO BMFF starts with a box; these are the top-level types real files begin with.
    let kind = head.get(4..8)?;
    const FIRST_BOXES: [&[u8; 4]; 7] = [
        b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot",
    ];
    FIRST_BOXES
        .iter()
        .any(|b| kind == &b[..])
        .then_some(Container::Mp4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_two_families_and_nothing_else() {
        assert_eq!(
            sniff(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F]),
            Some(Container::Matroska)
        );
        assert_eq!(sniff(b"\0\0\0\x20ftypisom"), Some(Container::Mp4));
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI "), None);
        assert_eq!(sniff(b"\x47\x40\x11\x10"), None);
        assert_eq!(sniff(b""), None);
    }
}
