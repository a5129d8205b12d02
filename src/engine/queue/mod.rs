//! The queue as the owner sees it: its dispatch order (a setting kept in the store, which the
//! dispatcher's claims follow, see `store::queue`), what is left (`eta`), and the facts the
//! analyser hands the store about each queued file (`refresh_facts`: the prediction of
//! `media::predict` under the file's profile).

pub mod eta;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::media::MediaInfo;
use crate::media::predict::predict;
use crate::model::{JobId, JobState};
use crate::profiles::{Profile, Profiles};
use crate::store::{JobQuery, QueueFacts, QueueOrder, SortKey, Store, StoreError};
use eta::{QueueEta, Sample};

/// Completed encodes read for the speed measurement, newest first: enough to average out one
/// odd file, few enough to follow a change of hardware or settings.
const SPEED_SAMPLES: usize = 200;

/// `GET/PUT /api/settings/queue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// Within a priority (always first): `oldest_first` (default), `largest_saving_first`
    /// (predicted from the probe and the profile) or `smallest_first`.
    pub order: QueueOrder,
}

/// The queue's handle: its order and its estimate.
#[derive(Clone)]
pub(crate) struct Queue {
    store: Store,
}

impl Queue {
    pub fn new(store: Store) -> Queue {
        Queue { store }
    }

    pub fn settings(&self) -> QueueSettings {
        QueueSettings {
            order: self.store.queue_order(),
        }
    }

    pub async fn set(&self, settings: QueueSettings) -> Result<QueueSettings, StoreError> {
        self.store
            .call(move |s| s.set_queue_order(settings.order))
            .await?;
        Ok(self.settings())
    }

    /// What is left, spread over `slots` parallel encodes.
    pub async fn eta(&self, slots: u32) -> Result<QueueEta, StoreError> {
        self.store
            .call(move |s| {
                let samples = speed_samples(s)?;
                s.with_queued(|queued| eta::estimate(queued, &samples, slots))
            })
            .await
    }
}

/// Media and wall seconds of the newest completed encodes.
fn speed_samples(store: &Store) -> Result<Vec<Sample>, StoreError> {
    let query = JobQuery {
        statuses: Some(vec![JobState::Completed]),
        sort: SortKey::UpdatedAt,
        desc: true,
        limit: SPEED_SAMPLES,
        ..JobQuery::default()
    };
    let (jobs, _, _) = store.list_jobs(&query)?;
    Ok(jobs
        .into_iter()
        .filter_map(|job| {
            let stats = job.encode_stats?;
            let height = job
                .metadata
                .and_then(|m| serde_json::from_value::<MediaInfo>(m).ok())
                .and_then(|i| i.video.map(|v| v.height))
                .unwrap_or(0);
            Some(Sample {
                backend: stats.backend,
                height,
                media_seconds: stats.encode_speed * stats.encode_time_seconds,
                wall_seconds: stats.encode_time_seconds,
            })
        })
        .collect())
}

/// Predict each queued job of `chunk` from its cached probe under its profile, and hand the
/// results to the store (the order `largest_saving_first` and the ETA use them). Jobs with no
/// cached probe are left to the store's unprobed fallback.
pub(crate) async fn refresh_facts(store: &Store, profiles: &Profiles, chunk: &[(JobId, PathBuf)]) {
    let paths = chunk.to_vec();
    let probed = store
        .call(move |s| {
            let mut out = Vec::with_capacity(paths.len());
            for (id, path) in paths {
                if let Some(entry) = s.probe_cache_get(&path)?
                    && let Ok(info) = serde_json::from_value::<MediaInfo>(entry.info)
                {
                    out.push((id, path, info));
                }
            }
            Ok(out)
        })
        .await;
    let probed = match probed {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "could not read probes for the queue order");
            return;
        }
    };
    // Files of one folder share a profile: look it up once per directory.
    let mut by_dir: HashMap<PathBuf, Profile> = HashMap::new();
    let mut facts = Vec::with_capacity(probed.len());
    for (id, path, info) in probed {
        let dir = path.parent().map(PathBuf::from).unwrap_or_default();
        let profile = match by_dir.get(&dir) {
            Some(p) => p.clone(),
            None => {
                let (_, p) = profiles.for_path(&path, None).await;
                by_dir.insert(dir, p.clone());
                p
            }
        };
        if let Some(p) = predict(&info, &profile) {
            let f = QueueFacts {
                saving_bytes: p.saving_bytes,
                media_seconds: p.media_seconds,
                height: p.height,
            };
            facts.push((id, f));
        }
    }
    if !facts.is_empty() {
        store.set_queue_facts(&facts);
    }
}

impl super::Engine {
    /// Live progress of a running job (the store has it only at state changes).
    pub fn live_progress(&self, id: JobId) -> Option<f64> {
        self.slots.progress(id)
    }
}
