//! Capabilities for people: why no VAAPI encoder can be used (one sentence built from the
//! typed failures), the `alchemist probe` text report, and its JSON shape. Pure.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use super::select::select_backend;
use super::{Capabilities, VaapiSummary};
use crate::model::{Backend, VideoCodec};

/// What `alchemist probe --json` prints: the capabilities plus the verdicts.
#[derive(Debug, Serialize)]
pub struct ProbeReport {
    /// One paragraph: what encodes what, and why hardware is not used when it is not.
    pub summary: String,
    /// codec → backend that would encode it.
    pub selected: BTreeMap<String, Backend>,
    #[serde(flatten)]
    pub capabilities: Capabilities,
}

impl ProbeReport {
    pub fn new(capabilities: Capabilities) -> ProbeReport {
        ProbeReport {
            summary: summary(&capabilities),
            selected: selected(&capabilities),
            capabilities,
        }
    }
}

const CODECS: [VideoCodec; 4] = [
    VideoCodec::Hevc,
    VideoCodec::Av1,
    VideoCodec::H264,
    VideoCodec::Vp9,
];

/// codec → backend for every codec some backend has verified.
fn selected(caps: &Capabilities) -> BTreeMap<String, Backend> {
    CODECS
        .into_iter()
        .filter(|c| !super::verified_backends(*c, caps).is_empty())
        .map(|c| (c.as_str().to_string(), select_backend(c, caps)))
        .collect()
}

/// Why VAAPI is not usable, or `None` when some encoder on some node is verified.
pub fn vaapi_unavailable_reason(
    vaapi: &VaapiSummary,
    hwaccels: &[String],
    dev_dri: &str,
) -> Option<String> {
    if vaapi
        .devices
        .iter()
        .any(|d| d.encoders.iter().any(|e| e.verified))
    {
        return None;
    }
    if vaapi.listed_encoders.is_empty() {
        let build = if hwaccels.iter().any(|h| h == "vaapi") {
            "it has the vaapi decoder hwaccel but no VAAPI encoder"
        } else {
            "it was built without VAAPI"
        };
        return Some(format!(
            "this ffmpeg lists no VAAPI encoders ({build}), so only CPU encoders can be used"
        ));
    }
    let listed = vaapi.listed_encoders.join(", ");
    if vaapi.devices.is_empty() {
        return Some(format!(
            "there is no render node under {dev_dri} (no GPU, or the device is not passed to \
             this machine or container); ffmpeg lists {listed} but has no device to run them on"
        ));
    }
    let per_device: Vec<String> = vaapi
        .devices
        .iter()
        .map(|d| match &d.failure {
            Some(f) => format!("{}: {} ({})", d.node.path, f.problem.explain(), f.detail),
            None => {
                let encoders: Vec<String> = d
                    .encoders
                    .iter()
                    .map(|e| match &e.failure {
                        Some(f) => format!("{} {}", e.encoder, f.problem.code()),
                        None => format!("{} failed", e.encoder),
                    })
                    .collect();
                format!(
                    "{} ({}): no encoder passed its test encode ({})",
                    d.node.path,
                    d.driver.as_deref().unwrap_or("unknown driver"),
                    encoders.join(", ")
                )
            }
        })
        .collect();
    Some(per_device.join("; "))
}

fn summary(caps: &Capabilities) -> String {
    format!("{} {}", vaapi_summary(caps), v4l2_summary(caps))
}

/// One sentence on V4L2: which device encoders ffmpeg can use, or why none.
fn v4l2_summary(caps: &Capabilities) -> String {
    match &caps.v4l2.unavailable_reason {
        Some(reason) => format!("V4L2 M2M not used: {reason}."),
        None => {
            let usable: Vec<String> = [VideoCodec::H264, VideoCodec::Hevc]
                .into_iter()
                .filter_map(|c| caps.v4l2.usable(c))
                .map(|(d, e)| {
                    format!(
                        "{} on {}",
                        e.ffmpeg_encoder.as_deref().unwrap_or("?"),
                        d.path
                    )
                })
                .collect();
            format!("V4L2 M2M encoders verified: {}.", usable.join(", "))
        }
    }
}

fn vaapi_summary(caps: &Capabilities) -> String {
    let cpu: Vec<&str> = caps
        .cpu_encoders
        .iter()
        .filter(|e| e.verified)
        .map(|e| e.encoder.as_str())
        .collect();
    let cpu = if cpu.is_empty() {
        "no CPU encoder passed its test encode".to_string()
    } else {
        format!("CPU encoders verified: {}", cpu.join(", "))
    };
    match &caps.vaapi.unavailable_reason {
        // A usable V4L2 encoder makes "only CPU" untrue; its own sentence follows.
        Some(reason) if caps.v4l2.unavailable_reason.is_none() => {
            format!("VAAPI not used: {reason}. {cpu}.")
        }
        Some(reason) => format!("Only CPU encoders can be used: {reason}. {cpu}."),
        None => {
            let hw: Vec<String> = caps
                .vaapi
                .devices
                .iter()
                .flat_map(|d| {
                    d.encoders
                        .iter()
                        .filter(|e| e.verified)
                        .map(move |e| format!("{} on {}", e.encoder, d.node.path))
                })
                .collect();
            format!("VAAPI encoders verified: {}. {cpu}.", hw.join(", "))
        }
    }
}

fn render_v4l2(s: &mut String, caps: &Capabilities) {
    let _ = writeln!(s, "\nV4L2 M2M:");
    let _ = writeln!(
        s,
        "  ffmpeg lists: {}",
        none_if_empty(&caps.v4l2.listed_encoders.join(", "))
    );
    if caps.v4l2.devices.is_empty() {
        let _ = writeln!(s, "  devices: none");
    }
    for d in &caps.v4l2.devices {
        if let Some(e) = &d.error {
            let _ = writeln!(s, "  {}  unusable: {e}", d.path);
            continue;
        }
        let fourccs = |fs: &[super::PixelFormat]| {
            fs.iter()
                .map(|f| f.fourcc.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(
            s,
            "  {}  driver {} card {:?} {:?}{}",
            d.path,
            d.driver,
            d.card,
            d.role,
            if d.mplane { " (mplane)" } else { "" }
        );
        let _ = writeln!(s, "    OUTPUT:  {}", fourccs(&d.output_formats));
        let _ = writeln!(s, "    CAPTURE: {}", fourccs(&d.capture_formats));
        for e in &d.encoders {
            let ffmpeg = e.ffmpeg_encoder.as_deref().unwrap_or("no ffmpeg encoder");
            let state = match (&e.test_encode, &e.problem) {
                (Some(t), _) => format!("verified: {}", t.describe()),
                (None, Some(p)) => format!("{}: {}", p.code(), p.detail()),
                (None, None) => "not tested".into(),
            };
            let _ = writeln!(s, "    {:<5} ({ffmpeg}) {state}", e.format);
        }
    }
}

/// The human-readable report `alchemist probe` prints.
pub fn render_text(caps: &Capabilities) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "ffmpeg {}  (probed {}{})",
        caps.ffmpeg_version.as_deref().unwrap_or("not found"),
        caps.probed_at,
        if caps.from_cache { ", from cache" } else { "" }
    );
    let _ = writeln!(s, "\n{}\n", summary(caps));
    let _ = writeln!(s, "CPU encoders:");
    for e in &caps.cpu_encoders {
        let ok = if e.verified { "verified" } else { "FAILED" };
        let _ = writeln!(s, "  {:<5} {:<10} {ok}", e.codec.as_str(), e.encoder);
    }
    let _ = writeln!(s, "\nVAAPI:");
    let _ = writeln!(
        s,
        "  ffmpeg lists: {}",
        none_if_empty(&caps.vaapi.listed_encoders.join(", "))
    );
    let _ = writeln!(
        s,
        "  hwaccels: {}",
        none_if_empty(&caps.hwaccels.join(", "))
    );
    let _ = writeln!(
        s,
        "  tonemapping filters: {}",
        none_if_empty(&caps.filters.join(", "))
    );
    if caps.vaapi.devices.is_empty() {
        let _ = writeln!(s, "  devices: none");
    }
    for d in &caps.vaapi.devices {
        let _ = writeln!(
            s,
            "  {}  driver {}",
            d.node.describe(),
            d.driver.as_deref().unwrap_or("unknown")
        );
        if let Some(f) = &d.failure {
            let _ = writeln!(s, "    unusable: {} ({})", f.problem.explain(), f.detail);
        }
        for e in &d.encoders {
            let state = match (&e.failure, e.verified) {
                (_, true) => format!(
                    "verified, {}{}{}",
                    e.rate_control.map_or("?", |r| r.as_str()),
                    if e.low_power { ", low-power" } else { "" },
                    if e.ten_bit { ", 10-bit" } else { "" }
                ),
                (Some(f), false) => format!("{}: {}", f.problem.code(), f.detail),
                (None, false) => "failed".into(),
            };
            let _ = writeln!(s, "    {:<11} {state}", e.encoder);
        }
    }
    render_v4l2(&mut s, caps);
    let _ = writeln!(s, "\nSelected backend per codec:");
    for (codec, backend) in selected(caps) {
        let _ = writeln!(s, "  {codec:<5} {backend}");
    }
    let _ = writeln!(s, "\nProbe log:");
    for e in &caps.probe_log {
        let mark = if e.ok { "ok  " } else { "FAIL" };
        let what = if e.command.is_empty() {
            e.output.lines().next().unwrap_or("").to_string()
        } else {
            format!("$ {}", e.command)
        };
        let _ = writeln!(s, "  {mark} {}/{}: {what}", e.backend, e.step);
        if !e.ok && !e.command.is_empty() {
            for line in e.output.lines().take(4) {
                let _ = writeln!(s, "         {line}");
            }
        }
    }
    s
}

fn none_if_empty(s: &str) -> &str {
    if s.is_empty() { "none" } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::{Failure, NodeAccess, Problem, RenderNode, VaapiDevice};

    fn device(failure: Option<Failure>) -> VaapiDevice {
        VaapiDevice {
            node: RenderNode {
                path: "/dev/dri/renderD128".into(),
                bus: Some("pci".into()),
                vendor: Some("0x8086".into()),
                device: None,
                kernel_driver: Some("i915".into()),
                compatible: None,
                access: NodeAccess::PermissionDenied,
            },
            driver: None,
            driver_vendor: None,
            failure,
            encoders: vec![],
        }
    }

    #[test]
    fn reasons_name_the_cause() {
        let listed = vec!["hevc_vaapi".to_string()];
        let no_build = VaapiSummary::default();
        assert!(
            vaapi_unavailable_reason(&no_build, &["vdpau".into()], "/dev/dri")
                .unwrap()
                .contains("built without VAAPI")
        );
        let no_nodes = VaapiSummary {
            listed_encoders: listed.clone(),
            ..Default::default()
        };
        let r = vaapi_unavailable_reason(&no_nodes, &[], "/dev/dri").unwrap();
        assert!(
            r.contains("no render node under /dev/dri") && r.contains("hevc_vaapi"),
            "{r}"
        );
        let denied = VaapiSummary {
            listed_encoders: listed,
            devices: vec![device(Some(Failure {
                problem: Problem::PermissionDenied,
                detail: "No VA display found for device /dev/dri/renderD128.".into(),
                supported_rc: vec![],
            }))],
            unavailable_reason: None,
        };
        let r = vaapi_unavailable_reason(&denied, &[], "/dev/dri").unwrap();
        assert!(
            r.starts_with("/dev/dri/renderD128: the render node exists but may not"),
            "{r}"
        );
    }
}
