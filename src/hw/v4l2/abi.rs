//! The V4L2 kernel ABI `sys` speaks: structs mirroring `linux/videodev2.h` field for
//! field and the ioctl numbers built from their sizes. The layout is the same on x86_64 and
//! aarch64 (both LP64, little-endian); the sizes are unit-tested against the values the kernel
//! encodes in its ioctl numbers. Plain data, no `unsafe`.

pub const BUF_TYPE_VIDEO_CAPTURE: u32 = 1;
pub const BUF_TYPE_VIDEO_OUTPUT: u32 = 2;
pub const BUF_TYPE_VIDEO_CAPTURE_MPLANE: u32 = 9;
pub const BUF_TYPE_VIDEO_OUTPUT_MPLANE: u32 = 10;
pub const MEMORY_MMAP: u32 = 1;
pub const FIELD_NONE: u32 = 1;
pub const BUF_FLAG_LAST: u32 = 0x0010_0000;
pub const FRMSIZE_TYPE_DISCRETE: u32 = 1;
pub const ENC_CMD_STOP: u32 = 1;

/// `struct v4l2_capability`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Capability {
    pub driver: [u8; 16],
    pub card: [u8; 32],
    pub bus_info: [u8; 32],
    pub version: u32,
    pub capabilities: u32,
    pub device_caps: u32,
    pub reserved: [u32; 3],
}

/// `struct v4l2_fmtdesc`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FmtDesc {
    pub index: u32,
    pub type_: u32,
    pub flags: u32,
    pub description: [u8; 32],
    pub pixelformat: u32,
    pub mbus_code: u32,
    pub reserved: [u32; 3],
}

/// `struct v4l2_frmsizeenum`; `sizes` is the discrete `{width, height}` or the stepwise
/// `{min_w, max_w, step_w, min_h, max_h, step_h}` union member.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FrmSizeEnum {
    pub index: u32,
    pub pixel_format: u32,
    pub type_: u32,
    pub sizes: [u32; 6],
    pub reserved: [u32; 2],
}

/// `struct v4l2_format` with the single-planar `v4l2_pix_format` member spelled out; the
/// union is 200 bytes and 8-aligned (it holds pointers), hence the padding word.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Format {
    pub type_: u32,
    pub(super) _pad: u32,
    pub pix: PixFormat,
    pub(super) _rest: [u32; 38],
}

/// `struct v4l2_pix_format`
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct PixFormat {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub field: u32,
    pub bytesperline: u32,
    pub sizeimage: u32,
    pub colorspace: u32,
    pub priv_: u32,
    pub flags: u32,
    pub ycbcr_enc: u32,
    pub quantization: u32,
    pub xfer_func: u32,
}

/// `struct v4l2_plane_pix_format`
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct PlanePixFormat {
    pub sizeimage: u32,
    pub bytesperline: u32,
    pub reserved: [u16; 6],
}

/// `struct v4l2_pix_format_mplane`
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct PixFormatMp {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub field: u32,
    pub colorspace: u32,
    pub plane_fmt: [PlanePixFormat; 8],
    pub num_planes: u8,
    pub flags: u8,
    pub ycbcr_enc: u8,
    pub quantization: u8,
    pub xfer_func: u8,
    pub reserved: [u8; 7],
}

/// `struct v4l2_format` with the multi-planar member.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct FormatMp {
    pub type_: u32,
    pub(super) _pad: u32,
    pub pix_mp: PixFormatMp,
    pub(super) _rest: [u8; 8],
}

/// `struct v4l2_plane` (MMAP: `m` is `mem_offset`).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Plane {
    pub bytesused: u32,
    pub length: u32,
    pub m: u64,
    pub data_offset: u32,
    pub reserved: [u32; 11],
}

/// A queue format in the terms both APIs share; multi-planar queues are used with one plane
/// (the contiguous formats YU12, NV12 and every coded format have one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fmt {
    pub width: u32,
    pub height: u32,
    pub pixelformat: u32,
    pub bytesperline: u32,
    pub sizeimage: u32,
    pub num_planes: u8,
}

/// What DQBUF returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dequeued {
    pub index: u32,
    pub bytesused: u32,
    pub flags: u32,
}

/// `struct v4l2_requestbuffers`
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct RequestBuffers {
    pub count: u32,
    pub type_: u32,
    pub memory: u32,
    pub capabilities: u32,
    pub flags: u8,
    pub reserved: [u8; 3],
}

/// `struct v4l2_buffer` (single-planar: `m` is the MMAP offset).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Buffer {
    pub index: u32,
    pub type_: u32,
    pub bytesused: u32,
    pub flags: u32,
    pub field: u32,
    pub(super) _pad: u32,
    /// `struct timeval`
    pub timestamp: [i64; 2],
    /// `struct v4l2_timecode`
    pub timecode: [u32; 4],
    pub sequence: u32,
    pub memory: u32,
    /// `union m`: `offset` for MMAP (the low word on little-endian).
    pub m: u64,
    pub length: u32,
    pub reserved2: u32,
    pub request_fd: i32,
    pub(super) _pad2: u32,
}

/// `struct v4l2_encoder_cmd`
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct EncoderCmd {
    pub cmd: u32,
    pub flags: u32,
    pub data: [u32; 8],
}

const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// `_IOC(dir, 'V', nr, size)`; the same encoding on x86_64 and aarch64.
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((b'V' as u32) << 8) | nr
}

const RW: u32 = IOC_READ | IOC_WRITE;
pub const VIDIOC_QUERYCAP: u32 = ioc(IOC_READ, 0, size_of::<Capability>());
pub const VIDIOC_ENUM_FMT: u32 = ioc(RW, 2, size_of::<FmtDesc>());
pub const VIDIOC_G_FMT: u32 = ioc(RW, 4, size_of::<Format>());
pub const VIDIOC_S_FMT: u32 = ioc(RW, 5, size_of::<Format>());
pub const VIDIOC_REQBUFS: u32 = ioc(RW, 8, size_of::<RequestBuffers>());
pub const VIDIOC_QUERYBUF: u32 = ioc(RW, 9, size_of::<Buffer>());
pub const VIDIOC_QBUF: u32 = ioc(RW, 15, size_of::<Buffer>());
pub const VIDIOC_DQBUF: u32 = ioc(RW, 17, size_of::<Buffer>());
pub const VIDIOC_STREAMON: u32 = ioc(IOC_WRITE, 18, size_of::<i32>());
pub const VIDIOC_STREAMOFF: u32 = ioc(IOC_WRITE, 19, size_of::<i32>());
pub const VIDIOC_ENUM_FRAMESIZES: u32 = ioc(RW, 74, size_of::<FrmSizeEnum>());
pub const VIDIOC_ENCODER_CMD: u32 = ioc(RW, 77, size_of::<EncoderCmd>());

#[cfg(test)]
mod tests {
    use super::*;

    /// Sizes as the kernel encodes them in the ioctl numbers (videodev2.h on 64-bit).
    #[test]
    fn struct_sizes_and_ioctl_numbers_match_the_kernel_abi() {
        assert_eq!(size_of::<Capability>(), 104);
        assert_eq!(size_of::<FmtDesc>(), 64);
        assert_eq!(size_of::<Format>(), 208);
        assert_eq!(size_of::<PixFormat>(), 48);
        assert_eq!(size_of::<Buffer>(), 88);
        assert_eq!(size_of::<RequestBuffers>(), 20);
        assert_eq!(size_of::<FrmSizeEnum>(), 44);
        assert_eq!(size_of::<EncoderCmd>(), 40);
        assert_eq!(size_of::<FormatMp>(), 208);
        assert_eq!(size_of::<PixFormatMp>(), 192);
        assert_eq!(size_of::<Plane>(), 64);
        assert_eq!(std::mem::offset_of!(Plane, m), 8);
        assert_eq!(std::mem::offset_of!(Buffer, m), 64);
        assert_eq!(std::mem::offset_of!(Buffer, timestamp), 24);
        assert_eq!(VIDIOC_QUERYCAP, 0x8068_5600);
        assert_eq!(VIDIOC_ENUM_FMT, 0xc040_5602);
        assert_eq!(VIDIOC_S_FMT, 0xc0d0_5605);
        assert_eq!(VIDIOC_REQBUFS, 0xc014_5608);
        assert_eq!(VIDIOC_QBUF, 0xc058_560f);
        assert_eq!(VIDIOC_DQBUF, 0xc058_5611);
        assert_eq!(VIDIOC_STREAMON, 0x4004_5612);
        assert_eq!(VIDIOC_ENUM_FRAMESIZES, 0xc02c_564a);
        assert_eq!(VIDIOC_ENCODER_CMD, 0xc028_564d);
    }
}
