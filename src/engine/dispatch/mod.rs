//! Dispatch: a worker that claims queued jobs in priority order while the engine runs and has
//! free slots, and starts each claimed job's run in a task of its own (`job::run`). It wakes on
//! the events that can free a slot or add work (`queued`, a run ending, an `engine` change), on
//! its own runs letting go, and on an idle tick. At start, jobs a previous process left active go
//! back to the queue and their temp files are removed, while the finished segments of
//! segmented encodes are kept for jobs that resume and removed for any other ([`recover`]).

mod slots;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

pub(crate) use slots::{Slot, Slots, StopReason};

use super::control::Control;
use super::hardware::Hardware;
use super::job::{self, JobContext};
use super::ledger::Ledger;
use super::worker::{Worker, Workers};
use super::{EngineError, Tools, state::EngineCommand};
use crate::config::LiveSettings;
use crate::events::{Envelope, Event};
use crate::model::count;
use crate::model::{EngineMode, EngineRunState, JobEvent, JobState, LogLevel};
use crate::process::Priority;
use crate::profiles::Profiles;

/// The dispatcher also wakes on this period, so nothing waits forever on a missed wake-up.
const IDLE_TICK: Duration = Duration::from_secs(2);

/// Jobs found active at start go back to `queued`; their partial outputs are removed.
pub(crate) async fn recover(ledger: &Ledger) -> Result<(), EngineError> {
    let recovered = ledger
        .apply(|s| {
            s.transition_where(
                &[JobState::Analyzing, JobState::Encoding, JobState::Remuxing],
                JobEvent::Interrupted,
                |job| job.progress = 0.0,
            )
        })
        .await?;
    for (job, _) in recovered {
        if let Some(temp) = &job.temp_path {
            job::remove_temp(temp, job.temp_file);
        }
        let line = "interrupted by a restart; queued again";
        ledger.log(job.id, LogLevel::Warning, line).await;
    }
    // The segments of queued jobs stay for them to resume; any other folder is an orphan.
    for dir in job::sweep_segments(ledger.store()).await? {
        tracing::warn!(path = ?dir, "removed the segments of a job that will not resume");
    }
    Ok(())
}

/// What every run gets besides its job.
pub(crate) struct RunSettings {
    pub tools: Tools,
    pub profiles: Profiles,
    pub settings: LiveSettings,
    pub retry_base: Duration,
    /// How long a hardware encode may make no progress.
    pub stall_timeout: Duration,
}

pub(crate) struct Dispatcher {
    ledger: Ledger,
    control: Control,
    slots: Slots,
    hardware: Hardware,
    workers: Workers,
    run: Arc<RunSettings>,
    events: broadcast::Receiver<Arc<Envelope>>,
    /// Each run sends here once its slot is free.
    done_tx: mpsc::UnboundedSender<()>,
    done_rx: mpsc::UnboundedReceiver<()>,
    started: u64,
}

impl Dispatcher {
    pub fn new(
        ledger: Ledger,
        control: Control,
        slots: Slots,
        hardware: Hardware,
        workers: Workers,
        run: RunSettings,
    ) -> Dispatcher {
        let events = ledger.events().subscribe(None).rx;
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Dispatcher {
            ledger,
            control,
            slots,
            hardware,
            workers,
            run: Arc::new(run),
            events,
            done_tx,
            done_rx,
            started: 0,
        }
    }

    /// Claim and start jobs while there is room.
    async fn dispatch_ready(&mut self, stop: &CancellationToken) {
        loop {
            if stop.is_cancelled() {
                return;
            }
            let (run_state, limit) = (self.control.run_state(), self.control.limit());
            let active = self.slots.len() as u32;
            if run_state == EngineRunState::Draining && active == 0 {
                if let Err(e) = self
                    .control
                    .command(EngineCommand::DrainFinished, None)
                    .await
                {
                    tracing::error!(error = %e, "could not finish drain");
                }
                return;
            }
            if run_state != EngineRunState::Running || active >= limit {
                return;
            }
            let claimed = match self.ledger.apply(|s| s.claim_next()).await {
                Ok(Some(job)) => job,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(error = %e, "could not claim a job");
                    return;
                }
            };
            // A shutdown that began after the check above, or a cancel that came while the
            // claim was being written, stops the job before it does any work.
            let slot = self.slots.admit(claimed.id, claimed.attempt_count);
            let settings = self.run.settings.get();
            let ctx = JobContext {
                job: claimed,
                slot,
                ledger: self.ledger.clone(),
                tools: self.run.tools.clone(),
                profiles: self.run.profiles.clone(),
                caps: self.hardware.get(),
                hardware: self.hardware.clone(),
                threads: self.control.threads(),
                priority: match self.control.mode() {
                    EngineMode::Background => Priority::Background,
                    _ => Priority::Normal,
                },
                verify: settings.verify,
                retry_base: self.run.retry_base,
                stall_timeout: self.run.stall_timeout,
                segment_seconds: settings.segment_seconds,
                segment_min_seconds: settings.segment_min_seconds,
            };
            let done = self.done_tx.clone();
            self.started += 1;
            self.workers.track(async move {
                job::run(ctx).await;
                let _ = done.send(());
            });
        }
    }
}

/// Events after which there may be a job to start or a slot free.
fn wakes(event: &Event) -> bool {
    match event {
        Event::Status { status, .. } => *status == JobState::Queued,
        Event::Engine(_) => true,
        _ => false,
    }
}

impl Worker for Dispatcher {
    fn name(&self) -> &'static str {
        "dispatcher"
    }

    async fn work(&mut self, stop: &CancellationToken) {
        self.dispatch_ready(stop).await;
    }

    async fn wait(&mut self) {
        let tick = tokio::time::sleep(IDLE_TICK);
        tokio::pin!(tick);
        loop {
            tokio::select! {
                _ = &mut tick => return,
                Some(()) = self.done_rx.recv() => return,
                event = self.events.recv() => match event {
                    Ok(e) if wakes(&e.event) => return,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => {
                        (&mut tick).await;
                        return;
                    }
                },
            }
        }
    }

    fn status(&self) -> String {
        format!(
            "{} of {} busy; {} started",
            self.slots.len(),
            count(self.control.limit(), "slot", "slots"),
            count(self.started, "run", "runs")
        )
    }
}
