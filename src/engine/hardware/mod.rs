//! What this machine can encode with, as the engine sees it: the detected capabilities
//! ([`Hardware`], shared with dispatch, the planner and the pages), the hardware encoders
//! demoted after failed jobs (`demotion`), and the detector, a worker that runs detection once
//! at start and again whenever a new probe is asked for ([`Hardware::request_probe`], the
//! API's `POST /system/hardware/probe`). Detection runs test encodes for seconds, so the result
//! is kept in the store and reused while its fingerprint (ffmpeg build, render and video nodes)
//! is unchanged; `hw` decides about reuse and the detector saves what it returns through the
//! store's typed API (`hw` never touches the store). Demotions are kept with that stored
//! result, so a restart that reuses it keeps them; a new probe clears them.

mod demotion;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::worker::Worker;
use crate::hw::{self, Capabilities, Demotion};
use crate::model::count;
use crate::model::{CpuEncoder, Explanation, now_ms, rfc3339};
use crate::profiles;
use crate::store::Store;

use demotion::Demotions;
pub(crate) use demotion::{DEMOTE_AFTER, EncoderKey};

/// Handle to the detected capabilities and the demotions. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Hardware {
    caps: Arc<RwLock<Option<Arc<Capabilities>>>>,
    /// [`hardware_sessions`] of `caps`, kept beside it: status and dispatch read it often.
    sessions: Arc<AtomicU32>,
    demotions: Arc<Mutex<Demotions>>,
    /// A new probe was asked for and has not started yet.
    probe_requested: Arc<AtomicBool>,
    /// A probe is running.
    probing: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

impl Hardware {
    /// The capabilities, once detection finished.
    pub fn get(&self) -> Option<Arc<Capabilities>> {
        self.caps.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Verified hardware encoders that can run jobs beside the CPU ones (demoted ones not).
    pub fn sessions(&self) -> u32 {
        self.sessions.load(Ordering::Relaxed)
    }

    /// Hardware encoders jobs skip until the next probe.
    pub fn demoted(&self) -> Vec<Demotion> {
        self.lock_demotions().list().to_vec()
    }

    /// Whether a probe is running or about to.
    pub fn probing(&self) -> bool {
        self.probing.load(Ordering::Relaxed) || self.probe_requested.load(Ordering::Relaxed)
    }

    /// Ask the detector for a new probe (the stored result is not reused, demotions end).
    /// Requests made while one is pending are one request.
    pub fn request_probe(&self) {
        self.probe_requested.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// A job failed on `key` because of the hardware. Returns the demotions to store when
    /// this demoted it.
    pub fn record_failure(&self, key: &EncoderKey, why: &Explanation) -> Option<Vec<Demotion>> {
        let list = {
            let mut d = self.lock_demotions();
            if !d.failure(key, why, &rfc3339(now_ms())) {
                return None;
            }
            d.list().to_vec()
        };
        if let Some(caps) = self.get() {
            self.sessions
                .store(usable_sessions(&caps, &list), Ordering::Relaxed);
        }
        Some(list)
    }

    /// A job's hardware encode on `key` was verified.
    pub fn record_success(&self, key: &EncoderKey) {
        self.lock_demotions().success(key);
    }

    fn lock_demotions(&self) -> std::sync::MutexGuard<'_, Demotions> {
        self.demotions.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, caps: Capabilities, demoted: Vec<Demotion>) {
        self.sessions
            .store(usable_sessions(&caps, &demoted), Ordering::Relaxed);
        self.lock_demotions().reset(demoted);
        *self.caps.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(caps));
    }
}

/// Hardware encoders that can run a job beside the CPU ones: each render node with a verified
/// VAAPI encoder and each V4L2 device with a verified encoder ffmpeg drives counts as one
/// session (throughput mode adds them to its CPU jobs).
#[cfg(test)]
pub(crate) fn hardware_sessions(caps: &Capabilities) -> u32 {
    usable_sessions(caps, &[])
}

/// [`hardware_sessions`], without devices whose every verified encoder is demoted: their jobs
/// run on the CPU, which must not be counted twice.
fn usable_sessions(caps: &Capabilities, demoted: &[Demotion]) -> u32 {
    let usable =
        |backend, device: &str, encoder: &str| !hw::is_demoted(demoted, backend, device, encoder);
    let vaapi = caps
        .vaapi
        .devices
        .iter()
        .filter(|d| {
            d.encoders.iter().any(|e| {
                e.verified && usable(crate::model::Backend::Vaapi, &d.node.path, &e.encoder)
            })
        })
        .count();
    let v4l2 = caps
        .v4l2
        .devices
        .iter()
        .filter(|d| {
            d.encoders.iter().any(|e| {
                e.verified
                    && e.ffmpeg_encoder
                        .as_deref()
                        .is_some_and(|f| usable(crate::model::Backend::V4l2m2m, &d.path, f))
            })
        })
        .count();
    (vaapi + v4l2) as u32
}

/// Keep `demoted` with the stored detection result it belongs to (the probe of `probed_at`), so
/// a restart that reuses that result keeps them. A result stored by a newer probe is left
/// alone: its demotions start empty.
pub(crate) async fn store_demotions(store: &Store, probed_at: String, demoted: Vec<Demotion>) {
    let stored = store
        .call(move |s| {
            let Some(value) = s.capability_record()? else {
                return Ok(());
            };
            let Ok(mut record) = serde_json::from_value::<hw::Record>(value) else {
                return Ok(());
            };
            if record.probed_at() != probed_at {
                return Ok(());
            }
            record.set_demoted(demoted);
            match serde_json::to_value(&record) {
                Ok(v) => s.set_capability_record(&v),
                Err(_) => Ok(()),
            }
        })
        .await;
    if let Err(e) = stored {
        tracing::warn!(error = %e, "cannot store the demoted hardware encoders");
    }
}

/// What the planner may rely on, from detection: the encoders a test encode proved. Until
/// detection has finished, every CPU encoder (a job then fails at encode time if one is
/// missing, rather than being skipped for good).
pub(crate) fn planner_capabilities(detected: Option<&Capabilities>) -> profiles::Capabilities {
    let Some(detected) = detected else {
        return profiles::Capabilities::all_cpu();
    };
    let proven: Vec<CpuEncoder> = CpuEncoder::ALL
        .into_iter()
        .filter(|e| {
            detected
                .cpu_encoders
                .iter()
                .any(|i| i.verified && i.encoder == e.as_str())
        })
        .collect();
    // Detection does not test 10-bit input separately; the encoders we use accept it in
    // every build we support.
    profiles::Capabilities {
        ten_bit: proven.clone(),
        encoders: proven,
        tonemap: profiles::Tonemapper::pick(detected.filters.iter().map(String::as_str)),
    }
}

/// Runs detection once at start, reusing the stored result when its fingerprint matches, and
/// a new probe whenever one is asked for.
pub(crate) struct Detector {
    pub ffmpeg: PathBuf,
    pub store: Store,
    pub hardware: Hardware,
    pub done: bool,
}

impl Worker for Detector {
    fn name(&self) -> &'static str {
        "hardware detection"
    }

    async fn work(&mut self, stop: &CancellationToken) {
        let forced = self.hardware.probe_requested.swap(false, Ordering::Relaxed);
        if self.done && !forced {
            return;
        }
        self.hardware.probing.store(true, Ordering::Relaxed);
        // Dropping the detection at shutdown kills its ffmpeg (kill_on_drop in `process`).
        let detected = tokio::select! {
            d = detect(&self.ffmpeg, &self.store, forced) => Some(d),
            _ = stop.cancelled() => None,
        };
        self.hardware.probing.store(false, Ordering::Relaxed);
        if let Some((caps, demoted)) = detected {
            self.hardware.set(caps, demoted);
            self.done = true;
        }
    }

    async fn wait(&mut self) {
        // Detection runs at start; then only when a new probe is asked for.
        self.hardware.wake.notified().await
    }

    fn status(&self) -> String {
        match self.hardware.get() {
            _ if self.hardware.probing.load(Ordering::Relaxed) => "probing the hardware".into(),
            Some(caps) => format!(
                "detected {} UTC ({}); {}, {} demoted",
                // To the second: `2026-12-05 21:24:05`, not the stored RFC 3339 nanoseconds.
                caps.probed_at
                    .get(..19)
                    .unwrap_or(&caps.probed_at)
                    .replace('T', " "),
                if caps.from_cache {
                    "reused: fingerprint unchanged"
                } else {
                    "probed"
                },
                count(
                    self.hardware.sessions(),
                    "hardware session",
                    "hardware sessions"
                ),
                count(self.hardware.demoted().len(), "encoder", "encoders")
            ),
            None => "detecting encoders".into(),
        }
    }
}

/// Detect, reusing the store's record when it still applies (never when `forced`), and store
/// a new result. Returns the capabilities and the demotions that still hold.
async fn detect(
    ffmpeg: &std::path::Path,
    store: &Store,
    forced: bool,
) -> (Capabilities, Vec<Demotion>) {
    let kept = match store.call(|s| s.capability_record()).await {
        // A record this release cannot read only costs a new detection.
        Ok(value) => value.and_then(|v| serde_json::from_value::<hw::Record>(v).ok()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read cached capabilities");
            None
        }
    };
    let kept = kept.filter(|_| !forced);
    let detected = hw::detect_reusing(ffmpeg, &hw::Roots::system(), kept).await;
    if let Some(value) = detected.to_store.and_then(|r| serde_json::to_value(r).ok())
        && let Err(e) = store.call(move |s| s.set_capability_record(&value)).await
    {
        tracing::warn!(error = %e, "cannot store capabilities");
    }
    (detected.caps, detected.demoted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::EncoderInfo;

    #[test]
    fn the_planner_sees_proven_encoders_once_detection_finished() {
        assert_eq!(
            planner_capabilities(None),
            profiles::Capabilities::all_cpu()
        );
        let info = |e: CpuEncoder, verified| EncoderInfo {
            codec: e.codec(),
            encoder: e.as_str().to_string(),
            verified,
        };
        let detected = Capabilities {
            ffmpeg_version: None,
            cpu_encoders: vec![
                info(CpuEncoder::Libx265, true),
                info(CpuEncoder::Libsvtav1, false),
            ],
            probe_log: Vec::new(),
            probed_at: String::new(),
            hwaccels: Vec::new(),
            filters: vec!["libplacebo".into()],
            vaapi: Default::default(),
            v4l2: Default::default(),
            fingerprint: String::new(),
            from_cache: false,
        };
        let caps = planner_capabilities(Some(&detected));
        assert_eq!(caps.encoders, vec![CpuEncoder::Libx265]);
        assert_eq!(caps.ten_bit, vec![CpuEncoder::Libx265]);
        assert_eq!(caps.tonemap, Some(profiles::Tonemapper::Libplacebo));
    }
}
