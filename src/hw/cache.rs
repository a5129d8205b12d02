//! Reuse of a previous detection. Test encodes take seconds (SVT-AV1 start-up, a VAAPI driver
//! per node), so the result is kept in the store's generic settings table under
//! [`SETTING_KEY`] together with a fingerprint of what it depends on: the ffmpeg build (its
//! `-version` line), every render node with its bus, PCI ids and kernel driver, and a forced
//! `LIBVA_DRIVER_NAME`. A new ffmpeg, a GPU added, removed or moved to another driver changes
//! the fingerprint and the next detection probes again. A libva driver package upgrade alone
//! does not; re-probing on demand (`alchemist probe`) covers that.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::discover::{RenderNode, Roots};
use super::step::{self, Step};
use super::{Capabilities, preflight, probe};
use crate::store::Store;

/// Settings key of the cached capabilities.
pub const SETTING_KEY: &str = "hw.capabilities";
/// Bumped when `Capabilities` changes shape in a way old records cannot be read as.
const RECORD_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Record {
    version: u32,
    fingerprint: String,
    capabilities: Capabilities,
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

/// [`detect_cached_with`] on the system's /dev/dri and /sys/class/drm.
pub async fn detect_cached(ffmpeg: &Path, store: &Store) -> Capabilities {
    detect_cached_with(ffmpeg, &Roots::system(), store).await
}

/// Reuse the stored capabilities when the fingerprint matches; otherwise detect and store.
/// Store errors are logged and cost only a re-probe.
pub async fn detect_cached_with(ffmpeg: &Path, roots: &Roots, store: &Store) -> Capabilities {
    let mut pre = preflight(ffmpeg, roots).await;
    let cached = load(store).await;
    if let Some(record) = cached
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
        return caps;
    }
    let why = match load_fingerprint(store).await {
        Some(old) => format!("fingerprint changed from `{old}` to `{}`", pre.fingerprint),
        None => format!("no earlier probe stored; fingerprint `{}`", pre.fingerprint),
    };
    note(&mut pre.log, false, why);
    let caps = probe(ffmpeg, roots, pre).await;
    save(store, &caps).await;
    caps
}

fn note(log: &mut Vec<super::ProbeLogEntry>, ok: bool, text: String) {
    let s = Step {
        backend: "cache",
        device: None,
        name: "fingerprint".into(),
    };
    step::note(log, s, ok, text);
}

async fn load(store: &Store) -> Option<Record> {
    let store = store.clone();
    let value = tokio::task::spawn_blocking(move || store.setting(SETTING_KEY))
        .await
        .ok()?;
    match value {
        Ok(Some(v)) => serde_json::from_value::<Record>(v)
            .ok()
            .filter(|r| r.version == RECORD_VERSION),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read cached capabilities");
            None
        }
    }
}

async fn load_fingerprint(store: &Store) -> Option<String> {
    let store = store.clone();
    let v = tokio::task::spawn_blocking(move || store.setting(SETTING_KEY))
        .await
        .ok()?
        .ok()??;
    v.get("fingerprint")?.as_str().map(str::to_string)
}

async fn save(store: &Store, caps: &Capabilities) {
    let record = Record {
        version: RECORD_VERSION,
        fingerprint: caps.fingerprint.clone(),
        capabilities: Capabilities {
            from_cache: false,
            ..caps.clone()
        },
    };
    let value = match serde_json::to_value(&record) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "cannot encode capabilities");
            return;
        }
    };
    let store = store.clone();
    match tokio::task::spawn_blocking(move || store.set_setting(SETTING_KEY, &value)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot store capabilities"),
        Err(e) => tracing::warn!(error = %e, "capability store task failed"),
    }
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reused_while_the_fingerprint_matches() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("data")).unwrap();
        let roots = Roots {
            sys_class_drm: tmp.path().join("sys"),
            dev_dri: tmp.path().join("dri"),
            dev: tmp.path().join("dev"),
        };
        let ffmpeg = Path::new("/usr/bin/ffmpeg");
        let first = detect_cached_with(ffmpeg, &roots, &store).await;
        assert!(!first.from_cache);
        assert!(
            first
                .probe_log
                .iter()
                .any(|e| e.step == "test_encode:libx265")
        );

        let second = detect_cached_with(ffmpeg, &roots, &store).await;
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
        let third = detect_cached_with(ffmpeg, &roots, &store).await;
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
