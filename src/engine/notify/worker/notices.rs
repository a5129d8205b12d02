//! What the notifier makes of an event: the notices a failed job, the queue running dry, a
//! thermal pause or a viewers' or schedule pause mean.

use super::Notifier;
use crate::engine::notify::render::{JobRef, Notice};
use crate::engine::notify::target::EventKind;
use crate::events::Event;
use crate::model::{EngineRunState, EngineStatus, JobId, JobState};

/// How `paused_reason` begins when the viewers' watch holds the engine
/// (`integrations::viewers`) or the schedule does (`schedule::worker`): the engine event
/// carries no other word of who paused it.
const VIEWERS_REASON: &str = "viewers:";
const SCHEDULE_REASON: &str = "outside the schedule window";

/// Who holds the engine, as far as `engine_paused` cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::engine::notify) enum Pauser {
    Viewers,
    Schedule,
    /// The owner, the thermal guard (it has `thermal_pause`), a drain.
    Other,
}

/// Who holds the engine in `status` (`None`: it runs).
pub(in crate::engine::notify) fn pauser(status: &EngineStatus) -> Option<Pauser> {
    if status.status == EngineRunState::Running {
        return None;
    }
    let reason = status.paused_reason.as_deref().unwrap_or_default();
    Some(if reason.starts_with(VIEWERS_REASON) {
        Pauser::Viewers
    } else if reason.starts_with(SCHEDULE_REASON) {
        Pauser::Schedule
    } else {
        Pauser::Other
    })
}

impl Notifier {
    /// The notices an event means (a store read for a failed job's reason).
    pub(super) async fn notices(&mut self, event: &Event) -> Vec<Notice> {
        let mut out = Vec::new();
        match event {
            Event::Status { job_id, status, .. } => {
                if *status == JobState::Failed {
                    self.finished.1 += 1;
                    out.extend(self.failed_job(*job_id).await);
                } else if *status == JobState::Completed {
                    self.finished.0 += 1;
                }
                let counts = self.handle.store().status_counts();
                let busy = counts.get(JobState::Queued) + counts.active() > 0;
                if self.busy && !busy {
                    let (done, failed) = std::mem::take(&mut self.finished);
                    out.push(Notice {
                        event: EventKind::QueueEmpty,
                        title: "The queue ran dry".into(),
                        message: format!("Nothing left to do: {done} encoded, {failed} failed since the queue filled."),
                        job: None,
                    });
                }
                self.busy = busy;
            }
            Event::Thermal {
                celsius, action, ..
            } if *action == "pause" => out.push(Notice {
                event: EventKind::ThermalPause,
                title: "Paused: too hot".into(),
                message: format!(
                    "The board reached {celsius:.1} °C; encoding is paused until it cools."
                ),
                job: None,
            }),
            Event::Engine(status) => {
                let now = pauser(status);
                let before = std::mem::replace(&mut self.paused_by, now);
                if now != before
                    && let Some(who @ (Pauser::Viewers | Pauser::Schedule)) = now
                {
                    let who = match who {
                        Pauser::Viewers => "someone is watching",
                        _ => "outside the schedule",
                    };
                    let reason = status.paused_reason.clone().unwrap_or_default();
                    out.push(Notice {
                        event: EventKind::EnginePaused,
                        title: format!("Encoding paused: {who}"),
                        message: format!("The engine is paused ({reason})."),
                        job: None,
                    });
                }
            }
            _ => {}
        }
        out
    }

    async fn failed_job(&self, id: JobId) -> Vec<Notice> {
        let Ok(job) = self.handle.store().call(move |s| s.get_job(id)).await else {
            return Vec::new();
        };
        let path = job.input_path.display().to_string();
        let name = job
            .input_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.clone());
        let (code, why) = match &job.failure {
            Some(f) => (Some(f.code.clone()), f.summary.clone()),
            None => (None, "unknown reason".to_string()),
        };
        let job_ref = JobRef {
            id: id.0,
            path,
            reason: code,
        };
        let mut out = vec![Notice {
            event: EventKind::JobFailed,
            title: format!("Job failed: {name}"),
            message: format!("{name}: {why}"),
            job: Some(job_ref.clone()),
        }];
        if job.retry_at.is_none() && job.auto_retries > 0 {
            out.push(Notice {
                event: EventKind::RetryExhausted,
                title: format!("Gave up retrying: {name}"),
                message: format!(
                    "{name}: {why} (after {} automatic retries)",
                    job.auto_retries
                ),
                job: Some(job_ref),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::engine::notify::Notifications;
    use crate::events::EventBus;
    use crate::model::Explanation;
    use crate::store::{Job, Store};

    /// A notifier over a fresh store holding `jobs`.
    async fn notifier(dir: &std::path::Path, jobs: Vec<Job>) -> Notifier {
        let store = Store::open(dir).unwrap();
        store.insert_jobs_bulk(jobs).unwrap();
        let (handle, input) = Notifications::load(store).await.unwrap();
        Notifier::new(handle, input, &EventBus::new())
    }

    fn failed(path: &str, auto_retries: u32) -> Job {
        let mut job = Job::queued(JobId(0), PathBuf::from(path), 1);
        job.status = JobState::Failed;
        job.failure = Some(Explanation::new("disk_full", "The disk is full.", ""));
        job.auto_retries = auto_retries;
        job
    }

    #[tokio::test]
    async fn a_thermal_pause_is_a_notice_and_a_resume_is_not() {
        let tmp = tempfile::tempdir().unwrap();
        let mut n = notifier(tmp.path(), Vec::new()).await;
        let hot = Event::Thermal {
            sensor: "board-lm75",
            celsius: 78.5,
            action: "pause",
        };
        let out = n.notices(&hot).await;
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].event, EventKind::ThermalPause);
        assert!(out[0].message.contains("78.5 °C"), "{}", out[0].message);
        let cool = Event::Thermal {
            sensor: "board-lm75",
            celsius: 60.0,
            action: "resume",
        };
        assert!(n.notices(&cool).await.is_empty());
    }

    #[tokio::test]
    async fn a_failure_after_automatic_retries_also_says_they_gave_up() {
        let tmp = tempfile::tempdir().unwrap();
        let mut waiting = failed("/m/waiting.mkv", 2);
        waiting.retry_at = Some(i64::MAX);
        let jobs = vec![
            failed("/m/once.mkv", 0),
            failed("/m/retried.mkv", 3),
            waiting,
        ];
        let mut n = notifier(tmp.path(), jobs).await;
        let status = |id| Event::Status {
            job_id: JobId(id),
            status: JobState::Failed,
            previous: Some(JobState::Encoding),
        };
        let once = n.notices(&status(1)).await;
        let kinds: Vec<_> = once.iter().map(|n| n.event).collect();
        assert_eq!(kinds, [EventKind::JobFailed], "{once:?}");
        assert!(once[0].message.contains("The disk is full."), "{once:?}");
        let retried = n.notices(&status(2)).await;
        let kinds: Vec<_> = retried.iter().map(|n| n.event).collect();
        assert_eq!(
            kinds,
            [EventKind::JobFailed, EventKind::RetryExhausted],
            "{retried:?}"
        );
        assert!(
            retried[1].message.contains("after 3 automatic retries"),
            "{retried:?}"
        );
        assert_eq!(retried[1].job.as_ref().map(|j| j.id), Some(2));
        // Another automatic retry is still due: it has not given up.
        let waiting = n.notices(&status(3)).await;
        let kinds: Vec<_> = waiting.iter().map(|n| n.event).collect();
        assert_eq!(kinds, [EventKind::JobFailed], "{waiting:?}");
    }
}
