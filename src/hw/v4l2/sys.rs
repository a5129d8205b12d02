//! The V4L2 ioctls capability detection needs, by hand over `libc`: the one module of `hw` with
//! `unsafe`. The structs and ioctl numbers are in `abi`. Why not the `v4l2r` crate: it generates these bindings with bindgen at
//! build time, which needs libclang and a videodev2.h from Linux >= 6.5 on every builder,
//! including both musl cross builds, and a cold bindgen + clang-sys compile on a 2-core CI; the
//! dozen ioctls and handful of structs below are all a QUERYCAP/ENUM_FMT probe and a short MMAP test
//! encode use, single- and multi-planar. Everything here is a thin safe wrapper; the logic lives in `v4l2` and `encode`.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

pub use super::abi::*;

/// A zeroed instance of a plain-data ioctl struct.
pub fn zeroed<T: Copy>() -> T {
    // SAFETY: only used for the `repr(C)` integer-only structs above, for which all-zero bytes
    // are a valid value (the kernel's own convention for "unset").
    unsafe { std::mem::zeroed() }
}

/// An open video node (non-blocking, so DQBUF returns `WouldBlock` instead of hanging).
pub struct Device {
    file: File,
}

impl Device {
    pub fn open(path: &Path) -> io::Result<Device> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)?;
        Ok(Device { file })
    }

    /// Issue `request` with `arg`, retrying on EINTR.
    fn ioctl<T>(&self, request: u32, arg: &mut T) -> io::Result<()> {
        loop {
            // SAFETY: `request` is one of the VIDIOC_* numbers above, each encoding the size of
            // exactly the struct type its wrapper passes; `arg` is a live, exclusive reference
            // to such a struct, so the kernel reads and writes only memory we own (plus, for
            // multi-planar buffers, the plane array `buffer_ioctl` points `m.planes` at, which
            // is alive for the whole call and sized by `length`).
            let rc = unsafe { libc::ioctl(self.file.as_raw_fd(), request as _, arg as *mut T) };
            if rc >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    pub fn querycap(&self) -> io::Result<Capability> {
        let mut cap: Capability = zeroed();
        self.ioctl(VIDIOC_QUERYCAP, &mut cap)?;
        Ok(cap)
    }

    /// The `index`th format of queue `type_`; `Ok(None)` past the end (EINVAL).
    pub fn enum_fmt(&self, type_: u32, index: u32) -> io::Result<Option<FmtDesc>> {
        let mut d: FmtDesc = zeroed();
        d.index = index;
        d.type_ = type_;
        end_is_none(self.ioctl(VIDIOC_ENUM_FMT, &mut d).map(|()| d))
    }

    /// The `index`th frame size of `fourcc`; `Ok(None)` past the end (EINVAL).
    pub fn enum_framesizes(&self, fourcc: u32, index: u32) -> io::Result<Option<FrmSizeEnum>> {
        let mut f: FrmSizeEnum = zeroed();
        f.index = index;
        f.pixel_format = fourcc;
        end_is_none(self.ioctl(VIDIOC_ENUM_FRAMESIZES, &mut f).map(|()| f))
    }

    /// G_FMT of queue `type_`.
    pub fn get_format(&self, type_: u32, mplane: bool) -> io::Result<Fmt> {
        if mplane {
            let mut f: FormatMp = zeroed();
            f.type_ = type_;
            self.ioctl(VIDIOC_G_FMT, &mut f)?;
            Ok(from_mp(&f.pix_mp))
        } else {
            let mut f: Format = zeroed();
            f.type_ = type_;
            self.ioctl(VIDIOC_G_FMT, &mut f)?;
            Ok(from_sp(&f.pix))
        }
    }

    /// S_FMT of queue `type_` (size, pixel format, progressive); returns what the driver
    /// adjusted it to.
    pub fn set_format(&self, type_: u32, mplane: bool, want: Fmt) -> io::Result<Fmt> {
        if mplane {
            let mut f: FormatMp = zeroed();
            f.type_ = type_;
            f.pix_mp.width = want.width;
            f.pix_mp.height = want.height;
            f.pix_mp.pixelformat = want.pixelformat;
            f.pix_mp.field = FIELD_NONE;
            f.pix_mp.num_planes = 1;
            self.ioctl(VIDIOC_S_FMT, &mut f)?;
            Ok(from_mp(&f.pix_mp))
        } else {
            let mut f: Format = zeroed();
            f.type_ = type_;
            f.pix.width = want.width;
            f.pix.height = want.height;
            f.pix.pixelformat = want.pixelformat;
            f.pix.field = FIELD_NONE;
            self.ioctl(VIDIOC_S_FMT, &mut f)?;
            Ok(from_sp(&f.pix))
        }
    }

    /// REQBUFS with MMAP memory; returns the count the driver granted.
    pub fn reqbufs(&self, type_: u32, count: u32) -> io::Result<u32> {
        let mut r = RequestBuffers {
            count,
            type_,
            memory: MEMORY_MMAP,
            ..RequestBuffers::default()
        };
        self.ioctl(VIDIOC_REQBUFS, &mut r)?;
        Ok(r.count)
    }

    /// Run a buffer ioctl; for multi-planar queues with a one-plane array, which the kernel
    /// reads and fills through `m.planes`. Returns the buffer and its (first) plane.
    fn buffer_ioctl(
        &self,
        request: u32,
        mut b: Buffer,
        mplane: bool,
    ) -> io::Result<(Buffer, Plane)> {
        b.memory = MEMORY_MMAP;
        b.field = FIELD_NONE;
        if !mplane {
            self.ioctl(request, &mut b)?;
            let plane = Plane {
                bytesused: b.bytesused,
                length: b.length,
                m: u64::from(b.m as u32),
                ..Plane::default()
            };
            return Ok((b, plane));
        }
        let mut planes = [Plane {
            bytesused: b.bytesused,
            ..Plane::default()
        }];
        b.m = planes.as_mut_ptr() as u64;
        b.length = 1;
        // `planes` outlives the ioctl; the kernel copies it in and out during the call only.
        self.ioctl(request, &mut b)?;
        b.m = 0;
        Ok((b, planes[0]))
    }

    /// QUERYBUF: (length, mmap offset) of buffer `index`.
    pub fn querybuf(&self, type_: u32, mplane: bool, index: u32) -> io::Result<(usize, u32)> {
        let b = Buffer {
            index,
            type_,
            ..Buffer::default()
        };
        let (_, p) = self.buffer_ioctl(VIDIOC_QUERYBUF, b, mplane)?;
        Ok((p.length as usize, p.m as u32))
    }

    pub fn qbuf(&self, type_: u32, mplane: bool, index: u32, bytesused: u32) -> io::Result<()> {
        let b = Buffer {
            index,
            type_,
            bytesused,
            ..Buffer::default()
        };
        self.buffer_ioctl(VIDIOC_QBUF, b, mplane).map(|_| ())
    }

    /// A finished buffer of queue `type_`, or `Ok(None)` when none is ready yet.
    pub fn dqbuf(&self, type_: u32, mplane: bool) -> io::Result<Option<Dequeued>> {
        let b = Buffer {
            type_,
            ..Buffer::default()
        };
        match self.buffer_ioctl(VIDIOC_DQBUF, b, mplane) {
            Ok((b, p)) => Ok(Some(Dequeued {
                index: b.index,
                bytesused: p.bytesused,
                flags: b.flags,
            })),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn stream(&self, type_: u32, on: bool) -> io::Result<()> {
        let mut t = type_ as i32;
        let req = if on {
            VIDIOC_STREAMON
        } else {
            VIDIOC_STREAMOFF
        };
        self.ioctl(req, &mut t)
    }

    /// Ask a stateful encoder to drain (the last buffer then carries `BUF_FLAG_LAST`).
    pub fn encoder_stop(&self) -> io::Result<()> {
        let mut c = EncoderCmd {
            cmd: ENC_CMD_STOP,
            ..EncoderCmd::default()
        };
        self.ioctl(VIDIOC_ENCODER_CMD, &mut c)
    }

    /// Wait up to `timeout_ms` for the device to have a buffer to dequeue or an event.
    pub fn poll(&self, timeout_ms: i32) -> io::Result<bool> {
        let mut fd = libc::pollfd {
            fd: self.file.as_raw_fd(),
            events: libc::POLLIN | libc::POLLOUT | libc::POLLPRI,
            revents: 0,
        };
        // SAFETY: one valid pollfd, count 1; poll only writes `revents` in it.
        let rc = unsafe { libc::poll(&mut fd, 1, timeout_ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            };
        }
        Ok(rc > 0)
    }

    /// Map a buffer (length and offset from QUERYBUF) into memory.
    pub fn mmap(&self, len: usize, offset: u32) -> io::Result<Mapping> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "buffer length 0",
            ));
        }
        // SAFETY: maps `len` bytes of this device at the offset the driver gave for the buffer;
        // the kernel validates offset and length, and a failure returns MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                self.file.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping {
            ptr: ptr.cast(),
            len,
        })
    }
}

fn from_sp(p: &PixFormat) -> Fmt {
    Fmt {
        width: p.width,
        height: p.height,
        pixelformat: p.pixelformat,
        bytesperline: p.bytesperline,
        sizeimage: p.sizeimage,
        num_planes: 1,
    }
}

fn from_mp(p: &PixFormatMp) -> Fmt {
    Fmt {
        width: p.width,
        height: p.height,
        pixelformat: p.pixelformat,
        bytesperline: p.plane_fmt[0].bytesperline,
        sizeimage: p.plane_fmt[0].sizeimage,
        num_planes: p.num_planes,
    }
}

fn end_is_none<T>(r: io::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One MMAP'ed buffer, unmapped on drop (before the device is closed, by field order of the
/// owner).
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` is a live shared mapping of `len` bytes owned by `self`; `&mut self`
        // makes this the only Rust view of it. The device writes to it only while the buffer is
        // queued, and callers touch it only between DQBUF and QBUF.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: as for `as_mut_slice`, read-only.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region `mmap` returned; nothing refers to it after drop.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_a_missing_node_is_an_error_not_a_panic() {
        assert!(Device::open(Path::new("/nonexistent/video0")).is_err());
    }
}
