//! Notifications: the owner's targets (ntfy, Gotify, Discord, Telegram, Pushover, a generic
//! webhook, email) and what is sent to them. [`Notifications`] is the handle: the targets,
//! checked and persisted under one store key with their secrets (which leave the server only
//! masked), each target's delivery log (its last [`LOG_LEN`] attempts, in the store), and the
//! notifier's input. `target` is the configuration, `render` what each service is sent (the
//! webhook payload is documented there), `batch` the grouping and rate limits, `deliver` the
//! sending with retries, and `worker` the notifier: it turns engine events (a job failed, a
//! retry gave up, the queue ran dry, a thermal pause) and the daily summary into messages.
//!
//! Nothing here can hold the engine up: the notifier reads the event bus (a lagging reader
//! loses events, counted and logged, never blocks the publisher), its own input is a bounded
//! channel whose overflow is counted and dropped, and deliveries run in tasks of their own.

mod batch;
mod deliver;
mod render;
pub(crate) mod space;
mod summary;
mod target;
mod worker;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::ToSchema;

pub use render::Notice;
pub(crate) use space::SpaceWatch;
pub use target::{EventKind, Invalid, Target};
pub(crate) use worker::Notifier;

use crate::model::{now_ms, rfc3339};
use crate::store::{Store, StoreError};

/// Store key of the targets.
const SETTING: &str = "notifications";
/// Delivery attempts kept per target.
pub const LOG_LEN: usize = 50;
/// At most this many targets: each costs a batcher and deliveries.
const MAX_TARGETS: usize = 32;
/// Notices and test requests waiting for the notifier; beyond it they are dropped and counted.
const INPUT_CAPACITY: usize = 256;

/// Why a change to the targets was refused.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("no notification target {0}")]
    NotFound(u64),
    #[error("the notifier is busy; try again")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One delivery attempt, as the page and `GET /api/settings/notifications` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// RFC 3339 UTC.
    pub at: String,
    /// The event code (`job_failed`, `test`, ...).
    pub event: String,
    /// How many events the message stood for.
    pub count: usize,
    pub attempt: u32,
    pub ok: bool,
    /// Why the attempt failed (never the request URL: it may hold a token).
    pub error: Option<String>,
}

/// A target with its delivery log (newest first).
#[derive(Clone, Serialize, ToSchema)]
pub struct TargetView {
    #[serde(flatten)]
    pub target: Target,
    pub log: Vec<Delivery>,
}

#[derive(Default, Serialize, Deserialize)]
struct Saved {
    next_id: u64,
    targets: Vec<Target>,
}

/// What the notifier is asked to do.
pub(crate) enum Input {
    Notice(Notice),
    /// "Send test" (or a summary now): deliver to one target at once.
    Test {
        id: u64,
        event: EventKind,
    },
}

/// Handle to the notifications. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Notifications {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    saved: Mutex<Saved>,
    input: mpsc::Sender<Input>,
    dropped: AtomicU64,
    /// Serialises read-modify-write of the delivery logs.
    log_lock: tokio::sync::Mutex<()>,
}

impl Notifications {
    /// The saved targets and the receiving end of the notifier's input.
    pub async fn load(store: Store) -> Result<(Notifications, mpsc::Receiver<Input>), StoreError> {
        let saved = store
            .call(|s| s.setting(SETTING))
            .await?
            .map(serde_json::from_value::<Saved>)
            .transpose()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "the stored notification targets are unreadable");
                None
            })
            .unwrap_or_default();
        let (input, rx) = mpsc::channel(INPUT_CAPACITY);
        let inner = Inner {
            store,
            saved: Mutex::new(saved),
            input,
            dropped: AtomicU64::new(0),
            log_lock: tokio::sync::Mutex::new(()),
        };
        Ok((
            Notifications {
                inner: Arc::new(inner),
            },
            rx,
        ))
    }

    fn saved(&self) -> MutexGuard<'_, Saved> {
        self.inner.saved.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The targets with their secrets (for the notifier only).
    pub(crate) fn targets(&self) -> Vec<Target> {
        self.saved().targets.clone()
    }

    /// Every target, masked, with its delivery log.
    pub async fn list(&self) -> Result<Vec<TargetView>, StoreError> {
        let mut out = Vec::new();
        for t in self.targets() {
            let log = self.log(t.id).await?;
            out.push(TargetView {
                target: t.masked(),
                log,
            });
        }
        Ok(out)
    }

    /// One target, masked.
    pub fn get(&self, id: u64) -> Result<Target, NotifyError> {
        let saved = self.saved();
        let t = saved.targets.iter().find(|t| t.id == id);
        t.map(Target::masked).ok_or(NotifyError::NotFound(id))
    }

    async fn persist(
        &self,
        edit: impl FnOnce(&mut Saved) -> Result<Target, NotifyError>,
    ) -> Result<Target, NotifyError> {
        let (value, target) = {
            let mut saved = self.saved();
            let mut next = Saved {
                next_id: saved.next_id,
                targets: saved.targets.clone(),
            };
            let target = edit(&mut next)?;
            let value =
                serde_json::to_value(&next).map_err(|e| StoreError::Invalid(e.to_string()))?;
            *saved = next;
            (value, target)
        };
        // Saved in memory first so two saves cannot interleave their ids; a store failure is
        // reported and the next save writes the whole list again.
        self.inner
            .store
            .call(move |s| s.set_setting(SETTING, &value))
            .await?;
        Ok(target.masked())
    }

    pub async fn create(&self, mut target: Target) -> Result<Target, NotifyError> {
        target.check()?;
        self.persist(move |saved| {
            if saved.targets.len() >= MAX_TARGETS {
                return Err(NotifyError::Invalid(Invalid {
                    field: "id".into(),
                    message: format!("at most {MAX_TARGETS} targets"),
                }));
            }
            saved.next_id += 1;
            target.id = saved.next_id;
            saved.targets.push(target.clone());
            Ok(target)
        })
        .await
    }

    /// Replace target `id`; a secret sent back masked keeps the stored one.
    pub async fn update(&self, id: u64, mut target: Target) -> Result<Target, NotifyError> {
        let stored = self
            .targets()
            .into_iter()
            .find(|t| t.id == id)
            .ok_or(NotifyError::NotFound(id))?;
        target.id = id;
        target.keep_secrets(&stored);
        target.check()?;
        self.persist(move |saved| {
            let slot = saved.targets.iter_mut().find(|t| t.id == id);
            let slot = slot.ok_or(NotifyError::NotFound(id))?;
            *slot = target.clone();
            Ok(target)
        })
        .await
    }

    pub async fn delete(&self, id: u64) -> Result<(), NotifyError> {
        self.persist(move |saved| {
            let at = saved.targets.iter().position(|t| t.id == id);
            let at = at.ok_or(NotifyError::NotFound(id))?;
            Ok(saved.targets.remove(at))
        })
        .await?;
        let key = log_key(id);
        self.inner
            .store
            .call(move |s| s.set_setting(&key, &serde_json::json!([])))
            .await?;
        Ok(())
    }

    /// Ask the notifier to send `event` (a test, or a summary now) to target `id` at once.
    pub fn test(&self, id: u64, event: EventKind) -> Result<(), NotifyError> {
        self.get(id)?;
        self.inner
            .input
            .try_send(Input::Test { id, event })
            .map_err(|_| NotifyError::Busy)
    }

    /// Hand a notice to the notifier without waiting: when its input is full the notice is
    /// dropped and counted (the notifier logs the count). The entry point for engine parts
    /// that publish no event (the low-space check).
    pub fn notify(&self, notice: Notice) {
        if self.inner.input.try_send(Input::Notice(notice)).is_err() {
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Notices dropped because the input was full, since the last call.
    pub(crate) fn take_dropped(&self) -> u64 {
        self.inner.dropped.swap(0, Ordering::Relaxed)
    }

    /// Target `id`'s delivery log, newest first.
    pub async fn log(&self, id: u64) -> Result<Vec<Delivery>, StoreError> {
        let key = log_key(id);
        let value = self.inner.store.call(move |s| s.setting(&key)).await?;
        Ok(value
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    /// Record one attempt in target `id`'s log, keeping the last [`LOG_LEN`].
    pub(crate) async fn record(
        &self,
        id: u64,
        event: EventKind,
        count: usize,
        attempt: u32,
        result: Result<(), String>,
    ) {
        let _guard = self.inner.log_lock.lock().await;
        if !self.saved().targets.iter().any(|t| t.id == id) {
            return;
        }
        let mut log = self.log(id).await.unwrap_or_default();
        log.insert(
            0,
            Delivery {
                at: rfc3339(now_ms()),
                event: event.code().to_string(),
                count,
                attempt,
                ok: result.is_ok(),
                error: result.err(),
            },
        );
        log.truncate(LOG_LEN);
        let key = log_key(id);
        let value = serde_json::to_value(&log).unwrap_or_default();
        if let Err(e) = self
            .inner
            .store
            .call(move |s| s.set_setting(&key, &value))
            .await
        {
            tracing::warn!(error = %e, target = id, "the delivery log could not be written");
        }
    }
}

fn log_key(id: u64) -> String {
    format!("notifications.log.{id}")
}
