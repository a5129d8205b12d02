//! H.264: the `avcC` decoder configuration record (MP4 `avcC` box, Matroska `CodecPrivate` of
//! `V_MPEG4/ISO/AVC`) and the first sequence parameter set inside it: profile, chroma format,
//! bit depth, cropped picture size, whether frames are coded progressively, and the VUI colour
//! description, which is what a decoder (and so ffprobe) reports.

use super::bits::{Bits, Bytes, unescape_nal};
use super::colour::{Colour, specified};

/// What the SPS says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sps {
    pub profile_idc: u8,
    pub chroma_format_idc: u32,
    pub bit_depth: u8,
    pub width: u32,
    pub height: u32,
    /// `frame_mbs_only_flag`: no field or MBAFF coding, so every picture is progressive.
    pub frame_mbs_only: bool,
    pub colour: Colour,
}

/// SPS NAL units longer than this are corrupt (real ones are tens of bytes).
const MAX_SPS_BYTES: usize = 4096;
/// `num_ref_frames_in_pic_order_cnt_cycle` is at most 255 by the standard.
const MAX_POC_CYCLE: u32 = 255;

/// The first SPS in an `avcC` record.
pub fn parse_avcc(record: &[u8]) -> Option<Sps> {
    let mut c = Bytes::new(record);
    if c.u8()? != 1 {
        return None;
    }
    c.skip(4)?; // profile, compatibility, level, length size
    let count = c.u8()? & 0x1f;
    if count == 0 {
        return None;
    }
    let len = usize::from(c.u16()?);
    parse_sps(c.take(len)?)
}

/// Parse an SPS NAL unit (with its one-byte header).
pub fn parse_sps(nal: &[u8]) -> Option<Sps> {
    if nal.len() > MAX_SPS_BYTES || nal.first()? & 0x1f != 7 {
        return None;
    }
    let rbsp = unescape_nal(&nal[1..]);
    let mut b = Bits::new(&rbsp);
    let profile_idc = b.u(8)? as u8;
    b.skip(16)?; // constraint flags, level
    b.ue()?; // seq_parameter_set_id
    let (mut chroma_format_idc, mut bit_depth, mut separate_planes) = (1, 8, false);
    if matches!(
        profile_idc,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format_idc = b.ue()?;
        if chroma_format_idc > 3 {
            return None;
        }
        if chroma_format_idc == 3 {
            separate_planes = b.flag()?;
        }
        bit_depth = b.ue()?.checked_add(8).filter(|d| *d <= 14)?;
        b.ue()?; // bit_depth_chroma
        b.flag()?; // qpprime_y_zero_transform_bypass
        if b.flag()? {
            let lists = if chroma_format_idc == 3 { 12 } else { 8 };
            for i in 0..lists {
                if b.flag()? {
                    skip_scaling_list(&mut b, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    b.ue()?; // log2_max_frame_num_minus4
    match b.ue()? {
        0 => {
            b.ue()?;
        }
        1 => {
            b.flag()?;
            b.se()?;
            b.se()?;
            let cycle = b.ue()?;
            if cycle > MAX_POC_CYCLE {
                return None;
            }
            for _ in 0..cycle {
                b.se()?;
            }
        }
        2 => {}
        _ => return None,
    }
    b.ue()?; // max_num_ref_frames
    b.flag()?; // gaps_in_frame_num_value_allowed
    let width_mbs = u64::from(b.ue()?) + 1;
    let height_units = u64::from(b.ue()?) + 1;
    let frame_mbs_only = b.flag()?;
    if !frame_mbs_only {
        b.flag()?; // mb_adaptive_frame_field
    }
    b.flag()?; // direct_8x8_inference
    let (mut crop_x, mut crop_y) = (0u64, 0u64);
    if b.flag()? {
        let (l, r, t, bo) = (b.ue()?, b.ue()?, b.ue()?, b.ue()?);
        let chroma = if separate_planes {
            0
        } else {
            chroma_format_idc
        };
        let (sub_w, sub_h): (u64, u64) = match chroma {
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        let field = if frame_mbs_only { 1 } else { 2 };
        crop_x = sub_w * (u64::from(l) + u64::from(r));
        crop_y = sub_h * field * (u64::from(t) + u64::from(bo));
    }
    let full_w = width_mbs * 16;
    let full_h = height_units * 16 * if frame_mbs_only { 1 } else { 2 };
    let width = u32::try_from(full_w.checked_sub(crop_x)?).ok()?;
    let height = u32::try_from(full_h.checked_sub(crop_y)?).ok()?;
    let colour = if b.flag()? {
        vui_colour(&mut b)?
    } else {
        Colour::default()
    };
    Some(Sps {
        profile_idc,
        chroma_format_idc,
        bit_depth: bit_depth as u8,
        width,
        height,
        frame_mbs_only,
        colour,
    })
}

fn skip_scaling_list(b: &mut Bits, size: u32) -> Option<()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            let delta = b.se()?;
            next = (last + delta + 256).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

/// The start of the VUI up to the colour description (shared layout with HEVC's VUI).
pub fn vui_colour(b: &mut Bits) -> Option<Colour> {
    if b.flag()? {
        // aspect_ratio_info
        if b.u(8)? == 255 {
            b.skip(32)?;
        }
    }
    if b.flag()? {
        b.flag()?; // overscan_appropriate
    }
    let mut colour = Colour::default();
    if b.flag()? {
        // video_signal_type
        b.skip(3)?; // video_format
        colour.full_range = Some(b.flag()?);
        if b.flag()? {
            colour.primaries = specified(b.u(8)?);
            colour.transfer = specified(b.u(8)?);
            colour.matrix = specified(b.u(8)?);
        }
    }
    Some(colour)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x264's SPS for 320×240 High 4:2:0 8-bit, progressive, no VUI colour.
    const SPS_320X240: [u8; 25] = [
        0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
        0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0x99, 0x60,
    ];

    #[test]
    fn x264_sps() {
        let sps = parse_sps(&SPS_320X240).unwrap();
        assert_eq!((sps.width, sps.height), (320, 240));
        assert_eq!(
            (sps.profile_idc, sps.chroma_format_idc, sps.bit_depth),
            (100, 1, 8)
        );
        assert!(sps.frame_mbs_only);
        assert_eq!(sps.colour.primaries, None);
    }

    #[test]
    fn truncated_or_foreign_units_are_rejected() {
        // Cut before the picture size: nothing to report. Longer cuts may still parse (the
        // VUI flag reads as absent), but never panic.
        for n in 0..9 {
            assert_eq!(parse_sps(&SPS_320X240[..n]), None, "{n} bytes");
        }
        for n in 9..SPS_320X240.len() {
            let _ = parse_sps(&SPS_320X240[..n]);
        }
        assert_eq!(parse_sps(&[0x68, 0xee]), None);
        assert_eq!(
            parse_avcc(&[1, 0x64, 0, 0x0d, 0xff, 0xe1, 0xff, 0xff]),
            None
        );
    }
}
