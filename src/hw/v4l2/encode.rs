//! The native test encode that proves a V4L2 stateful encoder works: the stateful-encoder
//! sequence of the kernel's memory-to-memory API, codec-agnostic, so FWHT on `vicodec`
//! exercises the same path as H.264/HEVC on hantro, venus, coda or the Raspberry Pi. It runs on
//! `v4l2r`'s typed device and queue API, single- or multi-planar alike:
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
//! [`EncodeProblem`], never a panic. Multi-planar (M2M_MPLANE) drivers are fed one-plane
//! formats (YU12, NV12 and every coded format are contiguous, one plane).

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use v4l2r::device::poller::{DeviceEvent, PollError, Poller};
use v4l2r::device::queue::direction::{Capture, Direction, Output};
use v4l2r::device::queue::{
    BuffersAllocated, CreateQueueError, GetFreeCaptureBuffer, GetFreeOutputBuffer, Queue,
    QueueInit, RequestBuffersError,
};
use v4l2r::device::{AllocatedQueue, Device, DeviceConfig, DeviceOpenError, Stream, TryDequeue};
use v4l2r::ioctl::{
    DqBufIoctlError, EncoderCommand, IntoErrno, IoctlConvertError, QueryCapError, ReqbufsError,
};
use v4l2r::memory::MmapHandle;
use v4l2r::{Format, PlaneLayout};

use super::{FrameSizes, NodeInfo, PixelFormat, fourcc, fourcc_str};

/// Frames fed to the encoder: enough to get past a GOP's first frame, small enough for TCG.
pub const TEST_FRAMES: u32 = 8;
/// Upper bound for one test encode; vicodec under qemu TCG takes well under a second.
pub const ENCODE_TIMEOUT: Duration = Duration::from_secs(10);
/// Smallest frame side we ask for, when the device allows smaller.
const MIN_SIDE: u32 = 64;
/// Buffers per queue.
const BUFFERS: u32 = 2;
/// How long one poll waits before the deadline is checked again.
const POLL: Duration = Duration::from_millis(50);
/// Raw formats in order of preference (what ffmpeg's yuv420p and nv12 are).
const RAW_PREFERENCE: [&str; 2] = ["YU12", "NV12"];

/// A queue before its buffers are allocated: formats can be set.
type Fresh<D> = Queue<D, QueueInit>;
/// A queue with its MMAP buffers allocated.
type Mmap<D> = Queue<D, BuffersAllocated<Vec<MmapHandle>>>;

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

fn problem(error: EncodeError, detail: impl Into<String>) -> EncodeProblem {
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

/// An error and the causes it keeps as sources, each once: some v4l2r errors print their
/// cause, some only hold it.
fn chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    text
}

/// A failed step, classified by its errno when it has one.
fn fail(stage: EncodeError, what: &str, errno: Option<i32>, e: &dyn Error) -> EncodeProblem {
    problem(
        classify_errno(stage, errno),
        format!("{what}: {}", chain(e)),
    )
}

/// `fail` for the v4l2r errors that carry an errno.
fn at<E: Error + IntoErrno>(stage: EncodeError, what: &str) -> impl FnOnce(E) -> EncodeProblem {
    move |e| {
        let detail = format!("{what}: {}", chain(&e));
        problem(classify_errno(stage, Some(e.into_errno())), detail)
    }
}

/// The errno of the v4l2r errors that hide it behind a variant of their own.
fn open_errno(e: &DeviceOpenError) -> Option<i32> {
    match e {
        DeviceOpenError::OpenError(errno)
        | DeviceOpenError::QueryCapError(QueryCapError::IoctlError(errno)) => Some(*errno as i32),
    }
}

fn reqbufs_errno(e: &ReqbufsError) -> Option<i32> {
    match e {
        ReqbufsError::IoctlError(errno) => Some(*errno as i32),
        ReqbufsError::InvalidBufferType(..) => Some(libc::EINVAL),
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

/// What came back so far.
#[derive(Default)]
struct Counts {
    queued: u32,
    frames_out: u32,
    bytes_out: u64,
    head: String,
    /// The driver flagged (or EPIPE said) the last coded buffer.
    last: bool,
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
    let device = Device::open(path, DeviceConfig::new().non_blocking_dqbuf())
        .map_err(|e| fail(EncodeError::Busy, "open", open_errno(&e), &e))?;
    let device = Arc::new(device);
    let (mut out_q, mut cap_q) = queues(&device, mplane)
        .map_err(|e| fail(EncodeError::BufferSetup, "queues", queue_errno(&e), &e))?;
    let out = set_formats(&mut out_q, &mut cap_q, &raw, coded, size)?;
    let outs = buffers(out_q)?;
    let caps = buffers(cap_q)?;
    let mut counts = Counts::default();
    let result = stream(
        &device,
        (&outs, &caps),
        &out,
        (started, deadline),
        &mut counts,
    );
    // Stopping cannot change the verdict; closing the device releases everything anyway.
    let _ = outs.stream_off();
    let _ = caps.stream_off();
    match result {
        Err(p) if counts.frames_out == 0 => Err(p),
        _ if counts.frames_out == 0 => Err(problem(
            EncodeError::NoOutput,
            format!(
                "{} frames queued, every coded buffer came back empty",
                counts.queued
            ),
        )),
        _ => Ok(TestEncode {
            width: out.width,
            height: out.height,
            raw_format: raw,
            coded_format: coded.to_string(),
            frames_in: counts.queued,
            frames_out: counts.frames_out,
            bytes_out: counts.bytes_out,
            head: counts.head,
            elapsed_ms: started.elapsed().as_millis() as u64,
        }),
    }
}

fn queue_errno(e: &CreateQueueError) -> Option<i32> {
    match e {
        CreateQueueError::ReqbufsError(e) => reqbufs_errno(e),
        CreateQueueError::AlreadyBorrowed => None,
    }
}

/// The OUTPUT and CAPTURE queues of the node's API (v4l2r checks each with REQBUFS 0).
fn queues(
    device: &Arc<Device>,
    mplane: bool,
) -> Result<(Fresh<Output>, Fresh<Capture>), CreateQueueError> {
    let d = || Arc::clone(device);
    Ok(if mplane {
        (
            Queue::get_output_mplane_queue(d())?,
            Queue::get_capture_mplane_queue(d())?,
        )
    } else {
        (
            Queue::get_output_queue(d())?,
            Queue::get_capture_queue(d())?,
        )
    })
}

/// The coded format on CAPTURE, then the raw one on OUTPUT; returns what OUTPUT settled on.
fn set_formats(
    out_q: &mut Fresh<Output>,
    cap_q: &mut Fresh<Capture>,
    raw: &str,
    coded: &str,
    (width, height): (u32, u32),
) -> Result<Format, EncodeProblem> {
    // One plane with sizes left to the driver (0), as the stateful-encoder API expects.
    let want = |f: &str| Format {
        width,
        height,
        pixelformat: v4l2r::PixelFormat::from_u32(fourcc(f)),
        plane_fmt: vec![PlaneLayout::default()],
    };
    cap_q
        .set_format(want(coded))
        .map_err(at(EncodeError::FormatRejected, "S_FMT CAPTURE"))?;
    let out = out_q
        .set_format(want(raw))
        .map_err(at(EncodeError::FormatRejected, "S_FMT OUTPUT"))?;
    if out.plane_fmt.len() != 1 {
        return Err(problem(
            EncodeError::Unsupported,
            format!(
                "OUTPUT {raw} has {} planes; only one-plane formats are fed",
                out.plane_fmt.len()
            ),
        ));
    }
    let got = fourcc_str(out.pixelformat.into());
    if got != raw {
        return Err(problem(
            EncodeError::FormatRejected,
            format!("OUTPUT {raw} became {got}"),
        ));
    }
    let cap: Format = cap_q
        .get_format()
        .map_err(at(EncodeError::FormatRejected, "G_FMT CAPTURE"))?;
    let got = fourcc_str(cap.pixelformat.into());
    if got != coded {
        return Err(problem(
            EncodeError::FormatRejected,
            format!("CAPTURE {coded} became {got}"),
        ));
    }
    Ok(out)
}

/// REQBUFS MMAP (and QUERYBUF of each buffer) for one queue.
fn buffers<D: Direction>(q: Fresh<D>) -> Result<Mmap<D>, EncodeProblem> {
    let q = q.request_buffers::<Vec<MmapHandle>>(BUFFERS).map_err(|e| {
        let errno = match &e {
            RequestBuffersError::ReqbufsError(r) => reqbufs_errno(r),
            RequestBuffersError::QueryBufferError(_) => None,
        };
        fail(EncodeError::BufferSetup, "buffers", errno, &e)
    })?;
    if q.num_buffers() == 0 {
        return Err(problem(
            EncodeError::BufferSetup,
            "REQBUFS granted 0 buffers",
        ));
    }
    Ok(q)
}

/// Queue every CAPTURE buffer, stream on, feed [`TEST_FRAMES`] frames and collect what comes
/// back into `c`, until that many coded frames, the last one, an error or `deadline`.
fn stream(
    device: &Arc<Device>,
    (outs, caps): (&Mmap<Output>, &Mmap<Capture>),
    out: &Format,
    (started, deadline): (Instant, Instant),
    c: &mut Counts,
) -> Result<(), EncodeProblem> {
    while let Ok(b) = caps.try_get_free_buffer() {
        b.queue()
            .map_err(at(EncodeError::Streaming, "QBUF CAPTURE"))?;
    }
    outs.stream_on()
        .map_err(at(EncodeError::Streaming, "STREAMON OUTPUT"))?;
    caps.stream_on()
        .map_err(at(EncodeError::Streaming, "STREAMON CAPTURE"))?;
    let mut poller = Poller::new(Arc::clone(device))
        .and_then(|mut p| {
            p.enable_event(DeviceEvent::CaptureReady)?;
            p.enable_event(DeviceEvent::OutputReady)?;
            Ok(p)
        })
        .map_err(at(EncodeError::Streaming, "epoll"))?;
    let plane = &out.plane_fmt[0];
    let stride = plane.bytesperline.max(out.width) as usize;
    loop {
        if c.frames_out >= TEST_FRAMES || c.last {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(problem(
                EncodeError::Timeout,
                format!(
                    "{} frames queued, {} coded frames after {} ms",
                    c.queued,
                    c.frames_out,
                    started.elapsed().as_millis()
                ),
            ));
        }
        if c.queued < TEST_FRAMES
            && let Ok(b) = outs.try_get_free_buffer()
        {
            let mut m = b
                .get_plane_mapping(0)
                .ok_or_else(|| problem(EncodeError::BufferSetup, "cannot map an OUTPUT buffer"))?;
            fill_frame(&mut m, stride, out.height as usize, c.queued);
            let used = (plane.sizeimage as usize).min(m.len());
            drop(m);
            b.queue(&[used])
                .map_err(at(EncodeError::Streaming, "QBUF OUTPUT"))?;
            c.queued += 1;
            if c.queued == TEST_FRAMES {
                // Drivers without ENCODER_CMD still return a buffer per frame; ignore.
                let _ = v4l2r::ioctl::encoder_cmd::<_, ()>(&**device, &EncoderCommand::Stop(false));
            }
            continue;
        }
        match poller.poll(Some(POLL)) {
            // EPOLLERR: nothing queued on either side; what is done is still dequeued below,
            // and the deadline bounds the wait, as for a driver that never answers.
            Ok(_) | Err(PollError::V4L2Device) => {}
            Err(e) => return Err(problem(EncodeError::Streaming, format!("epoll: {e}"))),
        }
        loop {
            match outs.try_dequeue() {
                // Dropping the dequeued buffer makes it free for the next frame.
                Ok(_) => {}
                Err(IoctlConvertError::IoctlError(
                    DqBufIoctlError::NotReady | DqBufIoctlError::Eos,
                )) => break,
                Err(e) => return Err(at(EncodeError::Streaming, "DQBUF OUTPUT")(e)),
            }
        }
        collect(caps, c)?;
    }
}

/// Dequeue every finished CAPTURE buffer into `c` and queue it again, until none is ready or
/// the last one came.
fn collect(caps: &Mmap<Capture>, c: &mut Counts) -> Result<(), EncodeProblem> {
    loop {
        let b = match caps.try_dequeue() {
            Ok(b) => b,
            Err(IoctlConvertError::IoctlError(DqBufIoctlError::NotReady)) => return Ok(()),
            // EPIPE: the last buffer was already dequeued.
            Err(IoctlConvertError::IoctlError(DqBufIoctlError::Eos)) => {
                c.last = true;
                return Ok(());
            }
            Err(e) => return Err(at(EncodeError::Streaming, "DQBUF CAPTURE")(e)),
        };
        let used = *b.data.get_first_plane().bytesused;
        if used > 0 {
            c.frames_out += 1;
            c.bytes_out += u64::from(used);
            if c.head.is_empty()
                && let Some(m) = b.get_plane_mapping(0)
            {
                c.head = hex::encode(&m[..m.len().min(8)]);
            }
        }
        c.last = b.data.is_last();
        // Dropping the dequeued buffer makes it free to be queued again.
        drop(b);
        if c.last {
            return Ok(());
        }
        caps.try_get_free_buffer()
            .map_err(|e| problem(EncodeError::Streaming, format!("CAPTURE: {e}")))?
            .queue()
            .map_err(at(EncodeError::Streaming, "QBUF CAPTURE"))?;
    }
}
