//! The native test encode that proves a V4L2 stateful encoder works: the stateful-encoder
//! sequence of the kernel's memory-to-memory API, codec-agnostic, so FWHT on `vicodec`
//! exercises the same path as H.264/HEVC on hantro, venus, coda or the Raspberry Pi. The choices
//! are made here, purely; the device work is `m2m`'s, over `v4l2r`'s typed device and queue
//! API, single- or multi-planar alike:
//!
//! 1. S_FMT CAPTURE to the coded format, then S_FMT OUTPUT to a raw format (YU12 or NV12
//!    preferred, as ffmpeg feeds them) at the smallest frame size the device allows, at least
//!    64×64; G_FMT CAPTURE to read back what the driver settled on; TRY_FMT OUTPUT at an
//!    unaligned [`STRIDE_PROBE_SIDE`]² to learn how the driver pads rows and planes
//!    ([`StrideProbe`]): ffmpeg writes frames at its own line size, so jobs must pick widths at
//!    which the two agree (`media::args::v4l2`);
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
/// Width and height asked of TRY_FMT to measure the padding: 2 past 256, so every power-of-two
/// alignment up to 256 pads it to a different `bytesperline` (258 → 288 for 32, 320 for 64,
/// 384 for 128, 512 for 256).
pub const STRIDE_PROBE_SIDE: u32 = 258;
/// Largest alignment [`StrideProbe`] can tell apart.
const MAX_PROBED_ALIGN: u32 = 256;

/// What TRY_FMT answered on the OUTPUT queue for a one-plane 4:2:0 format at
/// [`STRIDE_PROBE_SIDE`]²: the driver's own row stride and buffer size there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StrideProbe {
    pub width: u32,
    pub height: u32,
    pub bytesperline: u32,
    pub sizeimage: u32,
}

impl StrideProbe {
    /// The power of two the driver aligns rows to: the smallest `p` with
    /// `ALIGN(width, p) == bytesperline` (bcm2835-codec: 64 for YU12, 32 for NV12). `None`
    /// when no power of two up to 256 explains the stride. Pure.
    pub fn row_align(&self) -> Option<u32> {
        smallest_align(self.width, self.bytesperline)
    }

    /// The power of two the driver pads a 4:2:0 plane's height to: the smallest `p` with
    /// `bytesperline × ALIGN(height, p) × 3/2 == sizeimage` (2 when it pads nothing, as
    /// bcm2835-codec's encoder). `None` when the size has other padding. Pure.
    pub fn plane_rows_align(&self) -> Option<u32> {
        let rows = u64::from(self.sizeimage) * 2 / 3;
        let bpl = u64::from(self.bytesperline.max(1));
        if rows % bpl != 0 || u64::from(self.sizeimage) * 2 % 3 != 0 {
            return None;
        }
        smallest_align(self.height, u32::try_from(rows / bpl).ok()?)
    }
}

fn smallest_align(side: u32, padded: u32) -> Option<u32> {
    let mut p = 1;
    while p <= MAX_PROBED_ALIGN {
        if side.div_ceil(p) * p == padded {
            return Some(p.max(2));
        }
        p *= 2;
    }
    None
}

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
    /// How the driver pads rows and planes of `raw_format` (absent in records from before it
    /// was measured, or when TRY_FMT failed).
    #[serde(default)]
    pub stride: Option<StrideProbe>,
}

impl TestEncode {
    pub fn describe(&self) -> String {
        let stride = match &self.stride {
            Some(s) => format!(
                "; TRY_FMT {}x{}: bytesperline {}, sizeimage {}",
                s.width, s.height, s.bytesperline, s.sizeimage
            ),
            None => String::new(),
        };
        format!(
            "{}x{} {} -> {}: {} frames in, {} coded frames out, {} bytes, head {}, {} ms{stride}",
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
            stride: c.stride,
        }),
    }
}
