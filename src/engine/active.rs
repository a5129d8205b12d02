//! The runs workers own right now. A run is a job plus its attempt number (the job's
//! `attempt_count` when it was claimed), because the same job can end and be claimed again
//! while the worker of the first run is still letting go: that worker must not remove the new
//! run's entry, and a cancel meant for one run must not hit the other. A cancel that arrives
//! between a run's claim in the store and its entry here is kept until the entry is made.
//! Plain data behind the engine's mutex; no I/O, so the races are unit-tested.

use std::collections::{HashMap, HashSet};

use tokio_util::sync::CancellationToken;

use crate::model::JobId;

/// Why a running job's token was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StopReason {
    /// The user cancelled: the job ends `cancelled`.
    Cancelled,
    /// The server is shutting down: the job goes back to `queued`.
    Shutdown,
}

/// One run a worker owns.
pub(super) struct ActiveJob {
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
pub(super) struct ActiveJobs {
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
        for run in self.runs.values_mut() {
            run.stop(StopReason::Shutdown);
        }
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
