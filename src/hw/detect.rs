//! Detection, step by step: the cheap preflight (ffmpeg's version, render nodes and video
//! nodes: what the fingerprint is made of), then the probe proper (the encoder list, a test
//! encode per CPU encoder, hwaccels, each VAAPI encoder on each render node, the V4L2 devices),
//! every command recorded in the probe log.

use std::ffi::OsString;
use std::path::Path;

use super::discover::{RenderNode, Roots, render_nodes};
use super::parse::{parse_encoders, parse_hwaccels, parse_version, version_line};
use super::report::vaapi_unavailable_reason;
use super::vaapi::VAAPI_ENCODERS;
use super::{
    Capabilities, EncoderInfo, ProbeLogEntry, QUERY_TIMEOUT, TEST_ENCODE_TIMEOUT,
    V4L2_PROBE_TIMEOUT, V4l2Summary, VaapiSummary, fingerprint, probe_log, v4l2, vaapi,
};
use crate::model::CpuEncoder;

/// Detect with the system's /dev/dri and /sys/class/drm. Never fails: problems end up in
/// `probe_log` and `vaapi.unavailable_reason`.
pub async fn detect(ffmpeg: &Path) -> Capabilities {
    detect_with(ffmpeg, &Roots::system()).await
}

/// Detect with render nodes looked up under `roots`.
pub async fn detect_with(ffmpeg: &Path, roots: &Roots) -> Capabilities {
    let pre = preflight(ffmpeg, roots).await;
    probe(ffmpeg, roots, pre).await
}

/// The cheap part: what the fingerprint needs (version, render nodes).
pub(super) struct Preflight {
    pub log: Vec<ProbeLogEntry>,
    version_text: Option<String>,
    nodes: Vec<RenderNode>,
    pub fingerprint: String,
}

pub(super) async fn preflight(ffmpeg: &Path, roots: &Roots) -> Preflight {
    let mut log = Vec::new();
    let out = probe_log::run(
        &mut log,
        ffmpeg,
        cpu_step("version"),
        &os(&["-hide_banner", "-version"]),
        QUERY_TIMEOUT,
    )
    .await;
    let version_text = out.ok.then_some(out.text);
    let nodes = render_nodes(roots);
    let listing = if nodes.is_empty() {
        format!(
            "no render nodes under {} or {}",
            roots.dev_dri.display(),
            roots.sys_class_drm.display()
        )
    } else {
        nodes
            .iter()
            .map(|n| format!("{} (access: {:?})", n.describe(), n.access))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let discover = probe_log::Step {
        backend: "vaapi",
        device: None,
        name: "discover".into(),
    };
    // Finding no node is an answer, not a failure; the reason says what it means.
    probe_log::note(&mut log, discover, true, listing);
    let dev = roots.dev.clone();
    // Opening a video node is a syscall into its driver: keep it off the async workers.
    let video = tokio::task::spawn_blocking(move || v4l2::describe_nodes(&dev))
        .await
        .unwrap_or_default();
    let fingerprint = format!(
        "{}; video nodes: {}",
        fingerprint(
            version_text.as_deref().and_then(version_line).as_deref(),
            &nodes,
        ),
        if video.is_empty() {
            "none".to_string()
        } else {
            video.join(", ")
        }
    );
    Preflight {
        log,
        version_text,
        nodes,
        fingerprint,
    }
}

pub(super) async fn probe(ffmpeg: &Path, roots: &Roots, pre: Preflight) -> Capabilities {
    let Preflight {
        mut log,
        version_text,
        nodes,
        fingerprint,
    } = pre;
    let mut cpu_encoders = Vec::new();
    let mut vaapi = VaapiSummary::default();
    let listed = probe_log::run(
        &mut log,
        ffmpeg,
        cpu_step("encoders"),
        &os(&["-hide_banner", "-encoders"]),
        QUERY_TIMEOUT,
    )
    .await;
    let listed = if listed.ok {
        parse_encoders(&listed.text)
    } else {
        Vec::new()
    };
    let lists = |name: &str| listed.iter().any(|(n, k, _)| *k == 'V' && n == name);
    for encoder in CpuEncoder::ALL {
        if !lists(encoder.as_str()) {
            continue;
        }
        let step_name = format!("test_encode:{}", encoder.as_str());
        let verified = probe_log::run(
            &mut log,
            ffmpeg,
            cpu_step(&step_name),
            &test_encode_args(encoder),
            TEST_ENCODE_TIMEOUT,
        )
        .await
        .ok;
        cpu_encoders.push(EncoderInfo {
            codec: encoder.codec(),
            encoder: encoder.as_str().to_string(),
            verified,
        });
    }
    let hwaccels = probe_log::run(
        &mut log,
        ffmpeg,
        cpu_step("hwaccels"),
        &os(&["-hide_banner", "-hwaccels"]),
        QUERY_TIMEOUT,
    )
    .await;
    let hwaccels = if hwaccels.ok {
        parse_hwaccels(&hwaccels.text)
    } else {
        Vec::new()
    };
    let filters = probe_log::run(
        &mut log,
        ffmpeg,
        cpu_step("filters"),
        &os(&["-hide_banner", "-filters"]),
        QUERY_TIMEOUT,
    )
    .await;
    let filters = if filters.ok {
        super::parse::parse_tonemap_filters(&filters.text)
    } else {
        Vec::new()
    };
    vaapi.listed_encoders = VAAPI_ENCODERS
        .iter()
        .filter(|(_, e)| lists(e))
        .map(|(_, e)| e.to_string())
        .collect();
    if !vaapi.listed_encoders.is_empty() {
        for node in nodes {
            let device = vaapi::verify_device(&mut log, ffmpeg, node, &vaapi.listed_encoders).await;
            vaapi.devices.push(device);
        }
    }
    vaapi.unavailable_reason =
        vaapi_unavailable_reason(&vaapi, &hwaccels, &roots.dev_dri.display().to_string());
    let mut v4l2 = probe_v4l2(&mut log, &roots.dev).await;
    v4l2.listed_encoders = listed
        .iter()
        .filter(|(n, k, _)| *k == 'V' && n.ends_with("_v4l2m2m"))
        .map(|(n, _, _)| n.clone())
        .collect();
    v4l2.unavailable_reason = v4l2::unavailable_reason(&v4l2, &roots.dev.display().to_string());
    Capabilities {
        ffmpeg_version: version_text.as_deref().and_then(parse_version),
        cpu_encoders,
        probe_log: log,
        probed_at: probe_log::now_rfc3339(),
        hwaccels,
        filters,
        vaapi,
        v4l2,
        fingerprint,
        from_cache: false,
    }
}

/// The V4L2 probe is blocking ioctls: it runs on the blocking pool, bounded in time.
async fn probe_v4l2(log: &mut Vec<ProbeLogEntry>, dev: &Path) -> V4l2Summary {
    let dev = dev.to_path_buf();
    let task = tokio::task::spawn_blocking(move || {
        let mut log = Vec::new();
        let devices = v4l2::probe_all(&dev, &mut log);
        (devices, log)
    });
    let why = match tokio::time::timeout(V4L2_PROBE_TIMEOUT, task).await {
        Ok(Ok((devices, mut entries))) => {
            log.append(&mut entries);
            return V4l2Summary {
                devices,
                ..V4l2Summary::default()
            };
        }
        Ok(Err(e)) => format!("the V4L2 probe stopped: {e}"),
        Err(_) => format!(
            "the V4L2 probe took longer than {} s (a driver blocked in an ioctl)",
            V4L2_PROBE_TIMEOUT.as_secs()
        ),
    };
    let s = probe_log::Step {
        backend: "v4l2m2m",
        device: None,
        name: "probe".into(),
    };
    probe_log::note(log, s, false, why);
    V4l2Summary::default()
}

fn cpu_step(name: &str) -> probe_log::Step<'static> {
    probe_log::Step {
        backend: "cpu",
        device: None,
        name: name.to_string(),
    }
}

fn os(items: &[&str]) -> Vec<OsString> {
    items.iter().map(OsString::from).collect()
}

/// Encode one frame of a generated test picture and throw it away. `-v error` so that a
/// failure says why (the reference server probed at `-v quiet` and logged nothing).
pub fn test_encode_args(encoder: CpuEncoder) -> Vec<OsString> {
    os(&[
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-frames:v",
        "1",
        "-c:v",
        encoder.as_str(),
        "-f",
        "null",
        "-",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::{Backend, select_backend};
    use crate::model::VideoCodec;

    fn no_gpu() -> (tempfile::TempDir, Roots) {
        let tmp = tempfile::tempdir().unwrap();
        let roots = Roots {
            sys_class_drm: tmp.path().join("sys"),
            dev_dri: tmp.path().join("dri"),
            dev: tmp.path().join("dev"),
        };
        (tmp, roots)
    }

    #[tokio::test]
    async fn missing_ffmpeg_is_explained() {
        let (_tmp, roots) = no_gpu();
        let caps = detect_with(Path::new("/nonexistent/ffmpeg"), &roots).await;
        assert!(caps.cpu_encoders.is_empty());
        assert_eq!(caps.ffmpeg_version, None);
        assert!(!caps.has_encoder(CpuEncoder::Libx265));
        let first = &caps.probe_log[0];
        assert!(!first.ok);
        assert_eq!(first.step, "version");
        assert!(
            first.output.contains("could not run /nonexistent/ffmpeg"),
            "{}",
            first.output
        );
        assert!(first.at.ends_with('Z'), "{}", first.at);
        let reason = caps.vaapi.unavailable_reason.unwrap();
        assert!(reason.contains("lists no VAAPI encoders"), "{reason}");
    }

    #[tokio::test]
    async fn detects_debian_ffmpeg_without_a_gpu() {
        let (_tmp, roots) = no_gpu();
        let caps = detect_with(Path::new("/usr/bin/ffmpeg"), &roots).await;
        assert!(caps.ffmpeg_version.is_some());
        let x265 = caps
            .cpu_encoders
            .iter()
            .find(|e| e.encoder == "libx265")
            .unwrap();
        assert!(x265.verified);
        assert_eq!(x265.codec, VideoCodec::Hevc);
        assert!(caps.has_encoder(CpuEncoder::Libx264));
        let step = caps
            .probe_log
            .iter()
            .find(|s| s.step == "test_encode:libx265")
            .unwrap();
        assert!(step.ok && step.command.contains("-c:v libx265"), "{step:?}");
        let encoders = caps
            .probe_log
            .iter()
            .find(|s| s.step == "encoders")
            .unwrap();
        assert!(encoders.output.contains("libx265"));
        assert!(caps.hwaccels.iter().any(|h| h == "vaapi"));
        // Debian's ffmpeg 5.1 has vp9_vaapi too, but VP9 is no target: not listed, not probed.
        assert_eq!(caps.vaapi.listed_encoders, ["hevc_vaapi", "h264_vaapi"]);
        assert!(caps.vaapi.devices.is_empty());
        let reason = caps.vaapi.unavailable_reason.as_deref().unwrap();
        assert!(reason.contains("no render node"), "{reason}");
        assert!(
            caps.fingerprint.contains("ffmpeg version 5.1"),
            "{}",
            caps.fingerprint
        );
        assert_eq!(select_backend(VideoCodec::Hevc, &caps), Backend::Cpu);
    }
}
