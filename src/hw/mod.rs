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
mod demotion;
mod detect;
mod discover;
mod parse;
mod probe_log;
mod report;
mod select;
mod v4l2;
mod vaapi;
mod view;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{CpuEncoder, VideoCodec};

pub use crate::model::{Backend, RateControl};
pub use cache::{Detected, Record, detect_reusing, fingerprint};
pub use classify::{DriverInfo, Failure, Problem, classify, parse_driver, parse_supported_rc};
pub use demotion::{Demotion, is_demoted};
pub use detect::{detect, detect_with, test_encode_args};
use detect::{preflight, probe};
pub use discover::{NodeAccess, RenderNode, Roots, render_nodes};
pub use parse::{parse_encoders, parse_hwaccels, parse_version, version_line};
pub use report::{ProbeReport, render_text, vaapi_unavailable_reason};
pub use select::{
    HwEncoder, hardware_encoders, select_backend, select_backend_avoiding, select_backend_for,
    v4l2_choice, vaapi_choice, verified_backends,
};
pub use v4l2::{EncodeError, EncodeProblem, STRIDE_PROBE_SIDE, StrideProbe, TestEncode};
pub use v4l2::{FrameSizes, PixelFormat, Role, V4l2Device, V4l2Encoder, V4l2Summary};
pub use vaapi::{VAAPI_ENCODERS, VaapiDevice, VaapiEncoder};
pub use view::{BackendView, CodecSupport, HardwareView, view};

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
    /// The filters of `ffmpeg -filters` the planner cares about (tonemapping:
    /// [`parse::TONEMAP_FILTERS`]).
    #[serde(default)]
    pub filters: Vec<String>,
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
