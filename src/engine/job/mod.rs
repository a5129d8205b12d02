//! One job's run, as a free function over its [`JobContext`]: stat and open the source → probe
//! (cached) → decide with the profile of the job's folder → encode into a temp file beside the
//! source (hardware first when verified, the CPU after a hardware failure of its own) → check
//! the result's size and the source → verify → fsync + rename to `<stem>.alchemist.<ext>` →
//! keep, replace or delete the original. A long encode runs in segments that survive a crash or
//! a restart (`segmented`). Each stage returns `Result<_, Stop>` and the run reads
//! top to bottom with `?`; the source is only read until its output is verified. Every way out
//! leaves no partial file behind (an interruption keeps only finished segments, to resume
//! from) and is recorded by `finish`, in one store call.

mod backend;
mod check;
mod encode;
mod ffmpeg;
mod finish;
mod prepare;
pub(super) mod quality;
mod segmented;
mod source;
mod stages;
mod target;

pub(crate) use segmented::{discard_of as discard_segments, sweep as sweep_segments};
pub(crate) use source::open_no_symlinks;
pub(crate) use target::remove_left as remove_temp;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::Tools;
use super::dispatch::{Slot, StopReason};
use super::failure::Failure;
use super::hardware::Hardware;
use super::ledger::Ledger;
use crate::hw::Capabilities;
use crate::model::{Explanation, JobId, LogLevel, VerifyMode, now_ms};
use crate::process::Priority;
use crate::profiles::Profiles;
use crate::store::{EncodeStats, Job, StoreError};

/// Everything one run needs, fixed when the dispatcher claims the job.
pub(crate) struct JobContext {
    pub job: Job,
    pub slot: Slot,
    pub ledger: Ledger,
    pub tools: Tools,
    pub profiles: Profiles,
    /// Detected capabilities when the job was claimed; `None` until detection finished.
    pub caps: Option<Arc<Capabilities>>,
    /// The hardware handle: demotions, and where hardware failures are counted.
    pub hardware: Hardware,
    /// ffmpeg `-threads` chosen by the owner (0: the profile's).
    pub threads: u32,
    pub priority: Priority,
    pub verify: VerifyMode,
    /// Wait before the first automatic retry.
    pub retry_base: Duration,
    /// How long a hardware encode may make no progress before it is killed and done on the
    /// CPU.
    pub stall_timeout: Duration,
    /// Segment length of long encodes (0: one piece) and the shortest source segmented, in
    /// seconds (`[transcode] segment_seconds`, `segment_min_seconds`).
    pub segment_seconds: u32,
    pub segment_min_seconds: u32,
}

/// The stall timeout when the configuration sets none: a hardware encoder that neither
/// advances nor writes for two minutes is hung (a slow first frame takes seconds, and the MP4
/// `faststart` pass writes all along). `ALCHEMIST_STALL_TIMEOUT_MS` changes it.
pub(crate) const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(120);

impl JobContext {
    fn id(&self) -> JobId {
        self.job.id
    }

    async fn log(&self, level: LogLevel, message: impl Into<String>) {
        self.ledger.log(self.id(), level, message).await;
    }

    /// `Err` once the run's token is cancelled: by the user, or by a shutdown or a schedule
    /// window closing (the job then goes back to the queue).
    fn check_stop(&self) -> Result<(), Stop> {
        if !self.slot.cancel_token().is_cancelled() {
            return Ok(());
        }
        Err(match self.slot.stop_reason() {
            Some(StopReason::Shutdown | StopReason::Requeue) => Stop::Interrupted,
            _ => Stop::Cancelled,
        })
    }
}

/// Why a run ended before completing.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Nothing worth doing (the plan, or the output's size).
    Skip(Explanation),
    Fail(Failure),
    Cancelled,
    /// The server is shutting down: the job goes back to the queue.
    Interrupted,
}

impl From<Failure> for Stop {
    fn from(f: Failure) -> Stop {
        Stop::Fail(f)
    }
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Stop {
        Stop::Fail(e.into())
    }
}

/// A completed run.
pub(crate) struct Completed {
    pub output: PathBuf,
    pub output_size: u64,
    /// What was done with the original.
    pub original: crate::model::OriginalPolicy,
    pub stats: EncodeStats,
    pub codec: String,
}

/// What the run did so far, for the attempt record and the clean-up.
struct Progress {
    started_ms: i64,
    started: Instant,
    /// The encoder tried last.
    encoder: Option<String>,
    /// The output's folder and temp file, until it is promoted.
    target: Option<target::Target>,
    /// Where a segmented encode keeps its finished pieces (named when the output is): kept
    /// when the run is interrupted, so the next one resumes; removed however else it ends.
    segments: Option<PathBuf>,
    /// The output's folder as held, once a segmented encode made its folder there: the
    /// clean-up removes the segments there, not through the folder's path.
    segments_outer: Option<std::os::fd::OwnedFd>,
    /// The segment folder itself, made and checked (`segmented::hold_folder`).
    segments_held: Option<std::os::fd::OwnedFd>,
}

/// Run a claimed job to its end state and free its slot. Never panics on bad input: every
/// problem becomes the job's end state. Traced in a span that carries the job id.
pub(crate) async fn run(ctx: JobContext) {
    let span = tracing::info_span!("job", id = %ctx.job.id);
    async move {
        let mut progress = Progress {
            started_ms: now_ms(),
            started: Instant::now(),
            encoder: None,
            target: None,
            segments: None,
            segments_outer: None,
            segments_held: None,
        };
        let end = stages::pipeline(&ctx, &mut progress).await;
        if let Some(target) = progress.target.take()
            && end.is_err()
        {
            tokio::task::spawn_blocking(move || target.remove())
                .await
                .ok();
        }
        if let Some(dir) = &progress.segments
            && !matches!(end, Err(Stop::Interrupted))
        {
            let held = progress
                .segments_outer
                .as_ref()
                .zip(dir.file_name())
                .map(|(outer, name)| target::fd_path(outer).join(name));
            segmented::discard(ctx.ledger.store(), ctx.id(), held.as_deref().unwrap_or(dir)).await;
        }
        if let Err(e) = finish::record(&ctx, end, &progress).await {
            tracing::error!(error = %e, "could not record the end of a job");
        }
        ctx.slot.release();
    }
    .instrument(span)
    .await
}
