//! V4L2 memory-to-memory codecs: every `/dev/video*` node is asked QUERYCAP (driver, card,
//! bus, M2M or M2M_MPLANE), ENUM_FMT on its OUTPUT (what we feed) and CAPTURE (what comes
//! back) queues and ENUM_FRAMESIZES of its coded formats. A node that turns raw frames into a
//! coded format is an encoder; each coded format is then proved by a native test encode of a few
//! synthetic frames (`encode`) and mapped to the ffmpeg encoder that drives it
//! (`h264_v4l2m2m`, `hevc_v4l2m2m`). Formats ffmpeg cannot drive (FWHT from `vicodec`, VP8…)
//! are listed and verified but never selected for jobs. This file holds the types and the pure
//! classification ([`classify_node`]), tested over recorded and constructed capability data in
//! `tests.rs`; `probe` runs the ioctls and fills them in. The kernel ABI (ioctls, structs, MMAP)
//! is the `v4l2r` crate's: this folder has no `unsafe`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use v4l2r::QueueType;
use v4l2r::bindings::{V4L2_CAP_DEVICE_CAPS, V4L2_CAP_VIDEO_M2M, V4L2_CAP_VIDEO_M2M_MPLANE};

use crate::model::VideoCodec;

mod encode;
mod m2m;
mod probe;

pub use encode::{EncodeError, EncodeProblem, STRIDE_PROBE_SIDE, StrideProbe, TestEncode};
pub use probe::{describe_nodes, probe_all};

/// Whole-probe budget per device, test encodes included: a hung driver must not stall startup.
pub const DEVICE_BUDGET: Duration = Duration::from_secs(20);

/// Coded formats we know, by fourcc: the codec it is when it is one we transcode to, and the
/// ffmpeg encoder that drives a stateful V4L2 encoder of it (`None`: ffmpeg has none). Only
/// formats with both can be selected for jobs.
const CODED: [(&str, Option<VideoCodec>, Option<&str>); 12] = [
    ("H264", Some(VideoCodec::H264), Some("h264_v4l2m2m")),
    ("HEVC", Some(VideoCodec::Hevc), Some("hevc_v4l2m2m")),
    ("VP90", Some(VideoCodec::Vp9), None),
    ("AV1F", Some(VideoCodec::Av1), None),
    ("VP80", None, Some("vp8_v4l2m2m")),
    ("MPG4", None, Some("mpeg4_v4l2m2m")),
    ("H263", None, Some("h263_v4l2m2m")),
    ("MPG2", None, None),
    ("MJPG", None, None),
    ("JPEG", None, None),
    ("FWHT", None, None),
    ("SFWH", None, None),
];

/// Where to look for video nodes (`/dev` in production).
pub fn video_nodes(dev: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dev) else {
        return Vec::new();
    };
    let mut nodes: Vec<(u32, PathBuf)> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let n: u32 = name.strip_prefix("video")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    nodes.sort();
    nodes.into_iter().map(|(_, p)| p).collect()
}

/// A fourcc as text ("H264"); non-printable bytes become '?'.
pub fn fourcc_str(v: u32) -> String {
    v.to_le_bytes()
        .iter()
        .map(|b| {
            if b.is_ascii_graphic() || *b == b' ' {
                *b as char
            } else {
                '?'
            }
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// The fourcc value of "H264".
pub fn fourcc(s: &str) -> u32 {
    let mut b = [b' '; 4];
    for (i, c) in s.bytes().take(4).enumerate() {
        b[i] = c;
    }
    u32::from_le_bytes(b)
}

/// A C string field of a V4L2 struct (QUERYCAP's driver, card, bus).
pub fn c_str(b: &[u8]) -> String {
    let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).trim().to_string()
}

/// One entry of ENUM_FMT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PixelFormat {
    /// The fourcc, e.g. "NV12", "H264".
    pub fourcc: String,
    /// The driver's description ("Y/CbCr 4:2:0").
    pub description: String,
    /// Flagged compressed by the driver, or a coded fourcc we know.
    pub compressed: bool,
}

/// What ENUM_FRAMESIZES answered for one format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FrameSizes {
    Discrete {
        sizes: Vec<(u32, u32)>,
    },
    /// Also used for CONTINUOUS (step 1).
    Stepwise {
        min_width: u32,
        max_width: u32,
        step_width: u32,
        min_height: u32,
        max_height: u32,
        step_height: u32,
    },
}

/// Everything the ioctls told about a node, before any interpretation. Tests build these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub path: String,
    pub driver: String,
    pub card: String,
    pub bus_info: String,
    /// `capabilities` of the whole physical device.
    pub capabilities: u32,
    /// `device_caps` of this node (0 when the driver does not set `V4L2_CAP_DEVICE_CAPS`).
    pub device_caps: u32,
    /// The OUTPUT queue: what userspace writes to the device.
    pub output: Vec<PixelFormat>,
    /// The CAPTURE queue: what the device produces.
    pub capture: Vec<PixelFormat>,
    /// Frame sizes per fourcc of a coded format.
    pub frame_sizes: Vec<(String, FrameSizes)>,
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Raw frames in, a coded format out.
    Encoder,
    /// A coded format in, raw frames out.
    Decoder,
    /// Not a memory-to-memory device (a camera, a capture card, a metadata node…).
    NotM2m,
    /// M2M, but neither pattern (a scaler, a converter).
    Other,
}

/// One coded format a V4L2 encoder produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct V4l2Encoder {
    /// The coded fourcc ("H264", "FWHT").
    pub format: String,
    pub codec: Option<VideoCodec>,
    /// The ffmpeg encoder that drives it; `None` means listed and tested, never selected.
    pub ffmpeg_encoder: Option<String>,
    /// The native test encode produced coded output.
    pub verified: bool,
    /// What the test encode did (size, formats, frames and bytes out).
    pub test_encode: Option<TestEncode>,
    /// Why it is not verified.
    pub problem: Option<EncodeProblem>,
}

/// A video node and what it proved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct V4l2Device {
    pub path: String,
    pub driver: String,
    pub card: String,
    pub bus_info: String,
    pub role: Role,
    /// The node uses the multi-planar API (`V4L2_CAP_VIDEO_M2M_MPLANE`).
    pub mplane: bool,
    /// Formats of the OUTPUT queue (raw frames for an encoder).
    pub output_formats: Vec<PixelFormat>,
    /// Formats of the CAPTURE queue (coded formats for an encoder).
    pub capture_formats: Vec<PixelFormat>,
    pub frame_sizes: Vec<(String, FrameSizes)>,
    /// Per coded format, for encoders.
    pub encoders: Vec<V4l2Encoder>,
    /// At least one encoder passed its native test encode.
    pub verified: bool,
    /// Why the node could not be queried (then everything else is empty).
    pub error: Option<String>,
}

impl V4l2Device {
    /// The raw fourccs its OUTPUT queue takes: `media::args::V4l2Options::input_formats`.
    pub fn raw_formats(&self) -> Vec<String> {
        self.output_formats
            .iter()
            .filter(|f| !f.compressed)
            .map(|f| f.fourcc.clone())
            .collect()
    }

    /// What ENUM_FRAMESIZES answered for coded `format`.
    pub fn frame_sizes_of(&self, format: &str) -> Option<&FrameSizes> {
        self.frame_sizes
            .iter()
            .find(|(f, _)| f == format)
            .map(|(_, s)| s)
    }
}

/// V4L2 as this machine has it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct V4l2Summary {
    /// The `_v4l2m2m` video encoders this ffmpeg lists.
    pub listed_encoders: Vec<String>,
    pub devices: Vec<V4l2Device>,
    /// Why no V4L2 encoder can be used for jobs; `None` when one can.
    pub unavailable_reason: Option<String>,
}

impl V4l2Summary {
    /// The first verified device encoder for `codec` that this ffmpeg can drive.
    pub fn usable(&self, codec: VideoCodec) -> Option<(&V4l2Device, &V4l2Encoder)> {
        self.devices.iter().find_map(|d| {
            d.encoders
                .iter()
                .find(|e| {
                    e.verified
                        && e.codec == Some(codec)
                        && e.ffmpeg_encoder
                            .as_ref()
                            .is_some_and(|f| self.listed_encoders.contains(f))
                })
                .map(|e| (d, e))
        })
    }
}

fn known(
    fourcc: &str,
) -> Option<&'static (&'static str, Option<VideoCodec>, Option<&'static str>)> {
    CODED.iter().find(|(f, _, _)| *f == fourcc)
}

/// Whether a fourcc is a coded (compressed) format we know.
pub fn is_coded(fourcc: &str) -> bool {
    known(fourcc).is_some()
}

/// The ffmpeg encoder for a coded fourcc, if ffmpeg has one.
pub fn ffmpeg_encoder(fourcc: &str) -> Option<&'static str> {
    known(fourcc).and_then(|k| k.2)
}

/// Is it M2M, and multi-planar? Uses `device_caps` when the driver reports them.
pub fn m2m_kind(capabilities: u32, device_caps: u32) -> Option<bool> {
    let caps = if capabilities & V4L2_CAP_DEVICE_CAPS != 0 {
        device_caps
    } else {
        capabilities
    };
    if caps & V4L2_CAP_VIDEO_M2M_MPLANE != 0 {
        Some(true)
    } else if caps & V4L2_CAP_VIDEO_M2M != 0 {
        Some(false)
    } else {
        None
    }
}

/// Classify a node from what its ioctls said. Pure.
pub fn classify_node(info: &NodeInfo) -> V4l2Device {
    let mplane = m2m_kind(info.capabilities, info.device_caps);
    let coded = |fs: &[PixelFormat]| fs.iter().filter(|f| f.compressed).count();
    let raw = |fs: &[PixelFormat]| fs.iter().filter(|f| !f.compressed).count();
    let role = match mplane {
        None => Role::NotM2m,
        Some(_) if raw(&info.output) > 0 && coded(&info.capture) > 0 => Role::Encoder,
        Some(_) if coded(&info.output) > 0 && raw(&info.capture) > 0 => Role::Decoder,
        Some(_) => Role::Other,
    };
    let encoders = if role == Role::Encoder {
        info.capture
            .iter()
            .filter(|f| f.compressed)
            .map(|f| V4l2Encoder {
                format: f.fourcc.clone(),
                codec: known(&f.fourcc).and_then(|k| k.1),
                ffmpeg_encoder: ffmpeg_encoder(&f.fourcc).map(str::to_string),
                verified: false,
                test_encode: None,
                problem: None,
            })
            .collect()
    } else {
        Vec::new()
    };
    V4l2Device {
        path: info.path.clone(),
        driver: info.driver.clone(),
        card: info.card.clone(),
        bus_info: info.bus_info.clone(),
        role,
        mplane: mplane.unwrap_or(false),
        output_formats: info.output.clone(),
        capture_formats: info.capture.clone(),
        frame_sizes: info.frame_sizes.clone(),
        encoders,
        verified: false,
        error: None,
    }
}

/// Why no V4L2 encoder can encode jobs, or `None` when one can. Pure.
pub fn unavailable_reason(s: &V4l2Summary, dev: &str) -> Option<String> {
    if [VideoCodec::H264, VideoCodec::Hevc]
        .into_iter()
        .any(|c| s.usable(c).is_some())
    {
        return None;
    }
    let encoders: Vec<&V4l2Device> = s
        .devices
        .iter()
        .filter(|d| d.role == Role::Encoder)
        .collect();
    if s.devices.is_empty() {
        return Some(format!("there is no V4L2 video node under {dev}"));
    }
    if encoders.is_empty() {
        return Some(format!(
            "none of the {} V4L2 video node(s) is a memory-to-memory encoder",
            s.devices.len()
        ));
    }
    let per: Vec<String> = encoders
        .iter()
        .flat_map(|d| {
            d.encoders.iter().map(move |e| {
                let state = match (&e.ffmpeg_encoder, e.verified, &e.problem) {
                    (_, false, Some(p)) => format!("test encode failed: {}", p.code()),
                    (_, false, None) => "test encode failed".into(),
                    (None, true, _) => "verified natively, but ffmpeg has no encoder for it".into(),
                    (Some(f), true, _) if !s.listed_encoders.contains(f) => {
                        format!("verified, but this ffmpeg lacks {f}")
                    }
                    (Some(f), true, _) => {
                        format!("verified, but {f} is not a codec Alchemist encodes to")
                    }
                };
                format!("{} {} ({}): {state}", d.path, e.format, d.driver)
            })
        })
        .collect();
    Some(per.join("; "))
}

/// (OUTPUT, CAPTURE) queues of the single- or multi-planar API.
pub fn queue_types(mplane: bool) -> (QueueType, QueueType) {
    if mplane {
        (QueueType::VideoOutputMplane, QueueType::VideoCaptureMplane)
    } else {
        (QueueType::VideoOutput, QueueType::VideoCapture)
    }
}

#[cfg(test)]
mod tests;
