//! Encoder capabilities of this machine. `detect` asks ffmpeg for its version, encoder list and
//! hwaccels, proves each CPU encoder we can use with a one-frame test encode, finds VAAPI
//! render nodes (`discover`) and proves each `_vaapi` encoder on each node (`vaapi`). Every
//! command is recorded with its real output in a probe log the UI shows, so "why is there no
//! hardware encoding?" has an answer (`report`). `cache` reuses a previous result while the
//! fingerprint (ffmpeg build + render nodes) is unchanged; `select` picks the backend per
//! codec. Parsing and classification are pure (`parse`, `classify`); only `step` runs
//! processes, through `crate::process`. V4L2 memory-to-memory encoders are found and proved
//! natively, without ffmpeg (`v4l2`), then mapped to the
//! ffmpeg encoder that drives them.

mod cache;
mod classify;
mod discover;
mod parse;
mod report;
mod select;
mod step;
mod v4l2;
mod vaapi;

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{CpuEncoder, VideoCodec};

pub use crate::model::{Backend, RateControl};
pub use cache::{SETTING_KEY, detect_cached, detect_cached_with, fingerprint};
pub use classify::{DriverInfo, Failure, Problem, classify, parse_driver, parse_supported_rc};
pub use discover::{NodeAccess, RenderNode, Roots, render_nodes};
pub use parse::{parse_encoders, parse_hwaccels, parse_version, version_line};
pub use report::{ProbeReport, render_text, vaapi_unavailable_reason};
pub use select::{
    select_backend, select_backend_for, v4l2_choice, vaapi_choice, verified_backends,
};
pub use v4l2::{EncodeError, EncodeProblem, TestEncode};
pub use v4l2::{FrameSizes, PixelFormat, Role, V4l2Device, V4l2Encoder, V4l2Summary};
pub use vaapi::{VAAPI_ENCODERS, VaapiDevice, VaapiEncoder};

/// `-version`, `-encoders` and `-hwaccels` answer instantly; anything slower means a broken
/// binary.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);
/// A one-frame encode includes encoder start-up (SVT-AV1 allocates a lot); generous for
/// slow ARM boards.
const TEST_ENCODE_TIMEOUT: Duration = Duration::from_secs(30);
/// All V4L2 nodes together; each device has its own smaller budget (`v4l2::DEVICE_BUDGET`),
/// this only guards against a driver that blocks inside an ioctl.
const V4L2_PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// One step of capability detection, as shown in the UI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProbeLogEntry {
    /// RFC 3339 UTC time the step finished.
    pub at: String,
    /// "cpu", "vaapi", "v4l2m2m", or "cache" for the fingerprint check.
    pub backend: String,
    /// Device node for hardware backends.
    pub device: Option<String>,
    /// "version", "encoders", "hwaccels", "test_encode:<encoder>", "discover", "driver",
    /// "test_encode:<encoder>:<rc>[:low_power][:10bit]", "fingerprint"; for V4L2 "discover",
    /// "querycap" (formats and frame sizes too) and "test_encode:<FOURCC>" (native, no ffmpeg).
    pub step: String,
    /// The command line that was run (empty for steps that run nothing).
    pub command: String,
    pub ok: bool,
    /// What the command printed (stdout, then stderr), or why it could not run.
    pub output: String,
}

/// An encoder ffmpeg lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EncoderInfo {
    pub codec: VideoCodec,
    pub encoder: String,
    /// A one-frame test encode succeeded.
    pub verified: bool,
}

/// VAAPI as this machine has it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VaapiSummary {
    /// The `_vaapi` video encoders this ffmpeg lists (compiled in; says nothing of the GPU).
    pub listed_encoders: Vec<String>,
    /// Render nodes found and what each proved.
    pub devices: Vec<VaapiDevice>,
    /// Why no VAAPI encoder is verified; `None` when at least one is.
    pub unavailable_reason: Option<String>,
}

/// What this ffmpeg and this machine can do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Capabilities {
    pub ffmpeg_version: Option<String>,
    pub cpu_encoders: Vec<EncoderInfo>,
    pub probe_log: Vec<ProbeLogEntry>,
    pub probed_at: String,
    /// `ffmpeg -hwaccels` (decoding methods compiled in).
    #[serde(default)]
    pub hwaccels: Vec<String>,
    #[serde(default)]
    pub vaapi: VaapiSummary,
    /// V4L2 memory-to-memory devices and what their native test encodes proved.
    #[serde(default)]
    pub v4l2: V4l2Summary,
    /// What the result depends on (see `cache::fingerprint`).
    #[serde(default)]
    pub fingerprint: String,
    /// Reused from the store because the fingerprint matched.
    #[serde(default)]
    pub from_cache: bool,
}

impl Capabilities {
    /// Whether ffmpeg lists encoder `e` (see `EncoderInfo::verified` for the test result).
    pub fn has_encoder(&self, e: CpuEncoder) -> bool {
        self.cpu_encoders.iter().any(|i| i.encoder == e.as_str())
    }
}

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
struct Preflight {
    log: Vec<ProbeLogEntry>,
    version_text: Option<String>,
    nodes: Vec<RenderNode>,
    fingerprint: String,
}

async fn preflight(ffmpeg: &Path, roots: &Roots) -> Preflight {
    let mut log = Vec::new();
    let out = step::run(
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
    let discover = step::Step {
        backend: "vaapi",
        device: None,
        name: "discover".into(),
    };
    // Finding no node is an answer, not a failure; the reason says what it means.
    step::note(&mut log, discover, true, listing);
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

async fn probe(ffmpeg: &Path, roots: &Roots, pre: Preflight) -> Capabilities {
    let Preflight {
        mut log,
        version_text,
        nodes,
        fingerprint,
    } = pre;
    let mut cpu_encoders = Vec::new();
    let mut vaapi = VaapiSummary::default();
    let listed = step::run(
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
        let verified = step::run(
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
    let hwaccels = step::run(
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
        probed_at: step::now_rfc3339(),
        hwaccels,
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
    let s = step::Step {
        backend: "v4l2m2m",
        device: None,
        name: "probe".into(),
    };
    step::note(log, s, false, why);
    V4l2Summary::default()
}

fn cpu_step(name: &str) -> step::Step<'static> {
    step::Step {
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
        assert_eq!(
            caps.vaapi.listed_encoders,
            ["hevc_vaapi", "h264_vaapi", "vp9_vaapi"]
        );
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
