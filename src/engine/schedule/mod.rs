//! Schedule windows: the owner's weekly windows in which jobs may start, and what happens to
//! running jobs when a window closes (`finish`, `suspend`, `requeue`). [`Schedule`] is the
//! handle (the settings, checked and persisted under one store key, and the box's time zone:
//! the pages' chosen zone, else the system's); `window` is the pure logic; `worker` is the
//! scheduler that applies each window boundary to the engine's run state through `Control`.
//!
//! Who wins: the schedule acts only at its edges (a window opening or closing, the schedule
//! saved, the server started), never in between. A window closing holds the engine only when
//! it is running (an owner's pause stays the owner's); a window opening releases only a hold
//! the schedule made itself (an owner's pause, drain or the thermal guard's pause stays). Any
//! pause, resume or drain by the owner in between ends the schedule's hold, so a manual resume
//! outside a window runs until the next boundary: the window opens (already running), and the
//! engine is held again when that window closes.

mod window;
mod worker;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use window::{DAYS, Invalid, MAX_WINDOWS};
pub(crate) use worker::Scheduler;

use crate::model::ScheduleStatus;
use crate::store::{Store, StoreError};
use window::{Evaluation, Plan};

/// Store key of the schedule settings.
const SETTING: &str = "schedule";
/// Store key of the time zone the owner chose for the pages (`web::pages::context::TZ_SETTING`):
/// the schedule is read in the same local time the pages show.
const ZONE_SETTING: &str = "timezone";

/// What happens to running jobs when a window closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutsideWindow {
    /// Running jobs finish; nothing new starts.
    Finish,
    /// Running ffmpeg processes are stopped (SIGSTOP) and continue when a window opens.
    Suspend,
    /// Running jobs are stopped and queued again (not a failed attempt).
    Requeue,
}

/// One window, in the box's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// The days the window starts on: `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`.
    #[schema(example = json!(["mon", "tue", "wed", "thu", "fri"]))]
    pub days: Vec<String>,
    /// `HH:MM`, 00:00 to 23:59.
    #[schema(example = "01:00")]
    pub start: String,
    /// `HH:MM`, 00:00 to 24:00; at or before `start`, the window ends the next day (equal to
    /// `start`: 24 hours).
    #[schema(example = "07:00")]
    pub end: String,
}

/// `GET/PUT /api/settings/schedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSettings {
    /// Off: jobs start at any time.
    pub enabled: bool,
    /// When jobs may start. Enabled with no window: nothing starts.
    pub windows: Vec<WindowSpec>,
    pub outside_window: OutsideWindow,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        ScheduleSettings {
            enabled: false,
            windows: Vec::new(),
            outside_window: OutsideWindow::Finish,
        }
    }
}

/// Why the schedule could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Handle to the schedule. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Schedule {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    current: Mutex<Current>,
    /// Wakes the scheduler after a save (a permit is kept while it works).
    changed: tokio::sync::Notify,
}

struct Current {
    settings: ScheduleSettings,
    plan: Plan,
    /// Counts saves, so the scheduler applies a saved schedule even when its window state
    /// did not change.
    revision: u64,
    zone: TimeZone,
}

/// What the scheduler needs for one evaluation.
pub(super) struct Snapshot {
    pub revision: u64,
    pub plan: Plan,
    pub outside: OutsideWindow,
    pub zone: TimeZone,
}

impl Schedule {
    /// The saved schedule (a stored one that no longer checks is logged and left off).
    pub async fn load(store: Store) -> Result<Schedule, StoreError> {
        let stored = store.call(|s| s.setting(SETTING)).await?;
        let settings = stored
            .map(serde_json::from_value::<ScheduleSettings>)
            .transpose()
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "the stored schedule is unreadable; schedule off");
                None
            })
            .unwrap_or_default();
        let plan = Plan::parse(&settings).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the stored schedule does not check; schedule off");
            Plan::parse(&ScheduleSettings::default()).unwrap_or(Plan {
                enabled: false,
                windows: Vec::new(),
            })
        });
        let zone = zone(&store).await;
        Ok(Schedule {
            inner: Arc::new(Inner {
                store,
                current: Mutex::new(Current {
                    settings,
                    plan,
                    revision: 0,
                    zone,
                }),
                changed: tokio::sync::Notify::new(),
            }),
        })
    }

    fn current(&self) -> MutexGuard<'_, Current> {
        self.inner.current.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn settings(&self) -> ScheduleSettings {
        self.current().settings.clone()
    }

    /// Check, persist and apply the owner's schedule (the scheduler acts on it at once).
    pub async fn set(&self, settings: ScheduleSettings) -> Result<ScheduleSettings, ScheduleError> {
        let plan = Plan::parse(&settings)?;
        let value =
            serde_json::to_value(&settings).map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.inner
            .store
            .call(move |s| s.set_setting(SETTING, &value))
            .await?;
        {
            let mut current = self.current();
            current.settings = settings.clone();
            current.plan = plan;
            current.revision += 1;
        }
        self.inner.changed.notify_one();
        Ok(settings)
    }

    /// Where the schedule stands now, for the engine status.
    pub fn status(&self) -> ScheduleStatus {
        let current = self.current();
        let eval = window::evaluate(&current.plan, Timestamp::now(), &current.zone);
        status_of(current.plan.enabled, &eval)
    }

    /// The hold the schedule would make now (`None` inside a window or with the schedule
    /// off): how running jobs are held and the reason shown. A guard that paused the engine
    /// inside a window hands over to this when its pause ends outside one.
    pub fn hold_now(&self) -> Option<(OutsideWindow, String)> {
        let snap = self.snapshot();
        let eval = window::evaluate(&snap.plan, Timestamp::now(), &snap.zone);
        (!eval.in_window).then(|| {
            let why = worker::reason(snap.outside, eval.next_change, &snap.zone);
            (snap.outside, why)
        })
    }

    /// The box's local zone, read again (the owner may have changed it on the system page).
    pub(super) async fn refresh_zone(&self) {
        let zone = zone(&self.inner.store).await;
        self.current().zone = zone;
    }

    pub(super) fn snapshot(&self) -> Snapshot {
        let c = self.current();
        Snapshot {
            revision: c.revision,
            plan: c.plan.clone(),
            outside: c.settings.outside_window,
            zone: c.zone.clone(),
        }
    }

    /// Evaluate again soon (the owner chose another time zone for the pages).
    pub fn nudge(&self) {
        self.inner.changed.notify_one();
    }

    /// Resolves after the next save or nudge.
    pub(super) async fn changed(&self) {
        self.inner.changed.notified().await;
    }
}

fn status_of(enabled: bool, eval: &Evaluation) -> ScheduleStatus {
    ScheduleStatus {
        enabled,
        in_window: eval.in_window,
        next_change: eval.next_change.map(|t| t.to_string()),
    }
}

/// The pages' chosen zone, else the system's, else UTC.
async fn zone(store: &Store) -> TimeZone {
    let name = store
        .call(|s| s.setting(ZONE_SETTING))
        .await
        .ok()
        .flatten()
        .and_then(|v| v.as_str().map(str::to_string));
    name.and_then(|n| TimeZone::get(&n).ok())
        .unwrap_or_else(|| TimeZone::try_system().unwrap_or(TimeZone::UTC))
}
