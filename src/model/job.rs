//! A job's identity and life: its id, its states and the pure state machine between them, how
//! one run of it ended, and the levels of its log lines.

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

/// How one run of a job ended, as its attempt record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Completed,
    Skipped,
    Failed,
    Cancelled,
    /// The server stopped while it ran (shutdown or crash); the job was queued again.
    Interrupted,
}

/// Severity of a job log line or a `log` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Warning,
    Error,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
