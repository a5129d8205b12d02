//! The native test encode that proves a V4L2 stateful encoder works: the stateful-encoder
//! sequence of the kernel's memory-to-memory API, codec-agnostic, so FWHT on `vicodec`
//! exercises the same path as H.264/HEVC on hantro, venus, coda or the Raspberry Pi. The choices
//! are made here, purely; the device work is `m2m`'s, over `v4l2r`'s typed device and queue
//! API, single- or multi-planar alike:
//!
//! 1. S_FMT CAPTURE to the coded format, then S_FMT OUTPUT to a raw format (YU12 or NV12
//!    preferred, as ffmpeg feeds them) at the smallest frame size the device allows, at least
//!    64×64; G_FMT CAPTURE to read back what the driver settled on;
//! 2. REQBUFS MMAP (two buffers each side), all CAPTURE buffers queued;
//! 3. STREAMON both queues; [`TEST_FRAMES`] frames of a moving gradient are queued, then
//!    ENCODER_CMD STOP to drain; DQBUF until that many coded frames or the LAST flag;
//! 4. STREAMOFF, unmap, close.
//!
//! Verified means at least one non-empty coded buffer came back. The whole sequence is bounded
//! by [`ENCODE_TIMEOUT`] (non-blocking DQBUF + epoll), and every failure is a typed
//! [`EncodeProblem`] (a panic inside v4l2r too: `probe` catches it). Multi-planar (M2M_MPLANE) drivers are fed one-plane
//! formats (YU12, NV12 and every coded format are contiguous, one plane).

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::m2m::{self, Counts};
use super::{FrameSizes, NodeInfo, PixelFormat};

/// Frames fed to the encoder: enough to get past a GOP's first frame, small enough for TCG.
pub const TEST_FRAMES: u32 = 8;
/// Upper bound for one test encode; vicodec under qemu TCG takes well under a second.
pub const ENCODE_TIMEOUT: Duration = Duration::from_secs(10);
/// Smallest frame side we ask for, when the device allows smaller.
const MIN_SIDE: u32 = 64;
/// Raw formats in order of preference (what ffmpeg's yuv420p and nv12 are).
const RAW_PREFERENCE: [&str; 2] = ["YU12", "NV12"];

/// What a successful test encode did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TestEncode {
    pub width: u32,
    pub height: u32,
    pub raw_format: String,
    pub coded_format: String,
    pub frames_in: u32,
    /// Non-empty coded buffers received.
    pub frames_out: u32,
    pub bytes_out: u64,
    /// The first bytes of the first coded buffer, hex (FWHT starts with 4f4f4f4f ffffffff).
    pub head: String,
    pub elapsed_ms: u64,
}

impl TestEncode {
    pub fn describe(&self) -> String {
        format!(
            "{}x{} {} -> {}: {} frames in, {} coded frames out, {} bytes, head {}, {} ms",
            self.width,
            self.height,
            self.raw_format,
            self.coded_format,
            self.frames_in,
            self.frames_out,
            self.bytes_out,
            self.head,
            self.elapsed_ms
        )
    }
}

/// Why a test encode failed; `code()` is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EncodeError {
    /// A raw format with more than one plane, or no raw input format we can generate.
    Unsupported,
    /// Another process holds the device.
    Busy,
    PermissionDenied,
    /// S_FMT refused or substituted the format.
    FormatRejected,
    /// REQBUFS/QUERYBUF/mmap failed (often too little CMA memory on ARM boards).
    BufferSetup,
    /// STREAMON, QBUF or DQBUF failed.
    Streaming,
    /// No coded frame within the time limit.
    Timeout,
    /// Buffers came back, all empty.
    NoOutput,
}

/// A failure with the device's own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EncodeProblem {
    pub error: EncodeError,
    pub detail: String,
}

impl EncodeProblem {
    pub fn code(&self) -> &'static str {
        match self.error {
            EncodeError::Unsupported => "unsupported",
            EncodeError::Busy => "busy",
            EncodeError::PermissionDenied => "permission_denied",
            EncodeError::FormatRejected => "format_rejected",
            EncodeError::BufferSetup => "buffer_setup",
            EncodeError::Streaming => "streaming",
            EncodeError::Timeout => "timeout",
            EncodeError::NoOutput => "no_output",
        }
    }

    pub fn detail(&self) -> &str {
        &self.detail
    }
}

pub(super) fn problem(error: EncodeError, detail: impl Into<String>) -> EncodeProblem {
    EncodeProblem {
        error,
        detail: detail.into(),
    }
}

/// What an errno means at a stage: busy and permission errors say the same wherever they
/// happen; anything else is the stage's own failure. Pure.
pub fn classify_errno(stage: EncodeError, errno: Option<i32>) -> EncodeError {
    match errno {
        Some(libc::EBUSY) => EncodeError::Busy,
        Some(libc::EACCES | libc::EPERM) => EncodeError::PermissionDenied,
        _ => stage,
    }
}

/// The raw format to feed: YU12, then NV12, then any other raw format. Pure.
pub fn choose_raw(output: &[PixelFormat]) -> Option<&PixelFormat> {
    RAW_PREFERENCE
        .iter()
        .find_map(|want| output.iter().find(|f| f.fourcc == *want))
        .or_else(|| output.iter().find(|f| !f.compressed))
}

/// The smallest allowed size of at least 64×64 (stepwise), the smallest listed (discrete), or
/// 64×64 when the driver lists none. Pure.
pub fn choose_size(sizes: Option<&FrameSizes>) -> (u32, u32) {
    fn side(min: u32, max: u32, step: u32) -> u32 {
        let step = step.max(1);
        let want = MIN_SIDE.max(min);
        let aligned = min + (want - min).div_ceil(step) * step;
        if max >= min {
            aligned.min(max)
        } else {
            aligned
        }
    }
    match sizes {
        Some(FrameSizes::Stepwise {
            min_width,
            max_width,
            step_width,
            min_height,
            max_height,
            step_height,
        }) => (
            side(*min_width, *max_width, *step_width),
            side(*min_height, *max_height, *step_height),
        ),
        Some(FrameSizes::Discrete { sizes }) => sizes
            .iter()
            .copied()
            .min_by_key(|(w, h)| u64::from(*w) * u64::from(*h))
            .unwrap_or((MIN_SIDE, MIN_SIDE)),
        None => (MIN_SIDE, MIN_SIDE),
    }
}

/// Frame `n` of a diagonal gradient that moves one step per frame: the first `stride × height`
/// bytes (the luma plane of a planar or semi-planar format) get the gradient, the rest (chroma)
/// mid-grey. Pure.
pub fn fill_frame(buf: &mut [u8], stride: usize, height: usize, n: u32) {
    let luma = stride.saturating_mul(height).min(buf.len());
    let stride = stride.max(1);
    for (i, b) in buf[..luma].iter_mut().enumerate() {
        let (x, y) = (i % stride, i / stride);
        *b = ((x + y) as u32).wrapping_add(n * 4) as u8;
    }
    buf[luma..].fill(128);
}

/// Test-encode `coded` on the node at `path`, within `budget` (capped at [`ENCODE_TIMEOUT`]).
pub fn run(
    path: &Path,
    info: &NodeInfo,
    coded: &str,
    mplane: bool,
    budget: Duration,
) -> Result<TestEncode, EncodeProblem> {
    let raw = choose_raw(&info.output)
        .ok_or_else(|| problem(EncodeError::Unsupported, "no raw OUTPUT format"))?
        .fourcc
        .clone();
    let sizes = info
        .frame_sizes
        .iter()
        .find(|(f, _)| f == coded)
        .map(|(_, s)| s);
    let size = choose_size(sizes);
    let started = Instant::now();
    let deadline = started + budget.min(ENCODE_TIMEOUT);
    let mut c = Counts::default();
    let result = m2m::encode(
        path,
        mplane,
        (&raw, coded),
        size,
        (started, deadline),
        &mut c,
    );
    match result {
        // A timeout after some coded frames still proves the encoder.
        Err(p) if c.frames_out == 0 => Err(p),
        _ if c.frames_out == 0 => Err(problem(
            EncodeError::NoOutput,
            format!(
                "{} frames queued, every coded buffer came back empty",
                c.queued
            ),
        )),
        _ => Ok(TestEncode {
            width: c.width,
            height: c.height,
            raw_format: raw,
            coded_format: coded.to_string(),
            frames_in: c.queued,
            frames_out: c.frames_out,
            bytes_out: c.bytes_out,
            head: c.head,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }),
    }
}
