//! What this machine can encode with, as the engine sees it: the detected capabilities
//! ([`Hardware`], shared with dispatch, the planner and the pages) and the detector, a worker
//! that runs detection once at start. Detection runs test encodes for seconds, so the result is
//! kept in the store and reused while its fingerprint (ffmpeg build, render and video nodes) is
//! unchanged; `hw` decides about reuse and the detector saves what it returns through the
//! store's typed API (`hw` never touches the store).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use tokio_util::sync::CancellationToken;

use super::worker::Worker;
use crate::hw::{self, Capabilities};
use crate::model::CpuEncoder;
use crate::profiles;
use crate::store::Store;

/// Handle to the detected capabilities. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Hardware {
    caps: Arc<RwLock<Option<Arc<Capabilities>>>>,
    /// [`hardware_sessions`] of `caps`, kept beside it: status and dispatch read it often.
    sessions: Arc<AtomicU32>,
}

impl Hardware {
    /// The capabilities, once detection finished.
    pub fn get(&self) -> Option<Arc<Capabilities>> {
        self.caps.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Verified hardware encoders that can run jobs beside the CPU ones.
    pub fn sessions(&self) -> u32 {
        self.sessions.load(Ordering::Relaxed)
    }

    fn set(&self, caps: Capabilities) {
        self.sessions
            .store(hardware_sessions(&caps), Ordering::Relaxed);
        *self.caps.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(caps));
    }
}

/// Hardware encoders that can run a job beside the CPU ones: each render node with a verified
/// VAAPI encoder and each V4L2 device with a verified encoder ffmpeg drives counts as one
/// session (throughput mode adds them to its CPU jobs).
pub(crate) fn hardware_sessions(caps: &Capabilities) -> u32 {
    let vaapi = caps
        .vaapi
        .devices
        .iter()
        .filter(|d| d.encoders.iter().any(|e| e.verified))
        .count();
    let v4l2 = caps
        .v4l2
        .devices
        .iter()
        .filter(|d| {
            d.encoders
                .iter()
                .any(|e| e.verified && e.ffmpeg_encoder.is_some())
        })
        .count();
    (vaapi + v4l2) as u32
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
    }
}

/// Runs detection once, reusing the stored result when its fingerprint matches.
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
        if self.done {
            return;
        }
        // Dropping the detection at shutdown kills its ffmpeg (kill_on_drop in `process`).
        let caps = tokio::select! {
            caps = detect(&self.ffmpeg, &self.store) => caps,
            _ = stop.cancelled() => return,
        };
        self.hardware.set(caps);
        self.done = true;
    }

    async fn wait(&mut self) {
        // Detection runs once per start; `alchemist probe` probes again on demand.
        std::future::pending::<()>().await
    }

    fn status(&self) -> String {
        match self.hardware.get() {
            Some(caps) => format!(
                "detected {} ({}); {} hardware session(s)",
                caps.probed_at,
                if caps.from_cache {
                    "reused: fingerprint unchanged"
                } else {
                    "probed"
                },
                self.hardware.sessions()
            ),
            None => "detecting encoders".into(),
        }
    }
}

/// Detect, reusing the store's record when it still applies, and store a new result.
async fn detect(ffmpeg: &std::path::Path, store: &Store) -> Capabilities {
    let kept = match store.call(|s| s.capability_record()).await {
        // A record this release cannot read only costs a new detection.
        Ok(value) => value.and_then(|v| serde_json::from_value::<hw::Record>(v).ok()),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read cached capabilities");
            None
        }
    };
    let detected = hw::detect_reusing(ffmpeg, &hw::Roots::system(), kept).await;
    if let Some(value) = detected.to_store.and_then(|r| serde_json::to_value(r).ok())
        && let Err(e) = store.call(move |s| s.set_capability_record(&value)).await
    {
        tracing::warn!(error = %e, "cannot store capabilities");
    }
    detected.caps
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
            vaapi: Default::default(),
            v4l2: Default::default(),
            fingerprint: String::new(),
            from_cache: false,
        };
        let caps = planner_capabilities(Some(&detected));
        assert_eq!(caps.encoders, vec![CpuEncoder::Libx265]);
        assert_eq!(caps.ten_bit, vec![CpuEncoder::Libx265]);
    }
}
