//! The device side of the native test encode (`encode`), over `v4l2r`'s typed device and queue
//! API: open the node non-blocking, take its OUTPUT and CAPTURE queues (single- or
//! multi-planar), set the formats, allocate MMAP buffers, stream frames through and collect the
//! coded ones, waiting on epoll between steps. Each v4l2r error becomes an [`EncodeProblem`]
//! classified by its errno.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

use super::encode::{
    EncodeError, EncodeProblem, STRIDE_PROBE_SIDE, StrideProbe, TEST_FRAMES, classify_errno,
    fill_frame, problem,
};
use super::{fourcc, fourcc_str};

/// Buffers per queue.
const BUFFERS: u32 = 2;
/// How long one poll waits before the deadline is checked again.
const POLL: Duration = Duration::from_millis(50);

/// A queue before its buffers are allocated: formats can be set.
type Fresh<D> = Queue<D, QueueInit>;
/// A queue with its MMAP buffers allocated.
type Mmap<D> = Queue<D, BuffersAllocated<Vec<MmapHandle>>>;

/// What the OUTPUT queue settled on and what came back so far.
#[derive(Default)]
pub(super) struct Counts {
    pub width: u32,
    pub height: u32,
    pub queued: u32,
    pub frames_out: u32,
    pub bytes_out: u64,
    pub head: String,
    /// The driver flagged (or EPIPE said) the last coded buffer.
    pub last: bool,
    /// TRY_FMT's answer at an unaligned size.
    pub stride: Option<StrideProbe>,
}

/// Open the node, set it up and stream [`TEST_FRAMES`] frames through it, recording in `c`.
/// Setup failures and streaming failures are the error; `c` says how far it got.
pub(super) fn encode(
    path: &Path,
    mplane: bool,
    (raw, coded): (&str, &str),
    size: (u32, u32),
    (started, deadline): (Instant, Instant),
    c: &mut Counts,
) -> Result<(), EncodeProblem> {
    let device = Device::open(path, DeviceConfig::new().non_blocking_dqbuf())
        .map_err(|e| fail(EncodeError::Busy, "open", open_errno(&e), &e))?;
    let device = Arc::new(device);
    let (mut out_q, mut cap_q) = queues(&device, mplane)
        .map_err(|e| fail(EncodeError::BufferSetup, "queues", queue_errno(&e), &e))?;
    let out = set_formats(&mut out_q, &mut cap_q, raw, coded, size)?;
    (c.width, c.height) = (out.width, out.height);
    c.stride = stride_probe(&out_q, raw);
    let outs = buffers(out_q)?;
    let caps = buffers(cap_q)?;
    let result = stream(&device, (&outs, &caps), &out, (started, deadline), c);
    // Stopping cannot change the verdict; closing the device releases everything anyway.
    let _ = outs.stream_off();
    let _ = caps.stream_off();
    result
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

/// TRY_FMT OUTPUT at an unaligned size: how the driver pads rows and planes of `raw` (it
/// changes nothing on the queue). `None` when the driver refuses or substitutes the format.
fn stride_probe(out_q: &Fresh<Output>, raw: &str) -> Option<StrideProbe> {
    let f = out_q
        .try_format(Format {
            width: STRIDE_PROBE_SIDE,
            height: STRIDE_PROBE_SIDE,
            pixelformat: v4l2r::PixelFormat::from_u32(fourcc(raw)),
            plane_fmt: vec![PlaneLayout::default()],
        })
        .ok()?;
    let plane = f.plane_fmt.first()?;
    (fourcc_str(f.pixelformat.into()) == raw && f.plane_fmt.len() == 1).then_some(StrideProbe {
        width: f.width,
        height: f.height,
        bytesperline: plane.bytesperline,
        sizeimage: plane.sizeimage,
    })
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
