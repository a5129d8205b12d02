//! The ledger: the one way job states change and job logs grow. A state change is a store write
//! and a `status` event, made under one lock so subscribers (SSE clients, the pages, and the
//! engine's own workers, which wake on these events) see changes in commit order: a job queued
//! by a scan is never announced as `analyzing` by the dispatcher before it was announced as
//! `queued`. Log lines go to the job's log in the store, to the `log` event and to `tracing`
//! (inside a job's run its span adds the job id to every line).

use std::sync::Arc;

use crate::events::{Event, EventBus};
use crate::model::{JobId, JobState, LogLevel};
use crate::store::{Job, ScanOutcome, Store, StoreError};

/// Handle to the ledger. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Ledger {
    store: Store,
    events: EventBus,
    order: Arc<tokio::sync::Mutex<()>>,
}

/// One job's move from `previous` (`None`: it did not exist or was not tracked) to `status`.
pub(crate) type Change = (JobId, JobState, Option<JobState>);

/// What a store write changed, for the `status` events.
pub(crate) trait StatusChanges {
    fn changes(&self) -> Vec<Change>;
}

impl StatusChanges for (Job, JobState) {
    fn changes(&self) -> Vec<Change> {
        vec![(self.0.id, self.0.status, Some(self.1))]
    }
}

impl StatusChanges for Vec<(Job, JobState)> {
    fn changes(&self) -> Vec<Change> {
        self.iter()
            .map(|(job, previous)| (job.id, job.status, Some(*previous)))
            .collect()
    }
}

/// A claim: queued → analyzing.
impl StatusChanges for Option<Job> {
    fn changes(&self) -> Vec<Change> {
        self.iter()
            .map(|job| (job.id, job.status, Some(JobState::Queued)))
            .collect()
    }
}

/// Files recorded by a scan or an enqueue: the new and re-queued ones.
impl StatusChanges for Vec<ScanOutcome> {
    fn changes(&self) -> Vec<Change> {
        self.iter()
            .filter_map(|o| match o {
                ScanOutcome::Queued(id) | ScanOutcome::Requeued(id) => {
                    Some((*id, JobState::Queued, None))
                }
                ScanOutcome::Unchanged => None,
            })
            .collect()
    }
}

/// Batch results that may have been refused as a whole.
impl<T: StatusChanges, E> StatusChanges for Result<T, E> {
    fn changes(&self) -> Vec<Change> {
        self.as_ref().map(T::changes).unwrap_or_default()
    }
}

impl Ledger {
    pub fn new(store: Store, events: EventBus) -> Ledger {
        Ledger {
            store,
            events,
            order: Arc::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// Run a store write that changes job states, then publish each change, in commit order.
    pub async fn apply<T, F>(&self, write: F) -> Result<T, StoreError>
    where
        T: StatusChanges + Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let _order = self.order.lock().await;
        let out = self.store.call(write).await?;
        for (job_id, status, previous) in out.changes() {
            self.events.publish(Event::Status {
                job_id,
                status,
                previous,
            });
        }
        Ok(out)
    }

    /// Add a line to job `id`'s log, publish it and trace it. Failing to store it is only
    /// traced: a log line never fails a job.
    pub async fn log(&self, id: JobId, level: LogLevel, message: impl Into<String>) {
        let message = message.into();
        match level {
            LogLevel::Info => tracing::info!(job = %id, "{message}"),
            LogLevel::Warning => tracing::warn!(job = %id, "{message}"),
            LogLevel::Error => tracing::error!(job = %id, "{message}"),
        }
        self.events.publish(Event::Log {
            job_id: Some(id),
            level,
            message: message.clone(),
        });
        if let Err(e) = self
            .store
            .call(move |s| s.append_log(id, level, &message))
            .await
        {
            tracing::warn!(job = %id, error = %e, "could not store a log line");
        }
    }

    /// Publish a log line that belongs to no job (scans, the analyser).
    pub fn note(&self, level: LogLevel, message: String) {
        self.events.publish(Event::Log {
            job_id: None,
            level,
            message,
        });
    }
}
