//! Runs the V4L2 probe on the devices: lists `/dev/video*`, queries each node (QUERYCAP,
//! ENUM_FMT on both queues, ENUM_FRAMESIZES of coded formats) into a [`NodeInfo`], classifies it
//! with the pure [`classify_node`] and test-encodes every coded format of an encoder
//! (`encode`), logging each step. Blocking; `hw::detect` runs it on the blocking pool.

use std::path::Path;
use std::time::Instant;

use super::super::ProbeLogEntry;
use super::super::step;
use super::encode;
use super::sys::{self as sys, Device};
use super::{
    DEVICE_BUDGET, FMT_FLAG_COMPRESSED, FrameSizes, NodeInfo, PixelFormat, Role, V4l2Device, c_str,
    classify_node, fourcc, fourcc_str, is_coded, m2m_kind, queue_types, video_nodes,
};

/// Formats per queue we read at most (vicodec has 28 raw formats; a loop guard, not a limit
/// any driver reaches).
const MAX_FORMATS: u32 = 64;
/// Discrete frame sizes we read at most per format.
const MAX_SIZES: u32 = 32;
/// Query, classify and test-encode every video node under `dev`. Blocking; run it off the
/// async runtime. Every step lands in `log`.
pub fn probe_all(dev: &Path, log: &mut Vec<ProbeLogEntry>) -> Vec<V4l2Device> {
    let nodes = video_nodes(dev);
    let listing = if nodes.is_empty() {
        format!("no video nodes under {}", dev.display())
    } else {
        nodes
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    step::note(log, v4l2_step(None, "discover"), true, listing);
    nodes.iter().map(|p| probe_node(p, log)).collect()
}

/// One line per node for the cache fingerprint: path, driver and card, cheaply (QUERYCAP only).
pub fn describe_nodes(dev: &Path) -> Vec<String> {
    video_nodes(dev)
        .iter()
        .map(|p| match Device::open(p).and_then(|d| d.querycap()) {
            Ok(c) => format!("{} {} {}", p.display(), c_str(&c.driver), c_str(&c.card)),
            Err(e) => format!("{} ({e})", p.display()),
        })
        .collect()
}

fn v4l2_step<'a>(device: Option<&'a str>, name: &str) -> step::Step<'a> {
    step::Step {
        backend: "v4l2m2m",
        device,
        name: name.to_string(),
    }
}

fn probe_node(path: &Path, log: &mut Vec<ProbeLogEntry>) -> V4l2Device {
    let shown = path.display().to_string();
    let started = Instant::now();
    let info = match query(path) {
        Ok(info) => info,
        Err(e) => {
            let why = format!("cannot query {shown}: {e}");
            step::note(log, v4l2_step(Some(&shown), "querycap"), false, why.clone());
            return V4l2Device {
                path: shown,
                driver: String::new(),
                card: String::new(),
                bus_info: String::new(),
                role: Role::NotM2m,
                mplane: false,
                output_formats: vec![],
                capture_formats: vec![],
                frame_sizes: vec![],
                encoders: vec![],
                verified: false,
                error: Some(why),
            };
        }
    };
    let mut device = classify_node(&info);
    step::note(
        log,
        v4l2_step(Some(&shown), "querycap"),
        true,
        describe_info(&info, device.role),
    );
    let dev = &mut device;
    for enc in &mut dev.encoders {
        let name = format!("test_encode:{}", enc.format);
        let remaining = DEVICE_BUDGET.saturating_sub(started.elapsed());
        let result = encode::run(path, &info, &enc.format, dev.mplane, remaining);
        let text = match &result {
            Ok(t) => t.describe(),
            Err(p) => format!("{}: {}", p.code(), p.detail()),
        };
        step::note(log, v4l2_step(Some(&shown), &name), result.is_ok(), text);
        match result {
            Ok(t) => {
                enc.verified = true;
                enc.test_encode = Some(t);
            }
            Err(p) => enc.problem = Some(p),
        }
    }
    dev.verified = dev.encoders.iter().any(|e| e.verified);
    device
}

fn describe_info(info: &NodeInfo, role: Role) -> String {
    let list = |fs: &[PixelFormat]| {
        fs.iter()
            .map(|f| f.fourcc.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "driver {} card {:?} bus {} caps {:#010x} device_caps {:#010x}: {role:?}\nOUTPUT: {}\nCAPTURE: {}\nframe sizes: {:?}",
        info.driver,
        info.card,
        info.bus_info,
        info.capabilities,
        info.device_caps,
        list(&info.output),
        list(&info.capture),
        info.frame_sizes
    )
}

/// QUERYCAP, ENUM_FMT on both queues, ENUM_FRAMESIZES of the coded formats.
fn query(path: &Path) -> std::io::Result<NodeInfo> {
    let d = Device::open(path)?;
    let cap = d.querycap()?;
    let mplane = m2m_kind(cap.capabilities, cap.device_caps);
    let mut info = NodeInfo {
        path: path.display().to_string(),
        driver: c_str(&cap.driver),
        card: c_str(&cap.card),
        bus_info: c_str(&cap.bus_info),
        capabilities: cap.capabilities,
        device_caps: cap.device_caps,
        output: vec![],
        capture: vec![],
        frame_sizes: vec![],
    };
    let Some(mplane) = mplane else {
        return Ok(info);
    };
    let (out_t, cap_t) = queue_types(mplane);
    info.output = formats(&d, out_t)?;
    info.capture = formats(&d, cap_t)?;
    for f in info.output.iter().chain(&info.capture) {
        if f.compressed
            && let Some(sizes) = frame_sizes(&d, fourcc(&f.fourcc))?
        {
            info.frame_sizes.push((f.fourcc.clone(), sizes));
        }
    }
    Ok(info)
}

fn formats(d: &Device, type_: u32) -> std::io::Result<Vec<PixelFormat>> {
    let mut out = Vec::new();
    for i in 0..MAX_FORMATS {
        let Some(f) = d.enum_fmt(type_, i)? else {
            break;
        };
        let fourcc = fourcc_str(f.pixelformat);
        out.push(PixelFormat {
            compressed: f.flags & FMT_FLAG_COMPRESSED != 0 || is_coded(&fourcc),
            description: c_str(&f.description),
            fourcc,
        });
    }
    Ok(out)
}

fn frame_sizes(d: &Device, fourcc: u32) -> std::io::Result<Option<FrameSizes>> {
    let Some(first) = d.enum_framesizes(fourcc, 0)? else {
        return Ok(None);
    };
    if first.type_ != sys::FRMSIZE_TYPE_DISCRETE {
        let s = first.sizes;
        return Ok(Some(FrameSizes::Stepwise {
            min_width: s[0],
            max_width: s[1],
            step_width: s[2].max(1),
            min_height: s[3],
            max_height: s[4],
            step_height: s[5].max(1),
        }));
    }
    let mut sizes = vec![(first.sizes[0], first.sizes[1])];
    for i in 1..MAX_SIZES {
        match d.enum_framesizes(fourcc, i)? {
            Some(f) => sizes.push((f.sizes[0], f.sizes[1])),
            None => break,
        }
    }
    Ok(Some(FrameSizes::Discrete { sizes }))
}
