//! Reuse of a previous detection. Test encodes take seconds (SVT-AV1 start-up, a VAAPI driver
//! per node), so the caller keeps the result (the engine, in the store) as a [`Record`] together
//! with a fingerprint of what it depends on: the ffmpeg build (its `-version` line), every
//! render node with its bus, PCI ids and kernel driver, and a forced `LIBVA_DRIVER_NAME`. A new
//! ffmpeg, a GPU added, removed or moved to another driver changes the fingerprint and the next
//! detection probes again. A libva driver package upgrade alone does not; re-probing on demand
//! (`alchemist probe`, or a probe requested through the API) covers that. The record also keeps
//! the encoders the engine demoted after failed jobs (`demotion`): they stay demoted across
//! restarts that reuse the record, and a new probe starts with none. This module decides; it
//! stores nothing itself.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::demotion::Demotion;
use super::discover::{RenderNode, Roots};
use super::probe_log::{self, Step};
use super::{Capabilities, preflight, probe};

/// Bumped when `Capabilities` changes shape in a way old records cannot be read as, or when
/// the probe changes what "verified" means (2: AV1 CQP through `-global_quality`, test encodes
/// that fail on ignored options, no VP9, V4L2 stride measurement; 3: the tonemapping filters of `-filters`).
const RECORD_VERSION: u32 = 3;

/// A detection result as kept between starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    version: u32,
    fingerprint: String,
    capabilities: Capabilities,
    /// Encoders demoted since this probe.
    #[serde(default)]
    demoted: Vec<Demotion>,
}

impl Record {
    /// The encoders demoted since this probe.
    pub fn demoted(&self) -> &[Demotion] {
        &self.demoted
    }

    /// Replace the demotions (the engine keeps them with the probe they apply to).
    pub fn set_demoted(&mut self, demoted: Vec<Demotion>) {
        self.demoted = demoted;
    }

    /// When the probe this record holds ran: which detection a demotion belongs to.
    pub fn probed_at(&self) -> &str {
        &self.capabilities.probed_at
    }
}

/// What [`detect_reusing`] found.
#[derive(Debug)]
pub struct Detected {
    pub caps: Capabilities,
    /// A new result to keep for the next start; `None` when the kept one was reused.
    pub to_store: Option<Record>,
    /// The demotions of the reused record; none after a new probe.
    pub demoted: Vec<Demotion>,
}

/// What a detection result depends on, as readable text (it is shown in the probe log).
pub fn fingerprint(version_line: Option<&str>, nodes: &[RenderNode]) -> String {
    let nodes = if nodes.is_empty() {
        "none".to_string()
    } else {
        nodes
            .iter()
            .map(RenderNode::describe)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let libva = std::env::var("LIBVA_DRIVER_NAME").unwrap_or_default();
    format!(
        "{}; render nodes: {nodes}; LIBVA_DRIVER_NAME={libva}",
        version_line.unwrap_or("ffmpeg version unknown")
    )
}

/// Reuse `kept` when its fingerprint matches this machine's; otherwise detect, and return the
/// new result to keep.
pub async fn detect_reusing(ffmpeg: &Path, roots: &Roots, kept: Option<Record>) -> Detected {
    let mut pre = preflight(ffmpeg, roots).await;
    let old_fingerprint = kept.as_ref().map(|r| r.fingerprint.clone());
    if let Some(record) = kept.filter(|r| r.version == RECORD_VERSION)
        && record.fingerprint == pre.fingerprint
    {
        let mut caps = record.capabilities;
        let mut log = std::mem::take(&mut pre.log);
        note(
            &mut log,
            true,
            format!(
                "fingerprint unchanged, reusing the probe of {}: {}",
                caps.probed_at, pre.fingerprint
            ),
        );
        log.append(&mut caps.probe_log);
        caps.probe_log = log;
        caps.from_cache = true;
        return Detected {
            caps,
            to_store: None,
            demoted: record.demoted,
        };
    }
    let why = match old_fingerprint {
        Some(old) => format!("fingerprint changed from `{old}` to `{}`", pre.fingerprint),
        None => format!("no earlier probe stored; fingerprint `{}`", pre.fingerprint),
    };
    // A miss is not a fault: the step did its job (it decided to probe afresh), so the log
    // shows it as passed rather than as a red cross on the hardware page.
    note(&mut pre.log, true, why);
    let caps = probe(ffmpeg, roots, pre).await;
    let to_store = Some(Record {
        version: RECORD_VERSION,
        fingerprint: caps.fingerprint.clone(),
        capabilities: Capabilities {
            from_cache: false,
            ..caps.clone()
        },
        demoted: Vec::new(),
    });
    Detected {
        caps,
        to_store,
        demoted: Vec::new(),
    }
}

fn note(log: &mut Vec<super::ProbeLogEntry>, ok: bool, text: String) {
    let s = Step {
        backend: "cache",
        device: None,
        name: "fingerprint".into(),
    };
    probe_log::note(log, s, ok, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::NodeAccess;

    fn node(path: &str, driver: &str) -> RenderNode {
        RenderNode {
            path: path.into(),
            bus: Some("pci".into()),
            vendor: Some("0x8086".into()),
            device: Some("0x4e61".into()),
            kernel_driver: Some(driver.into()),
            compatible: None,
            access: NodeAccess::Ok,
        }
    }

    #[test]
    fn fingerprint_changes_with_build_and_hardware() {
        let line = Some("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2025");
        let a = fingerprint(line, &[node("/dev/dri/renderD128", "i915")]);
        assert!(a.starts_with("ffmpeg version 5.1.9"), "{a}");
        assert!(
            a.contains("/dev/dri/renderD128 pci 0x8086 0x4e61 i915"),
            "{a}"
        );
        assert_eq!(a, fingerprint(line, &[node("/dev/dri/renderD128", "i915")]));
        assert_ne!(a, fingerprint(line, &[node("/dev/dri/renderD128", "xe")]));
        assert_ne!(a, fingerprint(line, &[]));
        assert_ne!(
            a,
            fingerprint(
                Some("ffmpeg version 7.0.2"),
                &[node("/dev/dri/renderD128", "i915")]
            )
        );
        assert!(fingerprint(None, &[]).contains("render nodes: none"));
    }

    /// Detect as the engine does between starts: `kept` is the record as JSON (the store does
    /// not interpret it), replaced when detection returns a new one.
    async fn detect(roots: &Roots, kept: &mut Option<serde_json::Value>) -> Capabilities {
        let record = kept.clone().map(|v| serde_json::from_value(v).unwrap());
        let d = detect_reusing(Path::new("/usr/bin/ffmpeg"), roots, record).await;
        if let Some(r) = d.to_store {
            *kept = Some(serde_json::to_value(r).unwrap());
        }
        d.caps
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reused_while_the_fingerprint_matches() {
        let tmp = tempfile::tempdir().unwrap();
        let mut kept = None;
        let roots = Roots {
            sys_class_drm: tmp.path().join("sys"),
            dev_dri: tmp.path().join("dri"),
            dev: tmp.path().join("dev"),
        };
        let first = detect(&roots, &mut kept).await;
        assert!(!first.from_cache);
        assert!(
            first
                .probe_log
                .iter()
                .any(|e| e.step == "test_encode:libx265")
        );

        let second = detect(&roots, &mut kept).await;
        assert!(second.from_cache);
        assert_eq!(second.cpu_encoders, first.cpu_encoders);
        assert_eq!(second.probed_at, first.probed_at);
        let hit = second
            .probe_log
            .iter()
            .find(|e| e.backend == "cache")
            .unwrap();
        assert!(
            hit.ok && hit.output.contains("fingerprint unchanged"),
            "{hit:?}"
        );
        // The stored log still shows the original commands.
        assert!(
            second
                .probe_log
                .iter()
                .any(|e| e.step == "test_encode:libx265")
        );

        // A render node appears: the cache is invalid and the node gets probed.
        std::fs::create_dir_all(&roots.dev_dri).unwrap();
        std::fs::write(roots.dev_dri.join("renderD128"), b"").unwrap();
        let third = detect(&roots, &mut kept).await;
        assert!(!third.from_cache);
        let miss = third
            .probe_log
            .iter()
            .find(|e| e.backend == "cache")
            .unwrap();
        assert!(miss.output.contains("fingerprint changed"), "{miss:?}");
        assert_eq!(third.vaapi.devices.len(), 1);
        assert!(third.vaapi.devices[0].failure.is_some());
        assert!(third.probe_log.iter().any(|e| e.step == "driver"));
    }
}
