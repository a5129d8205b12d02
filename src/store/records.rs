//! The records kept in the store. Each implements `Versioned`; timestamps are milliseconds since
//! the Unix epoch (UTC), sizes bytes, durations seconds.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codec::{Versioned, path_bytes};
use crate::model::{
    AttemptOutcome, Backend, EngineMode, EngineRunState, Explanation, JobId, JobState, LogLevel,
    OriginalPolicy,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub username: String,
    /// Argon2id PHC string.
    pub password_phc: String,
    pub created_at: i64,
    pub password_changed_at: i64,
}
impl Versioned for User {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub username: String,
    pub created_at: i64,
    pub expires_at: i64,
}
impl Versioned for Session {}

/// A browser that logged in as `username` before and holds the device cookie. Its logins skip
/// the login queue and the throttles (see `auth::devices`) until it fails too often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub username: String,
    pub created_at: i64,
    pub last_login_at: i64,
    /// Wrong passwords sent with this device's cookie since its last good login.
    pub failures: u32,
}
impl Versioned for Device {}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    ReadOnly,
    FullAccess,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: u64,
    pub name: String,
    pub access_level: AccessLevel,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}
impl Versioned for ApiToken {}

/// Figures of a finished encode, shown in job details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EncodeStats {
    pub input_size_bytes: u64,
    pub output_size_bytes: u64,
    /// 1 − output/input.
    pub compression_ratio: f64,
    pub encode_time_seconds: f64,
    /// Media seconds per wall second.
    pub encode_speed: f64,
    pub avg_bitrate_kbps: f64,
    pub encoder: String,
    pub backend: Backend,
    /// Why a hardware encode was given up and the CPU encoded instead (its code:
    /// `encoder_failed`, `encoder_stalled`, `verify_failed`, or the savings skip's).
    #[serde(default)]
    pub hardware_fallback: Option<crate::model::Explanation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    #[serde(with = "path_bytes")]
    pub input_path: PathBuf,
    #[serde(with = "path_bytes::option", default)]
    pub output_path: Option<PathBuf>,
    /// The temp file an active attempt writes; removed on recovery.
    #[serde(with = "path_bytes::option", default)]
    pub temp_path: Option<PathBuf>,
    /// Device and inode of that temp file as the run made it: recovery removes that very file
    /// and nothing else its path may name by then. Absent in records from before it was kept.
    #[serde(default)]
    pub temp_file: Option<(u64, u64)>,
    pub status: JobState,
    pub priority: i32,
    pub progress: f64,
    pub attempt_count: u32,
    pub created_at: i64,
    pub updated_at: i64,
    pub archived: bool,
    pub input_size: u64,
    pub input_mtime_ns: i64,
    pub input_inode: u64,
    /// Device of the input when it was recorded (0: unknown, records from before it was kept).
    /// With the inode, what a run checks the file it opens against.
    #[serde(default)]
    pub input_dev: u64,
    pub output_size: Option<u64>,
    pub folder_id: Option<u64>,
    pub decision_action: Option<String>,
    pub decision: Option<Explanation>,
    pub failure: Option<Explanation>,
    /// Normalized probe result (`media::MediaInfo` as JSON; the store does not interpret it).
    pub metadata: Option<serde_json::Value>,
    pub encode_stats: Option<EncodeStats>,
    #[serde(default)]
    pub next_log_seq: u64,
    /// When a failed job is tried again by itself (ms); only set while it is failed. Indexed
    /// in `RETRY_SCHEDULE`. Absent in records written before automatic retries existed.
    #[serde(default)]
    pub retry_at: Option<i64>,
    /// Automatic retries made since the job was last queued by a user or a scan.
    #[serde(default)]
    pub auto_retries: u32,
    /// The encoding profile the last run planned with. Absent before a run decided, and in
    /// records written before it was kept.
    #[serde(default)]
    pub profile: Option<String>,
}
impl Versioned for Job {}

impl Job {
    /// A new queued job for `input_path`, created at `now` (ms), with nothing known about it
    /// yet: the one place that spells out a fresh job's fields.
    pub fn queued(id: JobId, input_path: PathBuf, now: i64) -> Job {
        Job {
            id,
            input_path,
            output_path: None,
            temp_path: None,
            temp_file: None,
            status: JobState::Queued,
            priority: 0,
            progress: 0.0,
            attempt_count: 0,
            created_at: now,
            updated_at: now,
            archived: false,
            input_size: 0,
            input_mtime_ns: 0,
            input_inode: 0,
            input_dev: 0,
            output_size: None,
            folder_id: None,
            decision_action: None,
            decision: None,
            failure: None,
            metadata: None,
            encode_stats: None,
            next_log_seq: 0,
            retry_at: None,
            auto_retries: 0,
            profile: None,
        }
    }

    /// The run that wrote a temp file is over: forget it.
    pub fn clear_temp(&mut self) {
        self.temp_path = None;
        self.temp_file = None;
    }

    /// Whether the job waits for an automatic retry (and so belongs in `RETRY_SCHEDULE`).
    pub fn retry_due_at(&self) -> Option<i64> {
        self.retry_at
            .filter(|_| self.status == JobState::Failed && !self.archived)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogLine {
    /// RFC 3339 UTC.
    pub at: String,
    pub level: LogLevel,
    pub message: String,
}
impl Versioned for LogLine {}

/// One run of the pipeline over a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    pub number: u32,
    pub started_at: String,
    pub finished_at: String,
    pub outcome: AttemptOutcome,
    pub failure_code: Option<String>,
    pub encoder: Option<String>,
    pub input_size_bytes: u64,
    pub output_size_bytes: Option<u64>,
    pub wall_seconds: f64,
}
impl Versioned for Attempt {}

/// A completed encode, the source of savings statistics. Never removed by archiving.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodeResult {
    pub job_id: JobId,
    #[serde(with = "path_bytes")]
    pub input_path: PathBuf,
    #[serde(with = "path_bytes::option", default)]
    pub folder: Option<PathBuf>,
    pub codec: String,
    pub input_size: u64,
    pub output_size: u64,
    pub encode_seconds: f64,
    pub completed_at: i64,
    /// What was done with the original once the output was in place (a replacement that
    /// failed counts as `keep`). Absent in records written before it was kept: then a trash
    /// entry for the job means `replace`, none means `keep`.
    #[serde(default)]
    pub original: Option<OriginalPolicy>,
}
impl Versioned for EncodeResult {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DailyBucket {
    pub jobs_completed: u64,
    pub jobs_failed: u64,
    pub bytes_saved: i64,
    pub encode_seconds: f64,
}
impl Versioned for DailyBucket {}

/// Running sums over all encode results (kept in the same transaction as each result).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub encode_seconds: f64,
}
impl Versioned for Totals {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibraryFolder {
    pub id: u64,
    #[serde(with = "path_bytes")]
    pub path: PathBuf,
    pub recursive: bool,
    pub created_at: i64,
    /// Name of the encoding profile for this folder's files; `None` uses `default` (the
    /// configuration). Absent in records written before profiles existed.
    #[serde(default)]
    pub profile: Option<String>,
    /// Queue new and changed files as they appear (inotify, or a periodic walk where events
    /// cannot be had). Absent in records written before watching existed: on.
    #[serde(default = "default_watch")]
    pub watch: bool,
    /// Walk the folder this often as a safety net (0 = never). Absent in older records:
    /// [`DEFAULT_RESCAN_MINUTES`].
    #[serde(default = "default_rescan")]
    pub rescan_interval_minutes: u32,
}
impl Versioned for LibraryFolder {}

/// Rescan interval of a folder that does not say: six hours.
pub const DEFAULT_RESCAN_MINUTES: u32 = 360;

fn default_watch() -> bool {
    true
}

fn default_rescan() -> u32 {
    DEFAULT_RESCAN_MINUTES
}

/// A custom encoding profile. The store does not interpret `profile` (it is a
/// `media::profile::Profile` as JSON, like `Job::metadata`): the engine decodes and validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredProfile {
    pub name: String,
    pub profile: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
}
impl Versioned for StoredProfile {}

/// A probe result valid while the file's size, mtime and inode are unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeCacheEntry {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
    pub info: serde_json::Value,
}
impl Versioned for ProbeCacheEntry {}

/// The engine's persisted state: survives restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    pub run_state: EngineRunState,
    pub mode: EngineMode,
    pub concurrent_jobs_override: u32,
    pub threads_override: u32,
    /// The pause or drain is the schedule's (a window opening ends it); absent from records
    /// written before schedules existed, hence the default.
    #[serde(default)]
    pub held_by_schedule: bool,
    /// The pause is the viewer watch's (playback ending ends it); absent from older records.
    #[serde(default)]
    pub held_by_viewers: bool,
}
impl Versioned for EngineState {}

impl Default for EngineState {
    fn default() -> Self {
        EngineState {
            run_state: EngineRunState::Running,
            mode: EngineMode::Balanced,
            concurrent_jobs_override: 0,
            threads_override: 0,
            held_by_schedule: false,
            held_by_viewers: false,
        }
    }
}

/// Where a replacement of an original stands. Each step is recorded before it is done, so boot
/// recovery can finish or undo it (see `engine::replace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrashState {
    /// The original is about to move to the trash (it may still be in place).
    Moving,
    /// The original is in the trash; the output has its final name.
    Trashed,
    /// A restore is under way.
    Restoring,
    /// The original is back; the output sits beside it again.
    Restored,
    /// Purged or deleted (policy `delete`): the original is gone for good.
    Purged,
}

/// One replaced original.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrashEntry {
    pub job_id: u64,
    /// Where the original lived.
    #[serde(with = "path_bytes")]
    pub original_path: PathBuf,
    /// Where it is kept: `<dir>/.alchemist-trash/<job id>/<name>`.
    #[serde(with = "path_bytes")]
    pub trash_path: PathBuf,
    /// The verified output as promoted (`<stem>.alchemist.<ext>`).
    #[serde(with = "path_bytes")]
    pub output_path: PathBuf,
    /// The name the output takes (`<stem>.<ext>`), when it is free.
    #[serde(with = "path_bytes")]
    pub final_path: PathBuf,
    /// Inodes of the original and the output when the replacement began: a step only moves a
    /// file that is still the one it was planned for.
    pub original_inode: u64,
    pub output_inode: u64,
    /// The job's attempt that made this replacement: recovery only undoes a replacement whose
    /// own run was interrupted, never one a later run of the same job happens to be near.
    #[serde(default)]
    pub attempt: u32,
    pub state: TrashState,
    pub created_at: i64,
    pub updated_at: i64,
    /// A restore that also removed the encoded output (the owner undid the encode). Absent in
    /// records written before restores could do that.
    #[serde(default)]
    pub output_removed: bool,
}
impl Versioned for TrashEntry {}

/// Where a segmented encode keeps its finished pieces (`store::segments`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentsEntry {
    pub job_id: u64,
    #[serde(with = "path_bytes")]
    pub dir: PathBuf,
    pub created_at: i64,
}
impl Versioned for SegmentsEntry {}
