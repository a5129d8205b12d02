//! The engine's run state (running, paused, draining), its mode and overrides, and why it is
//! paused. Owned by [`Control`]: every change is persisted, applied to the running ffmpeg
//! processes (SIGSTOP on pause, SIGCONT on anything that runs again) and published as an
//! `engine` event, in the order the changes were made. The pure transitions and limits are in
//! `state`. The schedule holds and releases the engine through its own two calls, and the
//! state remembers that the hold is the schedule's, so a window opening never resumes an
//! owner's pause (who wins is set out in `schedule`).

use std::sync::{Arc, Mutex, MutexGuard};

use super::EngineError;
use super::dispatch::Slots;
use super::hardware::Hardware;
use super::schedule::{OutsideWindow, Schedule};
use super::state::{self, EngineCommand};
use crate::events::{Event, EventBus};
use crate::model::{EngineMode, EngineRunState, EngineStatus, JobState};
use crate::store::{EngineState, Store};

/// Handle to the run state. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Control {
    inner: Arc<Inner>,
}

struct Inner {
    current: Mutex<Current>,
    /// Held from a change until it is persisted and published, so concurrent changes (a pause
    /// racing the end of a drain) reach the store and subscribers in the order they were made.
    serial: tokio::sync::Mutex<()>,
    store: Store,
    events: EventBus,
    slots: Slots,
    hardware: Hardware,
    schedule: Schedule,
    cores: u32,
}

struct Current {
    state: EngineState,
    paused_reason: Option<String>,
}

impl Control {
    /// The state persisted by the last run.
    pub async fn load(
        store: Store,
        events: EventBus,
        slots: Slots,
        hardware: Hardware,
        schedule: Schedule,
        cores: u32,
    ) -> Result<Control, EngineError> {
        let state = store.call(|s| s.engine_state()).await?;
        let paused_reason = match (state.run_state, state.held_by_schedule) {
            (EngineRunState::Running, _) => None,
            (_, true) => Some("outside the schedule window".to_string()),
            (_, false) if state.held_by_viewers => {
                Some("viewers: watching before the last shutdown".to_string())
            }
            (_, false) => Some("paused before the last shutdown".to_string()),
        };
        Ok(Control {
            inner: Arc::new(Inner {
                current: Mutex::new(Current {
                    paused_reason,
                    state,
                }),
                serial: tokio::sync::Mutex::new(()),
                store,
                events,
                slots,
                hardware,
                schedule,
                cores,
            }),
        })
    }

    fn current(&self) -> MutexGuard<'_, Current> {
        self.inner.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn run_state(&self) -> EngineRunState {
        self.current().state.run_state
    }

    pub fn mode(&self) -> EngineMode {
        self.current().state.mode
    }

    /// ffmpeg `-threads` per job chosen by the owner; 0 lets ffmpeg decide.
    pub fn threads(&self) -> u32 {
        self.current().state.threads_override
    }

    /// How many jobs may run at once now.
    pub fn limit(&self) -> u32 {
        let s = &self.current().state;
        self.limit_of(s)
    }

    fn limit_of(&self, s: &EngineState) -> u32 {
        state::concurrent_limit(
            s.mode,
            self.inner.cores,
            self.inner.hardware.sessions(),
            s.concurrent_jobs_override,
        )
    }

    pub fn status(&self) -> EngineStatus {
        let queued = self.inner.store.status_counts().get(JobState::Queued);
        let active = self.inner.slots.len() as u64;
        let current = self.current();
        let s = &current.state;
        EngineStatus {
            status: s.run_state,
            mode: s.mode,
            concurrent_limit: self.limit_of(s),
            threads: s.threads_override,
            is_manual_override: s.concurrent_jobs_override > 0 || s.threads_override > 0,
            active_jobs: active,
            queued_jobs: queued,
            paused_reason: match s.run_state {
                EngineRunState::Running => None,
                _ => current.paused_reason.clone(),
            },
            schedule: self.inner.schedule.status(),
        }
    }

    /// Apply a run-state command; `reason` replaces "paused by the user" (the thermal guard).
    /// Any command but the end of a drain ends the schedule's hold: the owner's word wins.
    pub async fn command(
        &self,
        command: EngineCommand,
        reason: Option<String>,
    ) -> Result<EngineStatus, EngineError> {
        self.change(false, |current| {
            let before = current.state.run_state;
            current.state.run_state = state::transition(before, command);
            let held = current.state.held_by_schedule && command == EngineCommand::DrainFinished;
            current.state.held_by_schedule = held;
            current.state.held_by_viewers = false;
            current.paused_reason = match (command, current.state.run_state) {
                (EngineCommand::Pause, _) => {
                    Some(reason.unwrap_or_else(|| "paused by the user".into()))
                }
                (EngineCommand::Drain, EngineRunState::Draining) => {
                    Some("draining: active jobs finish, nothing new starts".into())
                }
                // The schedule's `finish` drained: its reason stays.
                (EngineCommand::DrainFinished, _) if held => current.paused_reason.clone(),
                (EngineCommand::DrainFinished, _) => Some("drain finished".into()),
                (_, EngineRunState::Running) => None,
                (_, _) => current.paused_reason.clone(),
            };
            true
        })
        .await
    }

    /// A window closed: hold the engine as `outside` says, unless someone else already paused
    /// or drains it (then theirs stands). A hold of the schedule's own is changed to `outside`.
    pub async fn schedule_hold(
        &self,
        outside: OutsideWindow,
        reason: String,
    ) -> Result<EngineStatus, EngineError> {
        self.change(outside == OutsideWindow::Requeue, |current| {
            let s = &mut current.state;
            if s.run_state != EngineRunState::Running && !s.held_by_schedule && !s.held_by_viewers {
                return false;
            }
            // The schedule takes over a viewers' pause, so playback ending does not resume
            // outside a window.
            s.held_by_viewers = false;
            s.held_by_schedule = true;
            s.run_state = match outside {
                OutsideWindow::Finish => EngineRunState::Draining,
                OutsideWindow::Suspend | OutsideWindow::Requeue => EngineRunState::Paused,
            };
            current.paused_reason = Some(reason);
            true
        })
        .await
    }

    /// A guard's own pause ends (the thermal guard cooled down; it checked the pause is its
    /// own). Inside a window, or with no schedule, the engine runs again. Outside a window the
    /// schedule takes the pause over as if the window had just closed: the window's edge passed
    /// while the guard held the engine, and the schedule acts only at edges.
    pub async fn guard_release(
        &self,
        hold: Option<(OutsideWindow, String)>,
    ) -> Result<EngineStatus, EngineError> {
        let requeue = matches!(hold, Some((OutsideWindow::Requeue, _)));
        self.change(requeue, |current| {
            if current.state.run_state != EngineRunState::Paused {
                return false;
            }
            match hold {
                Some((outside, reason)) => {
                    current.state.held_by_schedule = true;
                    current.state.run_state = match outside {
                        OutsideWindow::Finish => EngineRunState::Draining,
                        OutsideWindow::Suspend | OutsideWindow::Requeue => EngineRunState::Paused,
                    };
                    current.paused_reason = Some(reason);
                }
                None => {
                    current.state.run_state = EngineRunState::Running;
                    current.paused_reason = None;
                }
            }
            true
        })
        .await
    }

    /// A window opened: run again if the schedule holds the engine, and only then.
    pub async fn schedule_release(&self) -> Result<EngineStatus, EngineError> {
        self.change(false, |current| {
            if !current.state.held_by_schedule {
                return false;
            }
            current.state.held_by_schedule = false;
            current.state.run_state = EngineRunState::Running;
            current.paused_reason = None;
            true
        })
        .await
    }

    /// Someone watches on a media server: suspend encodes (SIGSTOP), unless someone else
    /// already paused, drains or holds the engine. A hold of the viewers' own gets `reason`.
    pub async fn viewers_hold(&self, reason: String) -> Result<EngineStatus, EngineError> {
        self.change(false, |current| {
            let s = &mut current.state;
            if s.run_state != EngineRunState::Running && !s.held_by_viewers {
                return false;
            }
            if s.held_by_viewers && current.paused_reason.as_deref() == Some(reason.as_str()) {
                return false;
            }
            s.held_by_viewers = true;
            s.run_state = EngineRunState::Paused;
            current.paused_reason = Some(reason);
            true
        })
        .await
    }

    /// Playback ended: run again if the viewers' watch holds the engine, and only then.
    pub async fn viewers_release(&self) -> Result<EngineStatus, EngineError> {
        self.change(false, |current| {
            if !current.state.held_by_viewers {
                return false;
            }
            current.state.held_by_viewers = false;
            current.state.run_state = EngineRunState::Running;
            current.paused_reason = None;
            true
        })
        .await
    }

    /// Publish the status again (the schedule's part of it moved).
    pub fn announce(&self) {
        self.inner.events.publish(Event::Engine(self.status()));
    }

    /// Make one change under the serial lock: `edit` returns whether it changed anything.
    /// Then ffmpeg is suspended while paused and continued otherwise; with `requeue`, the
    /// runs are then stopped to go back to the queue.
    async fn change(
        &self,
        requeue: bool,
        edit: impl FnOnce(&mut Current) -> bool,
    ) -> Result<EngineStatus, EngineError> {
        let _serial = self.inner.serial.lock().await;
        let state = {
            let mut current = self.current();
            if !edit(&mut current) {
                drop(current);
                return Ok(self.status());
            }
            current.state.clone()
        };
        // Suspended on pause, continued on anything that runs again (resume, drain).
        let paused = state.run_state == EngineRunState::Paused;
        for pid in self.inner.slots.set_suspended(paused) {
            let result = if paused {
                crate::process::suspend(pid)
            } else {
                crate::process::resume(pid)
            };
            if let Err(e) = result {
                tracing::warn!(pid, error = %e, "could not signal ffmpeg");
            }
        }
        if requeue {
            // A stopped ffmpeg must run again to notice; SIGKILL works regardless.
            for pid in self.inner.slots.requeue_all() {
                let _ = crate::process::resume(pid);
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
        let _serial = self.inner.serial.lock().await;
        let state = {
            let mut current = self.current();
            current.state.mode = mode;
            current.state.concurrent_jobs_override = concurrent_jobs_override;
            current.state.threads_override = threads_override;
            current.state.clone()
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
        Ok(status)
    }
}
