//! Runs the V4L2 probe on the devices: lists `/dev/video*`, queries each node through
//! `v4l2r`'s ioctl wrappers (QUERYCAP, ENUM_FMT on both queues, ENUM_FRAMESIZES of coded
//! formats) into a [`NodeInfo`], classifies it with the pure [`classify_node`] and test-encodes
//! every coded format of an encoder (`encode`), logging each step. Blocking; `hw::detect` runs
//! it on the blocking pool.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::Instant;

use v4l2r::bindings::{v4l2_capability, v4l2_frmsizeenum};
use v4l2r::ioctl::{self, EnumFmtError, FmtDesc, FormatFlags, FrameSizeError, FrmSizeTypes};
use v4l2r::nix::errno::Errno;

use super::super::ProbeLogEntry;
use super::super::probe_log;
use super::encode::{self, EncodeError, EncodeProblem};
use super::{
    DEVICE_BUDGET, FrameSizes, NodeInfo, PixelFormat, Role, V4l2Device, c_str, classify_node,
    fourcc, fourcc_str, is_coded, m2m_kind, queue_types, video_nodes,
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
    probe_log::note(log, v4l2_step(None, "discover"), true, listing);
    nodes.iter().map(|p| probe_node(p, log)).collect()
}

/// One line per node for the cache fingerprint: path, driver and card, cheaply (QUERYCAP only).
pub fn describe_nodes(dev: &Path) -> Vec<String> {
    video_nodes(dev)
        .iter()
        .map(|p| match open(p).and_then(|f| querycap(&f)) {
            Ok(c) => format!("{} {} {}", p.display(), c_str(&c.driver), c_str(&c.card)),
            Err(e) => format!("{} ({e})", p.display()),
        })
        .collect()
}

fn v4l2_step<'a>(device: Option<&'a str>, name: &str) -> probe_log::Step<'a> {
    probe_log::Step {
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
            probe_log::note(log, v4l2_step(Some(&shown), "querycap"), false, why.clone());
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
    probe_log::note(
        log,
        v4l2_step(Some(&shown), "querycap"),
        true,
        describe_info(&info, device.role),
    );
    let dev = &mut device;
    for enc in &mut dev.encoders {
        let name = format!("test_encode:{}", enc.format);
        let remaining = DEVICE_BUDGET.saturating_sub(started.elapsed());
        let result = test_encode(path, &info, &enc.format, dev.mplane, remaining);
        let text = match &result {
            Ok(t) => t.describe(),
            Err(p) => format!("{}: {}", p.code(), p.detail()),
        };
        probe_log::note(log, v4l2_step(Some(&shown), &name), result.is_ok(), text);
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

/// [`encode::run`], with a panic inside v4l2r (it asserts on buffer states a broken driver
/// could produce) turned into a failed test encode of this format instead of a lost probe.
fn test_encode(
    path: &Path,
    info: &NodeInfo,
    coded: &str,
    mplane: bool,
    budget: std::time::Duration,
) -> Result<encode::TestEncode, EncodeProblem> {
    catch_unwind(AssertUnwindSafe(|| {
        encode::run(path, info, coded, mplane, budget)
    }))
    .unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(EncodeProblem {
            error: EncodeError::Streaming,
            detail: format!("the V4L2 library panicked: {why}"),
        })
    })
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

/// Read-write and non-blocking, as V4L2 applications open nodes: a probe must never wait.
fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// QUERYCAP as the kernel answered it: v4l2r's typed `Capability` drops the capability bits
/// it has no name for, and the log shows them all.
fn querycap(f: &File) -> io::Result<v4l2_capability> {
    ioctl::querycap(f).map_err(|e| io::Error::from(Errno::from(e)))
}

/// QUERYCAP, ENUM_FMT on both queues, ENUM_FRAMESIZES of the coded formats.
fn query(path: &Path) -> io::Result<NodeInfo> {
    let f = open(path)?;
    let cap = querycap(&f)?;
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
    let (out_q, cap_q) = queue_types(mplane);
    info.output = formats(&f, out_q)?;
    info.capture = formats(&f, cap_q)?;
    for p in info.output.iter().chain(&info.capture) {
        if p.compressed
            && let Some(sizes) = frame_sizes(&f, fourcc(&p.fourcc))?
        {
            info.frame_sizes.push((p.fourcc.clone(), sizes));
        }
    }
    Ok(info)
}

/// ENUM_FMT until the driver says EINVAL (the end of the list).
fn formats(f: &File, queue: v4l2r::QueueType) -> io::Result<Vec<PixelFormat>> {
    let mut out = Vec::new();
    for i in 0..MAX_FORMATS {
        let d: FmtDesc = match ioctl::enum_fmt(f, queue, i) {
            Ok(d) => d,
            Err(EnumFmtError::IoctlError(Errno::EINVAL)) => break,
            Err(e) => return Err(io::Error::from(Errno::from(e))),
        };
        let fourcc = fourcc_str(d.pixelformat.into());
        out.push(PixelFormat {
            compressed: d.flags.contains(FormatFlags::COMPRESSED) || is_coded(&fourcc),
            description: d.description.trim().to_string(),
            fourcc,
        });
    }
    Ok(out)
}

/// ENUM_FRAMESIZES: one stepwise (or continuous) range, or a list of discrete sizes.
fn frame_sizes(f: &File, fourcc: u32) -> io::Result<Option<FrameSizes>> {
    let mut sizes = Vec::new();
    for i in 0..MAX_SIZES {
        let e: v4l2_frmsizeenum =
            match ioctl::enum_frame_sizes(f, i, v4l2r::PixelFormat::from_u32(fourcc)) {
                Ok(e) => e,
                Err(FrameSizeError::IoctlError(Errno::EINVAL)) => break,
                Err(e) => return Err(io::Error::from(Errno::from(e))),
            };
        match e.size() {
            Some(FrmSizeTypes::StepWise(s)) if i == 0 => {
                return Ok(Some(FrameSizes::Stepwise {
                    min_width: s.min_width,
                    max_width: s.max_width,
                    step_width: s.step_width.max(1),
                    min_height: s.min_height,
                    max_height: s.max_height,
                    step_height: s.step_height.max(1),
                }));
            }
            Some(FrmSizeTypes::Discrete(d)) => sizes.push((d.width, d.height)),
            // A type the kernel does not define, or a range after discrete sizes: stop.
            _ => break,
        }
    }
    Ok((!sizes.is_empty()).then_some(FrameSizes::Discrete { sizes }))
}
