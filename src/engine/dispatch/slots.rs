//! The slots: the runs the dispatcher started and that have not let go yet, and whether they
//! are suspended. A run is a job plus its attempt number (the job's `attempt_count` when it was
//! claimed), because the same job can end and be claimed again while the task of the first run
//! is still letting go: that task must not remove the new run's entry, and a cancel meant for
//! one run must not hit the other. A cancel that arrives between a run's claim in the store and
//! its entry here is kept until the entry is made. `ActiveJobs` is plain data with no I/O, so
//! the races are unit-tested; [`Slots`] shares it behind a mutex, and [`Slot`] is one run's view.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

use crate::model::JobId;

/// The dispatcher's run table, shared with the control (pause) and the user's job actions.
#[derive(Clone, Default)]
pub(crate) struct Slots {
    table: Arc<Mutex<Table>>,
}

#[derive(Default)]
struct Table {
    runs: ActiveJobs,
    /// Shutdown began: every run admitted from now on is stopped at once.
    closed: bool,
    /// Every run's ffmpeg is suspended (the engine is paused); a new ffmpeg is suspended at once.
    suspended: bool,
}

impl Slots {
    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn len(&self) -> usize {
        self.lock().runs.len()
    }

    /// Enter a claimed run; see [`ActiveJobs::admit`]. After [`Slots::stop_all`] the run's
    /// token is cancelled at once: a job claimed while shutdown began does no work.
    pub fn admit(&self, id: JobId, attempt: u32) -> Slot {
        let mut table = self.lock();
        let closed = table.closed;
        let cancel = table.runs.admit(id, attempt, closed);
        Slot {
            slots: self.clone(),
            id,
            attempt,
            cancel,
        }
    }

    /// Cancel run `attempt` of job `id`; returns the pid of its ffmpeg, if one runs.
    pub fn cancel(&self, id: JobId, attempt: u32) -> Option<u32> {
        self.lock().runs.cancel(id, attempt)
    }

    /// Stop every run for shutdown, and every run admitted later.
    pub fn stop_all(&self) {
        let mut table = self.lock();
        table.closed = true;
        table.runs.stop_all();
    }

    /// Live progress of job `id`'s run (the store has it only at state changes).
    pub fn progress(&self, id: JobId) -> Option<f64> {
        self.lock().runs.get(id).map(|a| a.progress)
    }

    /// Stop every run to go back to the queue (a schedule window closed); returns the pids.
    pub fn requeue_all(&self) -> Vec<u32> {
        let mut table = self.lock();
        table.runs.stop_all_for(StopReason::Requeue)
    }

    /// Suspend (or let run) every ffmpeg, now and as they start; returns the pids to signal.
    pub fn set_suspended(&self, suspended: bool) -> Vec<u32> {
        let mut table = self.lock();
        table.suspended = suspended;
        table.runs.pids()
    }
}

/// One run's entry: its cancel token, and where it reports its ffmpeg and progress.
#[derive(Clone)]
pub(crate) struct Slot {
    slots: Slots,
    id: JobId,
    attempt: u32,
    cancel: CancellationToken,
}

impl Slot {
    /// Cancelled by the user or by a shutdown.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Why the run was stopped, once its token is cancelled.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.slots
            .lock()
            .runs
            .get(self.id)
            .and_then(|a| a.stop_reason)
    }

    /// Record the run's ffmpeg; suspend it at once when the engine is paused.
    pub fn started(&self, pid: u32) {
        let suspended = {
            let mut table = self.slots.lock();
            if let Some(a) = table.runs.get_mut(self.id) {
                a.pid = Some(pid);
            }
            table.suspended
        };
        if suspended && let Err(e) = crate::process::suspend(pid) {
            tracing::warn!(pid, error = %e, "could not suspend ffmpeg");
        }
    }

    /// Whether the engine is paused (every ffmpeg suspended): a suspended encode makes no
    /// progress and is not stalled.
    pub fn suspended(&self) -> bool {
        self.slots.lock().suspended
    }

    pub fn progress(&self, percent: f64) {
        if let Some(a) = self.slots.lock().runs.get_mut(self.id) {
            a.progress = percent;
        }
    }

    /// The run is over: free the slot (a later run of the same job keeps its own).
    pub fn release(self) {
        self.slots.lock().runs.release(self.id, self.attempt);
    }
}

/// Why a running job's token was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// The user cancelled: the job ends `cancelled`.
    Cancelled,
    /// The server is shutting down: the job goes back to `queued`.
    Shutdown,
    /// A schedule window closed with `requeue`: the job goes back to `queued`.
    Requeue,
}

/// One run a worker owns.
struct ActiveJob {
    pub attempt: u32,
    pub cancel: CancellationToken,
    pub stop_reason: Option<StopReason>,
    pub pid: Option<u32>,
    pub progress: f64,
}

impl ActiveJob {
    /// Cancel the run (the first reason wins); returns the ffmpeg pid, if one runs.
    fn stop(&mut self, reason: StopReason) -> Option<u32> {
        self.stop_reason.get_or_insert(reason);
        self.cancel.cancel();
        self.pid
    }
}

#[derive(Default)]
struct ActiveJobs {
    runs: HashMap<JobId, ActiveJob>,
    /// Cancels for runs claimed in the store but not admitted yet.
    pending_cancel: HashSet<(JobId, u32)>,
}

impl ActiveJobs {
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn get(&self, id: JobId) -> Option<&ActiveJob> {
        self.runs.get(&id)
    }

    pub fn get_mut(&mut self, id: JobId) -> Option<&mut ActiveJob> {
        self.runs.get_mut(&id)
    }

    pub fn pids(&self) -> Vec<u32> {
        self.runs.values().filter_map(|a| a.pid).collect()
    }

    /// Enter a run just claimed in the store and return its token. The token is already
    /// cancelled when a shutdown began (`shutting_down`) or a cancel for this run came first.
    pub fn admit(&mut self, id: JobId, attempt: u32, shutting_down: bool) -> CancellationToken {
        let stop_reason = if shutting_down {
            Some(StopReason::Shutdown)
        } else if self.pending_cancel.contains(&(id, attempt)) {
            Some(StopReason::Cancelled)
        } else {
            None
        };
        // Older attempts of this job are over; their cancels can never apply.
        self.pending_cancel
            .retain(|(other, a)| *other != id || *a > attempt);
        let cancel = CancellationToken::new();
        if stop_reason.is_some() {
            cancel.cancel();
        }
        self.runs.insert(
            id,
            ActiveJob {
                attempt,
                cancel: cancel.clone(),
                stop_reason,
                pid: None,
                progress: 0.0,
            },
        );
        cancel
    }

    /// Forget a run whose worker is done; a later run of the same job keeps its entry.
    pub fn release(&mut self, id: JobId, attempt: u32) {
        if self.runs.get(&id).is_some_and(|a| a.attempt == attempt) {
            self.runs.remove(&id);
        }
    }

    /// Cancel run `attempt` of job `id`, which the store shows active. Returns the pid to wake
    /// (a suspended ffmpeg) when the run is here; otherwise the cancel waits for `admit`.
    pub fn cancel(&mut self, id: JobId, attempt: u32) -> Option<u32> {
        match self.runs.get_mut(&id) {
            Some(run) if run.attempt == attempt => run.stop(StopReason::Cancelled),
            _ => {
                self.pending_cancel.insert((id, attempt));
                None
            }
        }
    }

    /// Stop every run for shutdown.
    pub fn stop_all(&mut self) {
        self.stop_all_for(StopReason::Shutdown);
    }

    /// Stop every run for `reason`; returns the pids of their ffmpeg processes.
    pub fn stop_all_for(&mut self, reason: StopReason) -> Vec<u32> {
        self.runs
            .values_mut()
            .filter_map(|run| run.stop(reason))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: JobId = JobId(7);

    #[test]
    fn a_finished_run_does_not_remove_the_next_one() {
        let mut active = ActiveJobs::default();
        let first = active.admit(JOB, 1, false);
        // The job ended, was restarted and claimed again before the first worker let go.
        let second = active.admit(JOB, 2, false);
        active.release(JOB, 1);
        assert_eq!(active.len(), 1);
        assert_eq!(active.get(JOB).map(|a| a.attempt), Some(2));
        // A cancel for the new run reaches it, not the old token.
        active.get_mut(JOB).unwrap().pid = Some(42);
        assert_eq!(active.cancel(JOB, 2), Some(42));
        assert!(second.is_cancelled());
        assert!(!first.is_cancelled());
        assert_eq!(
            active.get(JOB).unwrap().stop_reason,
            Some(StopReason::Cancelled)
        );
        active.release(JOB, 2);
        assert_eq!(active.len(), 0);
    }

    #[test]
    fn a_cancel_during_the_claim_applies_on_admission() {
        let mut active = ActiveJobs::default();
        assert_eq!(active.cancel(JOB, 3), None, "not admitted yet");
        let token = active.admit(JOB, 3, false);
        assert!(token.is_cancelled());
        assert_eq!(
            active.get(JOB).unwrap().stop_reason,
            Some(StopReason::Cancelled)
        );
        // Used up: the next run of the job starts normally.
        active.release(JOB, 3);
        assert!(!active.admit(JOB, 4, false).is_cancelled());
    }

    #[test]
    fn stale_pending_cancels_never_hit_a_later_run() {
        let mut active = ActiveJobs::default();
        active.cancel(JOB, 1);
        assert!(!active.admit(JOB, 2, false).is_cancelled());
        active.release(JOB, 2);
        assert!(!active.admit(JOB, 3, false).is_cancelled());
    }

    #[test]
    fn shutdown_stops_running_and_newly_admitted_runs() {
        let mut active = ActiveJobs::default();
        let running = active.admit(JobId(1), 1, false);
        active.stop_all();
        assert!(running.is_cancelled());
        assert_eq!(
            active.get(JobId(1)).unwrap().stop_reason,
            Some(StopReason::Shutdown)
        );
        let late = active.admit(JobId(2), 1, true);
        assert!(late.is_cancelled());
        assert_eq!(
            active.get(JobId(2)).unwrap().stop_reason,
            Some(StopReason::Shutdown)
        );
        // A user cancel after shutdown keeps the shutdown reason: the job is re-queued.
        active.cancel(JobId(2), 1);
        assert_eq!(
            active.get(JobId(2)).unwrap().stop_reason,
            Some(StopReason::Shutdown)
        );
    }
}
