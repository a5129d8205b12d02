//! One ffmpeg run of the encode stage, on a blocking thread: it reports its pid (suspended at
//! once when the engine is paused), progress and warnings, and two watches can stop it early.
//! The savings watch compares the temp file's size with the progress, so an encode that
//! clearly misses the minimum saving is stopped (`media::savings`) instead of running to the
//! end. The stall watch (hardware encodes) kills an ffmpeg that makes no progress for the
//! stall timeout: a GPU or driver hang blocks ffmpeg inside the driver and would hold the slot
//! forever. Progress is ffmpeg's output time advancing, or the temp file being written (the
//! MP4 muxer's `faststart` pass rewrites the file after the last frame without any progress
//! line); a paused engine's suspended ffmpeg is not stalled.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use super::JobContext;
use crate::events::Event;
use crate::media::run::{RunError, RunEvent, RunOptions};
use crate::media::savings::{self, Verdict};
use crate::model::{Explanation, LogLevel};

/// Longest pause between two looks of the stall watch.
const STALL_TICK: Duration = Duration::from_secs(1);

/// How a run of ffmpeg that did not fail ended.
pub(super) enum Ran {
    Done,
    /// Stopped early: the output would not have saved enough.
    Abandoned(Explanation),
    /// Killed by the stall watch after `seconds` without progress, at `percent`.
    Stalled {
        seconds: u64,
        percent: f64,
    },
}

/// What the early savings check needs.
pub(super) struct SavingsWatch {
    pub temp: PathBuf,
    pub source_size: u64,
    /// 0 turns the early abort off (remuxes).
    pub min_saving_percent: u8,
    /// Input seconds (0 when unknown: no progress, no early abort).
    pub duration: f64,
    /// A segment of a segmented encode (`segmented`): the source seconds before it and the
    /// whole source's, so the job's progress is the whole encode's, not the segment's. The
    /// join after the segments passes `(total, total)`: 100 % throughout.
    pub span: Option<(f64, f64)>,
}

impl SavingsWatch {
    /// Stat the temp file and project; `Some` when the encode should stop.
    fn check(&self, fraction: f64) -> Option<Explanation> {
        if self.min_saving_percent == 0 || self.duration <= 0.0 {
            return None;
        }
        let written = std::fs::metadata(&self.temp).map(|m| m.len()).ok()?;
        match savings::project(fraction, written, self.source_size, self.min_saving_percent) {
            Verdict::Continue => None,
            Verdict::Abort {
                projected_bytes,
                limit_bytes,
            } => Some(savings::explain(
                fraction,
                written,
                self.source_size,
                projected_bytes,
                limit_bytes,
                self.min_saving_percent,
            )),
        }
    }
}

/// The last sign of life of a run, shared by the stderr reader and the stall watch.
struct Activity {
    at: Instant,
    out_time: f64,
    percent: f64,
    /// Size and modification time of the temp file at the last look.
    file: Option<(u64, SystemTime)>,
}

impl Activity {
    fn progress(&mut self, out_time: f64, percent: f64) {
        if out_time > self.out_time {
            (self.at, self.out_time, self.percent) = (Instant::now(), out_time, percent);
        }
    }

    /// Look at the temp file; written since the last look counts as progress.
    fn file(&mut self, now: Option<(u64, SystemTime)>) {
        if now.is_some() && now != self.file {
            self.at = Instant::now();
        }
        self.file = now;
    }
}

/// Run ffmpeg on a blocking thread, reporting pid, progress and warnings; `stall` turns the
/// stall watch on.
pub(super) async fn run(
    ctx: &JobContext,
    argv: Vec<OsString>,
    watch: SavingsWatch,
    source_fd: std::os::fd::RawFd,
    stall: Option<Duration>,
) -> Result<Ran, RunError> {
    let id = ctx.id();
    let opts = RunOptions {
        ffmpeg: ctx.tools.ffmpeg.clone(),
        priority: ctx.priority,
        duration: watch.duration,
        pass_fd: Some(source_fd),
    };
    let cancel: &CancellationToken = ctx.slot.cancel_token();
    // A child token: stopping for savings or a stall must not look like the user's cancel.
    let stop = cancel.child_token();
    let parent = cancel.clone();
    let activity = Arc::new(Mutex::new(Activity {
        at: Instant::now(),
        out_time: 0.0,
        percent: 0.0,
        file: None,
    }));
    let stalled = Arc::new(AtomicBool::new(false));
    let finished = CancellationToken::new();
    if let Some(limit) = stall {
        tokio::spawn(watch_stall(
            StallWatch {
                limit,
                temp: watch.temp.clone(),
                slot: ctx.slot.clone(),
                activity: Arc::clone(&activity),
                stalled: Arc::clone(&stalled),
            },
            stop.clone(),
            finished.clone(),
        ));
    }
    let (slot, events, store) = (
        ctx.slot.clone(),
        ctx.ledger.events().clone(),
        ctx.ledger.store().clone(),
    );
    let span = tracing::Span::current();
    let seen = Arc::clone(&activity);
    let result = tokio::task::spawn_blocking(move || {
        let _span = span.enter();
        let mut warnings: Vec<(LogLevel, String)> = Vec::new();
        let mut abandoned: Option<Explanation> = None;
        let mut on_event = |event: RunEvent| match event {
            RunEvent::Started { pid } => slot.started(pid),
            RunEvent::Progress(mut p) => {
                if let Some((offset, total)) = watch.span
                    && total > 0.0
                {
                    p.percent = ((offset + p.out_time_seconds) / total * 100.0).clamp(0.0, 100.0);
                }
                slot.progress(p.percent);
                lock(&seen).progress(p.out_time_seconds, p.percent);
                if abandoned.is_none()
                    && let Some(x) = watch.check(p.percent / 100.0)
                {
                    abandoned = Some(x);
                    stop.cancel();
                }
                events.publish(Event::Progress {
                    job_id: id,
                    percent: p.percent,
                    fps: p.fps,
                    speed: p.speed,
                    out_time_seconds: p.out_time_seconds,
                    eta_seconds: p.eta_seconds,
                });
            }
            RunEvent::Log(line) => {
                events.publish(Event::Log {
                    job_id: Some(id),
                    level: LogLevel::Warning,
                    message: line.clone(),
                });
                warnings.push((LogLevel::Warning, line));
            }
        };
        let result = crate::media::run::run_ffmpeg(&opts, argv, &stop, &mut on_event);
        if let Err(e) = store.append_logs(id, &warnings) {
            tracing::warn!(error = %e, "could not store ffmpeg warnings");
        }
        (result, abandoned)
    })
    .await;
    finished.cancel();
    let (result, abandoned) =
        result.map_err(|e| RunError::Spawn(std::io::Error::other(e.to_string())))?;
    let stopped_by_us = !parent.is_cancelled();
    match (result, abandoned) {
        (Err(RunError::Cancelled), _) if stopped_by_us && stalled.load(Ordering::Relaxed) => {
            let a = lock(&activity);
            Ok(Ran::Stalled {
                seconds: stall.unwrap_or_default().as_secs(),
                percent: a.percent,
            })
        }
        (Err(RunError::Cancelled), Some(x)) if stopped_by_us => Ok(Ran::Abandoned(x)),
        (Err(e), _) => Err(e),
        (Ok(_), _) => Ok(Ran::Done),
    }
}

fn lock(a: &Mutex<Activity>) -> std::sync::MutexGuard<'_, Activity> {
    a.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the stall watch looks at.
struct StallWatch {
    limit: Duration,
    temp: PathBuf,
    slot: crate::engine::dispatch::Slot,
    activity: Arc<Mutex<Activity>>,
    stalled: Arc<AtomicBool>,
}

/// Every tick: a suspended run (engine paused) counts as alive; a written temp file is
/// progress; after `limit` without progress, flag the stall and stop ffmpeg (which kills it).
/// Ends with the run.
async fn watch_stall(w: StallWatch, stop: CancellationToken, finished: CancellationToken) {
    let tick = (w.limit / 4).clamp(Duration::from_millis(50), STALL_TICK);
    loop {
        tokio::select! {
            _ = finished.cancelled() => return,
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        let file = std::fs::metadata(&w.temp)
            .ok()
            .map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
        let idle = {
            let mut a = lock(&w.activity);
            a.file(file);
            if w.slot.suspended() {
                a.at = Instant::now();
            }
            a.at.elapsed()
        };
        if idle >= w.limit {
            tracing::warn!(
                seconds = idle.as_secs(),
                "hardware encode stalled; stopping it"
            );
            w.stalled.store(true, Ordering::Relaxed);
            stop.cancel();
            return;
        }
    }
}
