//! HEVC: the `hvcC` decoder configuration record (MP4 `hvcC` box, Matroska `CodecPrivate` of
//! `V_MPEGH/ISO/HEVC`) and the sequence parameter set inside it, read as far as the VUI colour
//! description: profile, chroma format, bit depth, conformance-cropped size, colour.

use super::bits::{Bits, Bytes, unescape_nal};
use super::colour::Colour;
use super::h264::vui_colour;

/// What `hvcC` and its SPS say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub profile_idc: u8,
    pub chroma_format_idc: u8,
    pub bit_depth: u8,
    /// From the SPS; `None` when the record has no SPS or it could not be read.
    pub sps: Option<Sps>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sps {
    pub width: u32,
    pub height: u32,
    pub colour: Colour,
}

const SPS_NAL: u8 = 33;
/// Limits from the standard: short-term RPS count (64), pictures per RPS (16).
const MAX_ST_RPS: u32 = 64;
const MAX_RPS_PICS: u32 = 16;
const MAX_LT_PICS: u32 = 32;

/// Parse an `hvcC` record.
pub fn parse_hvcc(record: &[u8]) -> Option<Config> {
    let mut c = Bytes::new(record);
    if c.u8()? != 1 {
        return None;
    }
    let profile_idc = c.u8()? & 0x1f;
    c.skip(4 + 6 + 1 + 2 + 1)?; // compatibility, constraints, level, segmentation, parallelism
    let chroma_format_idc = c.u8()? & 0x3;
    let bit_depth = (c.u8()? & 0x7) + 8;
    c.skip(1 + 2 + 1)?; // chroma depth, avg frame rate, misc
    let arrays = c.u8()?;
    let mut sps = None;
    for _ in 0..arrays {
        let nal_type = c.u8()? & 0x3f;
        let count = c.u16()?;
        for _ in 0..count {
            let len = usize::from(c.u16()?);
            let nal = c.take(len)?;
            if nal_type == SPS_NAL && sps.is_none() {
                sps = parse_sps(nal);
            }
        }
    }
    Some(Config {
        profile_idc,
        chroma_format_idc,
        bit_depth,
        sps,
    })
}

/// Parse an SPS NAL unit (two-byte header included) up to the VUI colour description.
pub fn parse_sps(nal: &[u8]) -> Option<Sps> {
    if nal.len() > 4096 || (nal.first()? >> 1) & 0x3f != SPS_NAL {
        return None;
    }
    let rbsp = unescape_nal(nal.get(2..)?);
    let mut b = Bits::new(&rbsp);
    b.skip(4)?; // vps id
    let max_sub_layers_minus1 = b.u(3)?;
    b.flag()?;
    profile_tier_level(&mut b, max_sub_layers_minus1)?;
    b.ue()?; // sps id
    let chroma = b.ue()?;
    if chroma > 3 {
        return None;
    }
    if chroma == 3 {
        b.flag()?;
    }
    let width = b.ue()?;
    let height = b.ue()?;
    let (sub_w, sub_h) = match chroma {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    };
    let (mut crop_x, mut crop_y) = (0u64, 0u64);
    if b.flag()? {
        let (l, r, t, bo) = (b.ue()?, b.ue()?, b.ue()?, b.ue()?);
        crop_x = sub_w * (u64::from(l) + u64::from(r));
        crop_y = sub_h * (u64::from(t) + u64::from(bo));
    }
    b.ue()?; // bit depth luma
    b.ue()?; // bit depth chroma
    let poc_lsb_bits = b.ue()?.checked_add(4).filter(|n| *n <= 16)?;
    let all_layers = b.flag()?;
    let first = if all_layers { 0 } else { max_sub_layers_minus1 };
    for _ in first..=max_sub_layers_minus1 {
        b.ue()?;
        b.ue()?;
        b.ue()?;
    }
    for _ in 0..6 {
        b.ue()?; // block sizes, transform hierarchy depths
    }
    if b.flag()? && b.flag()? {
        skip_scaling_list_data(&mut b)?;
    }
    b.flag()?; // amp
    b.flag()?; // sao
    if b.flag()? {
        b.skip(8)?;
        b.ue()?;
        b.ue()?;
        b.flag()?;
    }
    let sets = b.ue()?;
    if sets > MAX_ST_RPS {
        return None;
    }
    let mut rps: Vec<Vec<i64>> = Vec::new();
    for i in 0..sets {
        let set = st_ref_pic_set(&mut b, i, &rps)?;
        rps.push(set);
    }
    if b.flag()? {
        let n = b.ue()?;
        if n > MAX_LT_PICS {
            return None;
        }
        for _ in 0..n {
            b.skip(poc_lsb_bits as usize + 1)?;
        }
    }
    b.flag()?; // temporal mvp
    b.flag()?; // strong intra smoothing
    let colour = if b.flag()? {
        vui_colour(&mut b)?
    } else {
        Colour::default()
    };
    Some(Sps {
        width: u32::try_from(u64::from(width).checked_sub(crop_x)?).ok()?,
        height: u32::try_from(u64::from(height).checked_sub(crop_y)?).ok()?,
        colour,
    })
}

fn profile_tier_level(b: &mut Bits, max_sub_layers_minus1: u32) -> Option<()> {
    b.skip(88 + 8)?; // general profile (88 bits) and level
    let mut present = Vec::new();
    for _ in 0..max_sub_layers_minus1 {
        present.push((b.flag()?, b.flag()?));
    }
    if max_sub_layers_minus1 > 0 {
        b.skip(2 * (8 - max_sub_layers_minus1 as usize))?;
    }
    for (profile, level) in present {
        if profile {
            b.skip(88)?;
        }
        if level {
            b.skip(8)?;
        }
    }
    Some(())
}

fn skip_scaling_list_data(b: &mut Bits) -> Option<()> {
    for size_id in 0..4u32 {
        let step = if size_id == 3 { 3 } else { 1 };
        for _ in (0..6).step_by(step) {
            if !b.flag()? {
                b.ue()?;
            } else {
                let coefs = 64.min(1u32 << (4 + (size_id << 1)));
                if size_id > 1 {
                    b.se()?;
                }
                for _ in 0..coefs {
                    b.se()?;
                }
            }
        }
    }
    Some(())
}

/// One short-term reference picture set; returns its delta POCs so later sets can predict
/// from it (their length decides how many flags follow).
fn st_ref_pic_set(b: &mut Bits, idx: u32, previous: &[Vec<i64>]) -> Option<Vec<i64>> {
    let predicted = idx != 0 && b.flag()?;
    if predicted {
        let sign = b.flag()?;
        let abs = i64::from(b.ue()?) + 1;
        let delta = if sign { -abs } else { abs };
        let reference = previous.last()?;
        let mut out = Vec::new();
        for j in 0..=reference.len() {
            let used = b.flag()?;
            let use_delta = used || b.flag()?;
            let poc = reference.get(j).map_or(delta, |p| p + delta);
            if use_delta && poc != 0 {
                out.push(poc);
            }
        }
        (out.len() <= 2 * MAX_RPS_PICS as usize).then_some(out)
    } else {
        let negative = b.ue()?;
        let positive = b.ue()?;
        if negative > MAX_RPS_PICS || positive > MAX_RPS_PICS {
            return None;
        }
        let mut out = Vec::new();
        let mut poc = 0i64;
        for _ in 0..negative {
            poc -= i64::from(b.ue()?) + 1;
            b.flag()?;
            out.push(poc);
        }
        poc = 0;
        for _ in 0..positive {
            poc += i64::from(b.ue()?) + 1;
            b.flag()?;
            out.push(poc);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_records_are_rejected() {
        assert_eq!(parse_hvcc(&[]), None);
        assert_eq!(parse_hvcc(&[0]), None);
        assert_eq!(parse_hvcc(&[1; 10]), None);
        assert_eq!(parse_sps(&[0x42, 0x01]), None);
        assert_eq!(parse_sps(&[0x40, 0x01, 0xff]), None);
    }
}
