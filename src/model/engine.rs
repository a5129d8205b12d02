//! The engine's run state and mode as the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    /// The owner's schedule windows.
    pub schedule: ScheduleStatus,
}

/// Where the schedule stands (`engine::schedule`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleStatus {
    /// Off: jobs start at any time (and `in_window` is always true).
    pub enabled: bool,
    /// Jobs may start now as far as the schedule is concerned.
    pub in_window: bool,
    /// RFC 3339 UTC instant `in_window` next changes; null when it never does.
    pub next_change: Option<String>,
}
