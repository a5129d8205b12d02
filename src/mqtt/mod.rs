//! Home Assistant over MQTT: a client (`rumqttc`, optionally over TLS with the server's rustls
//! and ring provider) that publishes Home Assistant discovery config so the box shows up as one
//! device with sensors and controls, keeps its state topic current from the event bus (at most
//! one state message a second, later changes coalesced into it), and turns commands on the
//! switch and select topics into the same engine calls as the owner's API. Parts: the settings
//! (`settings`), the pure messages (`discovery`), and the worker that owns the connection
//! (`worker`), which runs in the engine's worker shape and shows its line on the system page.

pub mod discovery;
pub mod settings;
mod worker;

use crate::board::Board;
use crate::engine::Engine;
use crate::model::JobState;
use crate::store::{Store, StoreError};

/// Start the MQTT worker (it idles while the settings say off).
pub fn start(engine: &Engine, store: &Store, board: &Board) {
    engine.workers.spawn(worker::MqttWorker::new(
        engine.clone(),
        store.clone(),
        board.clone(),
    ));
}

/// What the state topic says now: the engine's status, the oldest running job, the savings
/// (the realized/potential split of `/api/stats/aggregated`, and today's) and the board's
/// temperature.
pub async fn snapshot(
    engine: &Engine,
    store: &Store,
    board: &Board,
) -> Result<discovery::State, StoreError> {
    let status = engine.status();
    let (totals, today, job) = store
        .call(|s| {
            let active: Vec<JobState> = JobState::ALL
                .into_iter()
                .filter(|s| s.is_active())
                .collect();
            let job = match s.job_ids_in(&active)?.into_iter().min() {
                Some(id) => Some(s.get_job(id)?),
                None => None,
            };
            let today = s.daily()?.last().map_or(0, |d| d.bytes_saved);
            Ok((s.aggregated()?, today, job))
        })
        .await?;
    let (current_job, progress) = match job {
        Some(j) => (
            j.input_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            engine.live_progress(j.id).unwrap_or(j.progress),
        ),
        None => ("none".to_string(), 0.0),
    };
    Ok(discovery::State {
        state: status.status,
        mode: status.mode,
        queued: status.queued_jobs,
        active: status.active_jobs,
        current_job,
        progress: (progress * 10.0).round() / 10.0,
        saved_today_bytes: today,
        saved_realized_bytes: totals.split.realized_savings_bytes,
        saved_potential_bytes: totals.split.potential_savings_bytes,
        temperature_c: board.temperature().map(|(_, c)| (c * 10.0).round() / 10.0),
    })
}
