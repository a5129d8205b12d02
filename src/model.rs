//! Domain vocabulary shared by every layer: job ids and states, codecs, containers and the
//! `Explanation` that carries every decision and failure. Plain data with serde and OpenAPI
//! schemas; nothing here does I/O, so `store`, `media`, `engine` and `web` can all depend on it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Identifier of a job; allocated by the store, never reused.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a job is in its life. See [`JobState::transition`] for the allowed moves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Analyzing,
    Encoding,
    Remuxing,
    Completed,
    Skipped,
    Failed,
    Cancelled,
}

/// Something that happens to a job; input of the pure state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEvent {
    /// The dispatcher picked the job.
    Claim,
    /// Analysis decided to re-encode the video.
    StartEncode,
    /// Analysis decided to copy streams into a new container.
    StartRemux,
    /// Output verified and promoted.
    Complete,
    /// Nothing worth doing (decision or size check).
    Skip,
    /// The attempt failed.
    Fail,
    /// The user cancelled.
    Cancel,
    /// The user asked to run a finished job again.
    Restart,
    /// A failed job's scheduled automatic retry fell due (see `engine::retry`).
    Retry,
    /// The process stopped while the job was active (crash, shutdown): run it again.
    Interrupted,
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("job cannot go from {from} on {event:?}")]
pub struct InvalidTransition {
    pub from: JobState,
    pub event: JobEvent,
}

impl JobState {
    pub const ALL: [JobState; 8] = [
        JobState::Queued,
        JobState::Analyzing,
        JobState::Encoding,
        JobState::Remuxing,
        JobState::Completed,
        JobState::Skipped,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Analyzing => "analyzing",
            JobState::Encoding => "encoding",
            JobState::Remuxing => "remuxing",
            JobState::Completed => "completed",
            JobState::Skipped => "skipped",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Stable one-byte code used in index keys. Never renumber.
    pub fn code(self) -> u8 {
        match self {
            JobState::Queued => 0,
            JobState::Analyzing => 1,
            JobState::Encoding => 2,
            JobState::Remuxing => 3,
            JobState::Completed => 4,
            JobState::Skipped => 5,
            JobState::Failed => 6,
            JobState::Cancelled => 7,
        }
    }

    pub fn from_code(code: u8) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Analyzing, encoding or remuxing: a worker owns the job.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            JobState::Analyzing | JobState::Encoding | JobState::Remuxing
        )
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Skipped | JobState::Failed | JobState::Cancelled
        )
    }

    /// The job state machine. Pure; every state change in the program goes through it.
    pub fn transition(self, event: JobEvent) -> Result<JobState, InvalidTransition> {
        use JobEvent as E;
        use JobState as S;
        let next = match (self, event) {
            (S::Queued, E::Claim) => S::Analyzing,
            (S::Analyzing, E::StartEncode) => S::Encoding,
            (S::Analyzing, E::StartRemux) => S::Remuxing,
            (S::Encoding | S::Remuxing, E::Complete) => S::Completed,
            (S::Analyzing | S::Encoding | S::Remuxing, E::Skip) => S::Skipped,
            (S::Analyzing | S::Encoding | S::Remuxing, E::Fail) => S::Failed,
            (S::Queued | S::Analyzing | S::Encoding | S::Remuxing, E::Cancel) => S::Cancelled,
            (s, E::Restart) if s.is_terminal() => S::Queued,
            (S::Failed, E::Retry) => S::Queued,
            (s, E::Interrupted) if s.is_active() => S::Queued,
            (from, event) => return Err(InvalidTransition { from, event }),
        };
        Ok(next)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown job status `{s}`"))
    }
}

/// Video codecs the planner knows about, as ffprobe names them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum VideoCodec {
    H264,
    Hevc,
    Av1,
    Vp9,
}

impl VideoCodec {
    pub fn as_str(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::Hevc => "hevc",
            VideoCodec::Av1 => "av1",
            VideoCodec::Vp9 => "vp9",
        }
    }

    /// Map an ffprobe `codec_name`; `None` for codecs we never target (mpeg2video, vc1...).
    pub fn from_ffprobe(name: &str) -> Option<VideoCodec> {
        match name {
            "h264" => Some(VideoCodec::H264),
            "hevc" | "h265" => Some(VideoCodec::Hevc),
            "av1" => Some(VideoCodec::Av1),
            "vp9" => Some(VideoCodec::Vp9),
            _ => None,
        }
    }
}

impl fmt::Display for VideoCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for VideoCodec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VideoCodec::from_ffprobe(s).ok_or_else(|| format!("unknown video codec `{s}`"))
    }
}

/// CPU encoders selectable in this release (hardware backends arrive with `hw`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CpuEncoder {
    Libx265,
    Libsvtav1,
    Libx264,
}

impl CpuEncoder {
    pub fn as_str(self) -> &'static str {
        match self {
            CpuEncoder::Libx265 => "libx265",
            CpuEncoder::Libsvtav1 => "libsvtav1",
            CpuEncoder::Libx264 => "libx264",
        }
    }

    /// The codec this encoder produces.
    pub fn codec(self) -> VideoCodec {
        match self {
            CpuEncoder::Libx265 => VideoCodec::Hevc,
            CpuEncoder::Libsvtav1 => VideoCodec::Av1,
            CpuEncoder::Libx264 => VideoCodec::H264,
        }
    }

    pub const ALL: [CpuEncoder; 3] = [
        CpuEncoder::Libx265,
        CpuEncoder::Libsvtav1,
        CpuEncoder::Libx264,
    ];
}

impl FromStr for CpuEncoder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CpuEncoder::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("unknown encoder `{s}` (libx265, libsvtav1 or libx264)"))
    }
}

/// What happens to the original once a verified output is in place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OriginalPolicy {
    /// Leave it; the output sits beside it as `<stem>.alchemist.<ext>`.
    #[default]
    Keep,
    /// Move it to `.alchemist-trash/` beside it (same filesystem), restorable until purged.
    Replace,
    /// Remove it, but only after the verified output is in place.
    Delete,
}

impl FromStr for OriginalPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "keep" => Ok(OriginalPolicy::Keep),
            "replace" => Ok(OriginalPolicy::Replace),
            "delete" => Ok(OriginalPolicy::Delete),
            _ => Err(format!("unknown policy `{s}` (keep, replace or delete)")),
        }
    }
}

/// How much of an encoded file verification decodes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMode {
    /// Evenly spaced segments (the whole file when it is short).
    #[default]
    Sample,
    /// Every frame.
    Full,
    /// No decode (probe, duration and stream checks still run).
    Off,
}

impl FromStr for VerifyMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sample" => Ok(VerifyMode::Sample),
            "full" => Ok(VerifyMode::Full),
            "off" => Ok(VerifyMode::Off),
            _ => Err(format!("unknown verify mode `{s}` (sample, full or off)")),
        }
    }
}

/// Why something was decided or went wrong, in a form the API, the UI and stats share.
/// `code` is stable (snake_case) and never parsed back out of `summary` or `detail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    pub code: String,
    pub summary: String,
    pub detail: String,
    /// Measured values behind the decision (numbers or strings).
    #[schema(value_type = Object)]
    pub measured: BTreeMap<String, serde_json::Value>,
}

impl Explanation {
    pub fn new(code: &str, summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Explanation {
            code: code.to_string(),
            summary: summary.into(),
            detail: detail.into(),
            measured: BTreeMap::new(),
        }
    }

    /// Add one measured value.
    pub fn with(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.measured.insert(name.to_string(), value.into());
        self
    }
}

/// How much work the engine takes on at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngineMode {
    /// One job at a time at the lowest CPU and I/O priority.
    Background,
    /// Half the cores, clamped to 1..=4 jobs.
    Balanced,
    /// One job per hardware encoder session plus half the cores of CPU jobs.
    Throughput,
}

/// Whether the engine starts new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngineRunState {
    Running,
    Paused,
    Draining,
}

/// `GET /api/engine/status`, also the data of the `engine` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EngineStatus {
    pub status: EngineRunState,
    pub mode: EngineMode,
    pub concurrent_limit: u32,
    /// ffmpeg `-threads` per job; 0 lets ffmpeg decide.
    pub threads: u32,
    pub is_manual_override: bool,
    pub active_jobs: u64,
    pub queued_jobs: u64,
    pub paused_reason: Option<String>,
}

/// Milliseconds since the Unix epoch, the time unit of every stored timestamp.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// RFC 3339 UTC text for a stored timestamp, as the API shows it.
pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Days since 1970-01-01 (UTC) of a timestamp: the key of daily statistics.
pub fn day_number(ms: i64) -> u32 {
    (ms.div_euclid(86_400_000)).max(0) as u32
}

/// `YYYY-MM-DD` of a day number.
pub fn day_string(day: u32) -> String {
    rfc3339(day as i64 * 86_400_000)[..10].to_string()
}

/// Where a video encode runs. Ordered from least to most preferred when more than one is
/// verified for a codec (see `hw::select_backend`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Cpu,
    V4l2m2m,
    Vaapi,
}

impl Backend {
    /// The name the API and probe log use: "cpu", "v4l2m2m" or "vaapi".
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::V4l2m2m => "v4l2m2m",
            Backend::Vaapi => "vaapi",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A VAAPI rate-control mode, as ffmpeg's `-rc_mode` names it. Only the quality-driven modes
/// are used; CBR/VBR/AVBR are streaming modes a library re-encode does not want.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateControl {
    /// Constant QP (`-rc_mode CQP -qp N`); every driver has it.
    Cqp,
    /// Intelligent constant quality (`-rc_mode ICQ -global_quality N`), Intel iHD.
    Icq,
    /// Quality-defined VBR: ICQ with a bit rate ceiling (`-rc_mode QVBR`), Intel iHD.
    Qvbr,
}

impl RateControl {
    /// ffmpeg's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RateControl::Cqp => "CQP",
            RateControl::Icq => "ICQ",
            RateControl::Qvbr => "QVBR",
        }
    }

    /// Parse ffmpeg's spelling; `None` for modes we never use (CBR, VBR, AVBR).
    pub fn from_ffmpeg(name: &str) -> Option<RateControl> {
        match name.trim() {
            "CQP" => Some(RateControl::Cqp),
            "ICQ" => Some(RateControl::Icq),
            "QVBR" => Some(RateControl::Qvbr),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
