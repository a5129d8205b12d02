//! Everything that turns one media file into a better one, in pipeline order: `probe` runs
//! ffprobe and `normalize`s its JSON into [`MediaInfo`]; `plan` decides (purely) whether and how
//! to encode, with a typed explanation; `args` turns a plan into an ffmpeg argument vector;
//! `run` drives ffmpeg with progress, pause and cancel; `verify` checks the result. `paths`
//! names outputs and temp files, `progress` does the arithmetic for progress events, `profile`
//! and `catalog` describe and validate what the owner asked for. Only
//! `probe`, `run` and `verify` touch processes or files, always through `crate::process`.

pub mod args;
pub mod native;
pub mod normalize;
pub mod paths;
pub mod plan;
pub mod predict;
pub mod probe;
pub(crate) mod progress;
pub mod quality;
pub(crate) mod reasons;
pub mod report;
pub mod run;
pub(crate) mod savings;
pub mod segments;
pub(crate) mod streams;
pub mod verify;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Normalized facts about a media file, independent of ffprobe's JSON quirks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MediaInfo {
    /// First entry of ffprobe's `format_name`, e.g. "matroska" or "mov".
    pub container: String,
    /// Seconds; 0 when unknown.
    pub duration: f64,
    /// Bytes on disk.
    pub size: u64,
    /// Container bit rate in bits per second, when known.
    pub bit_rate: Option<u64>,
    /// The main video stream (cover art is ignored); `None` for audio-only files.
    pub video: Option<VideoStream>,
    pub audio: Vec<AudioStream>,
    pub subtitles: Vec<SubtitleStream>,
    /// Attachment streams (fonts for ASS subtitles, cover images in Matroska).
    #[serde(default)]
    pub attachments: usize,
    /// Which probe produced these facts. Entries cached before the native probe existed
    /// were all ffprobe's.
    #[serde(default)]
    pub source: ProbeSource,
}

/// The path that read a file's facts: the in-process header parser, or ffprobe (for other
/// containers and whatever the native parser declines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbeSource {
    Native,
    #[default]
    Ffprobe,
}

/// The main video stream. Fields added after the first release carry `#[serde(default)]`, so
/// probe-cache entries and job metadata written by older versions still read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VideoStream {
    /// ffprobe codec name, e.g. "h264", "hevc", "av1".
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Frames per second, when ffprobe reports a usable rate.
    pub fps: Option<f64>,
    pub bit_depth: Option<u8>,
    /// Stream bit rate in bits per second (often absent in Matroska).
    pub bitrate: Option<u64>,
    /// PQ (SMPTE 2084) or HLG transfer characteristics.
    pub hdr: bool,
    pub pix_fmt: Option<String>,
    /// ffprobe `color_transfer`, e.g. "smpte2084" (PQ), "arib-std-b67" (HLG), "bt709".
    #[serde(default)]
    pub color_transfer: Option<String>,
    /// ffprobe `color_primaries`, e.g. "bt2020".
    #[serde(default)]
    pub color_primaries: Option<String>,
    /// ffprobe `color_space` (matrix coefficients), e.g. "bt2020nc".
    #[serde(default)]
    pub color_space: Option<String>,
    /// ffprobe `field_order`: "progressive", "tt", "bb", "tb", "bt"; `None` when unknown.
    #[serde(default)]
    pub field_order: Option<String>,
    /// A Dolby Vision configuration record is present (stream side data).
    #[serde(default)]
    pub dolby_vision: bool,
    /// `avg_frame_rate` and `r_frame_rate` disagree by more than 1 %: variable frame rate
    /// (phones, screen recordings).
    #[serde(default)]
    pub variable_frame_rate: bool,
}

impl VideoStream {
    /// Coded as separate fields (top or bottom field first).
    pub fn interlaced(&self) -> bool {
        matches!(self.field_order.as_deref(), Some("tt" | "bb" | "tb" | "bt"))
    }
}

/// One audio stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AudioStream {
    pub codec: String,
    pub channels: Option<u32>,
    /// Language tag as stored in the file; "und" counts as unknown.
    pub language: Option<String>,
    pub bitrate: Option<u64>,
    /// ffprobe `profile`, e.g. "DTS-HD MA" (lossless) or "LC".
    #[serde(default)]
    pub profile: Option<String>,
    /// The track's title tag, e.g. "Director's Commentary".
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub disposition: Disposition,
}

/// One subtitle stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SubtitleStream {
    /// ffprobe codec name, e.g. "subrip", "mov_text", "hdmv_pgs_subtitle".
    pub codec: String,
    pub language: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub disposition: Disposition,
}

/// The ffprobe dispositions the stream rules read. Probe-cache entries written before they
/// existed read as all `false`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Disposition {
    pub default: bool,
    pub forced: bool,
    /// A commentary track (`comment`).
    pub comment: bool,
    /// Audio description for the visually impaired.
    pub visual_impaired: bool,
    /// Subtitles for the deaf and hard of hearing (SDH).
    pub hearing_impaired: bool,
    /// The track is in the title's original language (Matroska `FlagOriginal`).
    pub original: bool,
}
