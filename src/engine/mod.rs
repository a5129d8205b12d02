//! The engine: owns running jobs and is reached through one cloneable handle. It dispatches
//! queued jobs in priority order up to the mode's concurrency, runs each through the media
//! pipeline, suspends and resumes ffmpeg on pause/resume, cancels, drains, scans library
//! folders, resolves each job's encoding profile from its folder, probes queued files ahead
//! of dispatch, retries jobs that failed for a passing reason, and recovers jobs interrupted
//! by a crash or shutdown.

mod active;
mod analyse;
mod backend;
mod dispatch;
mod encode;
mod faults;
mod finish;
mod jobs;
mod pipeline;
mod probe_cache;
mod profiles;
pub mod replace;
mod retrier;
pub mod retry;
mod scan;
pub mod state;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::TranscodeSettings;
use crate::events::{Event, EventBus};
use crate::hw::Capabilities;
use crate::model::{EngineMode, EngineRunState, EngineStatus, JobId};
use crate::store::{EngineState, Store, StoreError};

use active::{ActiveJobs, StopReason};
pub use jobs::{BatchAction, EnqueueError};
pub use profiles::{ProfileEntry, ProfileError, planner_capabilities};
pub use scan::{FolderError, ScanStatus};
use state::EngineCommand;

/// Errors of engine operations, mapped to HTTP by `web`.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("job {0} not found")]
    JobNotFound(JobId),
    #[error("job {id} is {status} and cannot be changed now")]
    JobActive {
        id: JobId,
        status: crate::model::JobState,
    },
    #[error("{} job(s) cannot take this action", .0.len())]
    Blocked(Vec<(JobId, Option<crate::model::JobState>)>),
    #[error("{0}")]
    Invalid(String),
}

struct Core {
    state: EngineState,
    active: ActiveJobs,
    paused_reason: Option<String>,
}

struct Inner {
    store: Store,
    events: EventBus,
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
    cores: u32,
    settings: RwLock<TranscodeSettings>,
    caps: RwLock<Option<Capabilities>>,
    /// `backend::hardware_sessions` of `caps`, kept beside it: status and dispatch read it
    /// often, and the capabilities (with their probe log) are large to clone.
    hw_sessions: std::sync::atomic::AtomicU32,
    core: Mutex<Core>,
    wake: Notify,
    /// Wait before the first automatic retry (see `retry`).
    retry_base: std::time::Duration,
    /// Wakes the retrier when a retry is scheduled.
    retry_wake: Notify,
    /// Wakes the analyser when jobs were queued.
    analyse_wake: Notify,
    /// Lowest job id the analyser has not looked at since it was queued (`u64::MAX`: none).
    analyse_from: AtomicU64,
    /// Held from changing the engine state until it is persisted, so concurrent changes
    /// (a pause racing the end of a drain) reach the store in the order they were made.
    control: tokio::sync::Mutex<()>,
    /// Held across a job state change in the store and the publication of its `status`
    /// event, so subscribers see changes in commit order: a job queued by a scan cannot be
    /// announced as `analyzing` by the dispatcher before it was announced as `queued`.
    job_order: tokio::sync::Mutex<()>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    scanning: AtomicBool,
    scan_seen: AtomicU64,
    scan_queued: AtomicU64,
    /// Last board sensor reading (`crate::board::thermal`), shown with the temperatures.
    board_temperature: Mutex<Option<(&'static str, f64)>>,
}

/// Handle to the engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// What the engine needs to start.
pub struct EngineConfig {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub transcode: TranscodeSettings,
    /// Wait before the first automatic retry; `None` = `retry::DEFAULT_BASE_DELAY`.
    pub retry_base: Option<std::time::Duration>,
}

impl Engine {
    /// Recover interrupted jobs, load the persisted state and start the dispatcher.
    pub async fn start(
        store: Store,
        events: EventBus,
        config: EngineConfig,
        shutdown: CancellationToken,
    ) -> Result<Engine, EngineError> {
        let state = store.call(|s| s.engine_state()).await?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        let engine = Engine {
            inner: Arc::new(Inner {
                store,
                events,
                ffmpeg: config.ffmpeg,
                ffprobe: config.ffprobe,
                cores,
                settings: RwLock::new(config.transcode),
                caps: RwLock::new(None),
                hw_sessions: std::sync::atomic::AtomicU32::new(0),
                core: Mutex::new(Core {
                    paused_reason: (state.run_state != EngineRunState::Running)
                        .then(|| "paused before the last shutdown".to_string()),
                    state,
                    active: ActiveJobs::default(),
                }),
                wake: Notify::new(),
                retry_base: config.retry_base.unwrap_or(retry::DEFAULT_BASE_DELAY),
                retry_wake: Notify::new(),
                analyse_wake: Notify::new(),
                // Everything queued at start (left by the last run, or recovered) is looked at.
                analyse_from: AtomicU64::new(0),
                control: tokio::sync::Mutex::new(()),
                job_order: tokio::sync::Mutex::new(()),
                shutdown,
                tasks: TaskTracker::new(),
                scanning: AtomicBool::new(false),
                scan_seen: AtomicU64::new(0),
                scan_queued: AtomicU64::new(0),
                board_temperature: Mutex::new(None),
            }),
        };
        engine.recover_replacements().await?;
        engine.recover().await?;
        // Tracked, so `shutdown` returns only after the dispatcher let go of the engine.
        let dispatcher = engine.clone();
        engine
            .inner
            .tasks
            .spawn(async move { dispatcher.dispatch_loop().await });
        engine.spawn_purger();
        engine.spawn_retrier();
        engine.spawn_analyser();
        // Detection runs test encodes for seconds, unless the store holds a result for the
        // same ffmpeg and devices (`hw::detect_cached`). It holds only a weak reference to the
        // engine and is tracked, so shutdown cancels it and waits: a stopped engine keeps
        // neither itself nor the store (and its file lock) alive, and a server restarted in
        // the same process can open its data dir.
        let weak = Arc::downgrade(&engine.inner);
        let (ffmpeg, stop) = (engine.inner.ffmpeg.clone(), engine.inner.shutdown.clone());
        let store = engine.inner.store.clone();
        engine.inner.tasks.spawn(async move {
            let caps = tokio::select! {
                caps = crate::hw::detect_cached(&ffmpeg, &store) => caps,
                // Dropping the detection kills its ffmpeg (kill_on_drop in `process::output`).
                _ = stop.cancelled() => return,
            };
            if let Some(inner) = weak.upgrade() {
                inner.hw_sessions.store(
                    backend::hardware_sessions(&caps),
                    std::sync::atomic::Ordering::Relaxed,
                );
                *inner.caps.write().unwrap_or_else(|p| p.into_inner()) = Some(caps);
            }
        });
        Ok(engine)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// Hardware/encoder capabilities, once detected.
    pub fn capabilities(&self) -> Option<Capabilities> {
        self.inner
            .caps
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn transcode_settings(&self) -> TranscodeSettings {
        self.inner
            .settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replace the encode settings (config reload); applies to jobs that start afterwards.
    pub fn set_transcode_settings(&self, settings: TranscodeSettings) {
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = settings;
    }

    /// See `Inner::job_order`.
    async fn job_order(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.job_order.lock().await
    }

    fn core(&self) -> std::sync::MutexGuard<'_, Core> {
        self.inner.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Live progress of an active job (the store holds it only at state changes).
    pub fn live_progress(&self, id: JobId) -> Option<f64> {
        self.core().active.get(id).map(|a| a.progress)
    }

    /// Pid of the ffmpeg process of an active job.
    pub fn job_pid(&self, id: JobId) -> Option<u32> {
        self.core().active.get(id).and_then(|a| a.pid)
    }

    /// Verified hardware encoders that can run jobs beside the CPU ones.
    fn hw_sessions(&self) -> u32 {
        self.inner
            .hw_sessions
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn status(&self) -> EngineStatus {
        let counts = self.inner.store.status_counts();
        let hw_sessions = self.hw_sessions();
        let core = self.core();
        let s = &core.state;
        EngineStatus {
            status: s.run_state,
            mode: s.mode,
            concurrent_limit: state::concurrent_limit(
                s.mode,
                self.inner.cores,
                hw_sessions,
                s.concurrent_jobs_override,
            ),
            threads: s.threads_override,
            is_manual_override: s.concurrent_jobs_override > 0 || s.threads_override > 0,
            active_jobs: core.active.len() as u64,
            queued_jobs: counts.get(crate::model::JobState::Queued),
            paused_reason: match s.run_state {
                EngineRunState::Running => None,
                _ => core.paused_reason.clone(),
            },
        }
    }

    /// Apply a run-state command, persist it, signal ffmpeg processes and publish the status.
    pub async fn command(&self, command: EngineCommand) -> Result<EngineStatus, EngineError> {
        self.command_with_reason(command, None).await
    }

    /// `command`, with the pause reason given by the caller (the thermal guard) instead of
    /// "paused by the user".
    pub async fn command_with_reason(
        &self,
        command: EngineCommand,
        reason: Option<String>,
    ) -> Result<EngineStatus, EngineError> {
        let _control = self.inner.control.lock().await;
        let (state, pids) = {
            let mut core = self.core();
            let before = core.state.run_state;
            core.state.run_state = state::transition(before, command);
            core.paused_reason = match (command, core.state.run_state) {
                (EngineCommand::Pause, _) => {
                    Some(reason.unwrap_or_else(|| "paused by the user".into()))
                }
                (EngineCommand::Drain, EngineRunState::Draining) => {
                    Some("draining: active jobs finish, nothing new starts".into())
                }
                (EngineCommand::DrainFinished, _) => Some("drain finished".into()),
                (_, EngineRunState::Running) => None,
                (_, _) => core.paused_reason.clone(),
            };
            let pids = core.active.pids();
            (core.state.clone(), pids)
        };
        for pid in pids {
            // Suspended on pause, continued on anything that runs again (resume, drain).
            let result = if state.run_state == EngineRunState::Paused {
                crate::process::suspend(pid)
            } else {
                crate::process::resume(pid)
            };
            if let Err(e) = result {
                tracing::warn!(pid, error = %e, "could not signal ffmpeg");
            }
        }
        self.persist_and_publish(state).await
    }

    /// Change mode and overrides (0 = no override).
    pub async fn set_mode(
        &self,
        mode: EngineMode,
        concurrent_jobs_override: u32,
        threads_override: u32,
    ) -> Result<EngineStatus, EngineError> {
        let _control = self.inner.control.lock().await;
        let state = {
            let mut core = self.core();
            core.state.mode = mode;
            core.state.concurrent_jobs_override = concurrent_jobs_override;
            core.state.threads_override = threads_override;
            core.state.clone()
        };
        self.persist_and_publish(state).await
    }

    async fn persist_and_publish(&self, state: EngineState) -> Result<EngineStatus, EngineError> {
        self.inner
            .store
            .call(move |s| s.set_engine_state(&state))
            .await?;
        let status = self.status();
        self.inner.events.publish(Event::Engine(status.clone()));
        self.inner.wake.notify_one();
        Ok(status)
    }

    /// Run a background task tracked like the engine's own: at shutdown `stop` is cancelled
    /// and the engine waits for the task to end.
    pub fn spawn_tracked<F, Fut>(&self, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let stop = self.inner.shutdown.clone();
        self.inner.tasks.spawn(task(stop));
    }

    /// Record (or clear) the board temperature sensor's last reading.
    pub fn set_board_temperature(&self, reading: Option<(&'static str, f64)>) {
        *self
            .inner
            .board_temperature
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = reading;
    }

    /// The board temperature sensor's last reading, if it has one.
    pub fn board_temperature(&self) -> Option<(&'static str, f64)> {
        *self
            .inner
            .board_temperature
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Stop all work for shutdown: active jobs are killed and go back to the queue.
    pub async fn shutdown(&self) {
        // First the flag, then the jobs: a job the dispatcher claims meanwhile is either in
        // `active` below or sees the flag when it is entered there (see `dispatch_ready`).
        self.inner.shutdown.cancel();
        self.core().active.stop_all();
        self.inner.tasks.close();
        if tokio::time::timeout(std::time::Duration::from_secs(15), self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("some jobs did not stop within 15 s of shutdown");
        }
    }
}
