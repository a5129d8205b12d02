//! The engine: a small set of handles, each owning its state, and the workers that run on their
//! own. Handles: [`Jobs`] (what the owner does to jobs, and their views), [`Control`] (run
//! state and mode), [`Scanner`], [`Folders`], [`Profiles`], [`Hardware`] (detected
//! capabilities), the live `[transcode]` settings, and [`Workers`] (runs and stops every worker
//! and job run, and reports their status). Workers, one shape each (`worker`): the dispatcher
//! (claims queued jobs into free slots and starts their runs), the scanner, the analyser
//! (probes ahead of dispatch), the retrier, the trash purger, the hardware detector and the
//! folder watcher (`watch`). They
//! talk through the store, the event bus (the ledger publishes every job state change, and the
//! workers wake on those events) and the handles they were given; a job's run is a free
//! function over its context (`job`).

mod analyser;
mod backups;
mod control;
mod dispatch;
mod failure;
pub use failure::code_in_words;
mod folders;
pub mod forecast;
mod hardware;
pub mod integrations;
mod job;
mod jobs;
mod ledger;
pub mod notify;
pub mod originals;
mod probes;
pub mod queue;
mod retrier;
mod scanner;
pub mod schedule;
pub mod state;
mod watch;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{LiveSettings, TranscodeSettings, WatchSettings};
use crate::events::EventBus;
use crate::hw::Capabilities;
use crate::model::{EngineMode, EngineStatus, JobId};
use crate::profiles::Profiles;
use crate::store::{Store, StoreError};

pub(crate) use control::Control;
pub(crate) use dispatch::Slots;
pub(crate) use folders::Folders;
pub use folders::{FolderError, FolderView, MAX_RESCAN_MINUTES};
pub(crate) use hardware::Hardware;
pub(crate) use integrations::Integrations;
pub(crate) use jobs::Jobs;
pub use jobs::{BatchAction, EnqueueError, JobDetails, JobView};
pub use scanner::ScanStatus;
pub(crate) use scanner::Scanner;
pub(crate) use schedule::Schedule;
pub use state::EngineCommand;
pub use worker::WorkerStatus;
pub(crate) use worker::{Worker, Workers};

/// How long shutdown waits for runs and workers to stop.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(15);

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

/// The programs every run uses.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// Where quality samples are cut and encoded (`<data>/samples`: never the library).
    pub samples: PathBuf,
}

/// What the engine needs to start.
pub struct EngineConfig {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub transcode: TranscodeSettings,
    /// Wait before the first automatic retry; `None` = `policy::DEFAULT_BASE_DELAY`.
    pub retry_base: Option<Duration>,
    /// How long a hardware encode may make no progress before it is killed and done on the
    /// CPU; `None` = `job::DEFAULT_STALL_TIMEOUT`.
    pub stall_timeout: Option<Duration>,
    /// `[security] library_roots`: where library folders may be (`None`: not in system
    /// locations).
    pub library_roots: Option<Vec<PathBuf>>,
    /// The server's data directory, never a library folder.
    pub data_dir: PathBuf,
    /// `[watch]`: how library folders are watched for new files.
    pub watch: WatchSettings,
    /// `[notifications]`: when a library filesystem is low on space.
    pub low_space: crate::config::LowSpaceSettings,
    /// The config file, which goes into automatic backups.
    pub config_file: Option<PathBuf>,
    /// `[backup]`: automatic backups.
    pub backup: crate::config::BackupSettings,
    /// When set, the workers take their first step once it is cancelled (the server cancels
    /// it when it listens); `None`: at once.
    pub start_gate: Option<CancellationToken>,
}

/// Handle to the engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) jobs: Jobs,
    pub(crate) control: Control,
    pub(crate) scanner: Scanner,
    pub(crate) folders: Folders,
    pub(crate) profiles: Profiles,
    pub(crate) hardware: Hardware,
    pub(crate) settings: LiveSettings,
    pub(crate) schedule: Schedule,
    pub(crate) notifications: notify::Notifications,
    pub(crate) workers: Workers,
    pub(crate) queue: queue::Queue,
    /// Media servers and *arr links, and the notifier's queue.
    pub(crate) integrations: Integrations,
    slots: Slots,
    ledger: ledger::Ledger,
    /// Folder forecasts on samples, one at a time.
    pub(crate) forecast: forecast::Forecaster,
}

impl Engine {
    /// Undo interrupted replacements, re-queue interrupted jobs, load the persisted state and
    /// start the workers. `shutdown` stops them (see [`Engine::shutdown`]).
    pub async fn start(
        store: Store,
        events: EventBus,
        config: EngineConfig,
        shutdown: CancellationToken,
    ) -> Result<Engine, EngineError> {
        let settings = LiveSettings::new(config.transcode);
        let ledger = ledger::Ledger::new(store.clone(), events.clone());
        originals::recover_at_start(&store, settings.get().trash_days).await?;
        dispatch::recover(&ledger).await?;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        let (slots, hardware) = (Slots::default(), Hardware::default());
        let schedule = Schedule::load(store.clone()).await?;
        let control = Control::load(
            store.clone(),
            events.clone(),
            slots.clone(),
            hardware.clone(),
            schedule.clone(),
            cores,
        )
        .await?;
        let library_policy = folders::LibraryPolicy {
            roots: config.library_roots.clone(),
            data_dir: config.data_dir.clone(),
        };
        let output_policy = library_policy.clone();
        let profiles = Profiles::new(store.clone(), settings.clone()).with_output_policy(
            std::sync::Arc::new(move |root: &std::path::Path| output_policy.refuses(root)),
        );
        let forecast_stop = shutdown.clone();
        let workers = match config.start_gate {
            Some(go) => Workers::held(shutdown, go),
            None => Workers::new(shutdown),
        };
        let tools = Tools {
            ffmpeg: config.ffmpeg,
            ffprobe: config.ffprobe,
            samples: config.data_dir.join("samples"),
        };
        let forecast = forecast::Forecaster::new(
            tools.clone(),
            store.clone(),
            profiles.clone(),
            forecast_stop,
        );
        let (scanner, scan_worker) = scanner::scanner(ledger.clone());
        workers.spawn(hardware::Detector {
            ffmpeg: tools.ffmpeg.clone(),
            store: store.clone(),
            hardware: hardware.clone(),
            done: false,
        });
        workers.spawn(dispatch::Dispatcher::new(
            ledger.clone(),
            control.clone(),
            slots.clone(),
            hardware.clone(),
            workers.clone(),
            dispatch::RunSettings {
                tools: tools.clone(),
                profiles: profiles.clone(),
                settings: settings.clone(),
                retry_base: config
                    .retry_base
                    .unwrap_or(retrier::policy::DEFAULT_BASE_DELAY),
                stall_timeout: config.stall_timeout.unwrap_or(job::DEFAULT_STALL_TIMEOUT),
            },
        ));
        workers.spawn(scan_worker);
        workers.spawn(analyser::Analyser::new(
            ledger.clone(),
            tools.ffprobe.clone(),
            cores,
            profiles.clone(),
        ));
        workers.spawn(retrier::Retrier::new(ledger.clone()));
        let (watch, watcher) = watch::watcher(ledger.clone(), config.watch);
        workers.spawn(watcher);
        workers.spawn(originals::Purger {
            store: store.clone(),
            settings: settings.clone(),
            purged: 0,
            first: true,
        });
        workers.spawn(backups::AutoBackup::new(
            store.clone(),
            config.data_dir.clone(),
            config.config_file,
            config.backup,
        ));
        workers.spawn(schedule::Scheduler::new(
            schedule.clone(),
            control.clone(),
            &events,
        ));
        let (notifications, notify_input) = notify::Notifications::load(store.clone()).await?;
        workers.spawn(notify::Notifier::new(
            notifications.clone(),
            notify_input,
            &events,
        ));
        workers.spawn(notify::SpaceWatch::new(
            notifications.clone(),
            config.low_space,
            &events,
        ));
        let (integrations, notifier) = Integrations::load(store.clone(), &events).await?;
        workers.spawn(notifier);
        workers.spawn(integrations::Viewers::new(
            integrations.clone(),
            control.clone(),
        ));
        Ok(Engine {
            jobs: Jobs::new(ledger.clone(), slots.clone()),
            control,
            scanner,
            folders: Folders::new(store, library_policy, watch),
            profiles,
            hardware,
            settings,
            schedule,
            notifications,
            workers,
            integrations,
            slots,
            queue: queue::Queue::new(ledger.store().clone()),
            ledger,
            forecast,
        })
    }

    pub fn events(&self) -> &EventBus {
        self.ledger.events()
    }

    /// Hardware/encoder capabilities, once detected.
    pub fn capabilities(&self) -> Option<Arc<Capabilities>> {
        self.hardware.get()
    }

    /// The hardware as the API and the hardware page show it, demotions included.
    pub fn hardware_view(&self) -> crate::hw::HardwareView {
        crate::hw::view(
            self.hardware.get().as_deref(),
            &self.hardware.demoted(),
            self.hardware.probing(),
        )
    }

    /// Probe the hardware again, in the background: the stored result is not reused and the
    /// demotions end with the new result.
    pub fn probe_hardware(&self) {
        self.hardware.request_probe();
    }

    pub fn status(&self) -> EngineStatus {
        self.control.status()
    }

    /// Apply a run-state command as the owner (the pause reason is "paused by the user").
    pub async fn command(&self, command: EngineCommand) -> Result<EngineStatus, EngineError> {
        self.control.command(command, None).await
    }

    /// `command`, with the pause reason given by the caller (the thermal guard).
    pub async fn command_with_reason(
        &self,
        command: EngineCommand,
        reason: Option<String>,
    ) -> Result<EngineStatus, EngineError> {
        self.control.command(command, reason).await
    }

    /// The thermal guard's own pause ends: run again, or let the schedule hold the engine when
    /// it is outside a window (`Control::guard_release`).
    pub async fn guard_release(&self) -> Result<EngineStatus, EngineError> {
        self.control.guard_release(self.schedule.hold_now()).await
    }

    /// Change mode and overrides (0 = no override).
    pub async fn set_mode(
        &self,
        mode: EngineMode,
        concurrent_jobs_override: u32,
        threads_override: u32,
    ) -> Result<EngineStatus, EngineError> {
        self.control
            .set_mode(mode, concurrent_jobs_override, threads_override)
            .await
    }

    /// Every worker's status, for the system page.
    pub fn worker_statuses(&self) -> Vec<WorkerStatus> {
        self.workers.statuses()
    }

    /// Stop all work for shutdown: active jobs are killed and go back to the queue.
    pub async fn shutdown(&self) {
        // First the flag (the dispatcher claims nothing more), then the runs (a run claimed
        // meanwhile is stopped as it is admitted).
        self.workers.stop_token().cancel();
        self.slots.stop_all();
        if !self.workers.shutdown(SHUTDOWN_WAIT).await {
            tracing::warn!("some jobs did not stop within 15 s of shutdown");
        }
    }
}
