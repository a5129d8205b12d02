//! AV1: the `av1C` configuration record (MP4 `av1C` box, Matroska `CodecPrivate` of `V_AV1`)
//! and the sequence header OBU it carries, read through `color_config` for the colour
//! description a decoder reports. VP8/VP9's `vpcC` record is here too: same idea, simpler.

use super::bits::{Bits, Bytes};
use super::colour::{Colour, specified};

/// What `av1C` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub profile: u8,
    pub bit_depth: u8,
    pub monochrome: bool,
    pub subsampling: (bool, bool),
    /// From the sequence header OBU, when the record carries one.
    pub colour: Option<Colour>,
}

const OBU_SEQUENCE_HEADER: u32 = 1;

pub fn parse_av1c(record: &[u8]) -> Option<Config> {
    let mut c = Bytes::new(record);
    if c.u8()? != 0x81 {
        return None;
    }
    let mut b = Bits::new(c.take(3)?);
    let profile = b.u(3)? as u8;
    b.skip(5 + 1)?; // level, tier
    let high = b.flag()?;
    let twelve = b.flag()?;
    let monochrome = b.flag()?;
    let subsampling = (b.flag()?, b.flag()?);
    let bit_depth = match (high, twelve) {
        (false, _) => 8,
        (true, false) => 10,
        (true, true) => 12,
    };
    let colour = sequence_header_colour(c.rest());
    Some(Config {
        profile,
        bit_depth,
        monochrome,
        subsampling,
        colour,
    })
}

/// The colour config of the first sequence header OBU in `obus`.
fn sequence_header_colour(obus: &[u8]) -> Option<Colour> {
    let mut b = Bits::new(obus);
    b.flag()?; // forbidden
    let kind = b.u(4)?;
    let extension = b.flag()?;
    let has_size = b.flag()?;
    b.flag()?;
    if kind != OBU_SEQUENCE_HEADER {
        return None;
    }
    if extension {
        b.skip(8)?;
    }
    if has_size {
        leb128(&mut b)?;
    }
    let profile = b.u(3)?;
    b.flag()?; // still picture
    let reduced = b.flag()?;
    if reduced {
        b.skip(5)?;
    } else {
        let mut decoder_model = false;
        let mut delay_bits = 0;
        if b.flag()? {
            // timing info
            b.skip(64)?;
            if b.flag()? {
                uvlc(&mut b)?;
            }
            decoder_model = b.flag()?;
            if decoder_model {
                delay_bits = b.u(5)? as usize + 1;
                b.skip(32 + 5 + 5)?;
            }
        }
        let initial_delay = b.flag()?;
        let points = b.u(5)? + 1;
        for _ in 0..points {
            b.skip(12)?;
            if b.u(5)? > 7 {
                b.skip(1)?;
            }
            if decoder_model && b.flag()? {
                b.skip(2 * delay_bits + 1)?;
            }
            if initial_delay && b.flag()? {
                b.skip(4)?;
            }
        }
    }
    let w_bits = b.u(4)? as usize + 1;
    let h_bits = b.u(4)? as usize + 1;
    b.skip(w_bits + h_bits)?;
    if !reduced && b.flag()? {
        b.skip(4 + 3)?; // frame id lengths
    }
    b.skip(3)?; // 128x128, filter intra, intra edge
    if !reduced {
        b.skip(4)?; // interintra, masked compound, warped motion, dual filter
        let order_hint = b.flag()?;
        if order_hint {
            b.skip(2)?;
        }
        let force_screen = if b.flag()? { 2 } else { b.u(1)? };
        if force_screen > 0 && !b.flag()? {
            b.skip(1)?;
        }
        if order_hint {
            b.skip(3)?;
        }
    }
    b.skip(3)?; // superres, cdef, restoration
    let high = b.flag()?;
    if profile == 2 && high {
        b.flag()?;
    }
    let mono = profile != 1 && b.flag()?;
    let mut colour = Colour::default();
    let (mut cp, mut tc, mut mc) = (2, 2, 2);
    if b.flag()? {
        cp = b.u(8)?;
        tc = b.u(8)?;
        mc = b.u(8)?;
        colour.primaries = specified(cp);
        colour.transfer = specified(tc);
        colour.matrix = specified(mc);
    }
    colour.full_range = Some(if mono {
        b.flag()?
    } else if cp == 1 && tc == 13 && mc == 0 {
        true
    } else {
        b.flag()?
    });
    Some(colour)
}

fn leb128(b: &mut Bits) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..8 {
        let byte = b.u(8)?;
        v |= u64::from(byte & 0x7f) << (i * 7);
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn uvlc(b: &mut Bits) -> Option<u32> {
    let mut zeros = 0;
    while !b.flag()? {
        zeros += 1;
        if zeros >= 32 {
            return None;
        }
    }
    Some((1u32 << zeros) - 1 + b.u(zeros)?)
}

/// A VP8/VP9 `vpcC` record (version 1, after the full-box header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VpConfig {
    pub profile: u8,
    pub bit_depth: u8,
    /// 0/1: 4:2:0, 2: 4:2:2, 3: 4:4:4.
    pub chroma: u8,
    pub colour: Colour,
}

pub fn parse_vpcc(payload: &[u8]) -> Option<VpConfig> {
    let mut c = Bytes::new(payload);
    let profile = c.u8()?;
    c.u8()?; // level
    let packed = c.u8()?;
    let colour = Colour {
        primaries: specified(c.u8()?.into()),
        transfer: specified(c.u8()?.into()),
        matrix: specified(c.u8()?.into()),
        full_range: Some(packed & 1 == 1),
        ..Colour::default()
    };
    Some(VpConfig {
        profile,
        bit_depth: packed >> 4,
        chroma: (packed >> 1) & 0x7,
        colour,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn av1c_header_without_obus() {
        // marker, profile 0 level 8, 10-bit 4:2:0.
        let c = parse_av1c(&[0x81, 0x08, 0x4c, 0x00]).unwrap();
        assert_eq!((c.profile, c.bit_depth, c.monochrome), (0, 10, false));
        assert_eq!(c.subsampling, (true, true));
        assert_eq!(c.colour, None);
        assert_eq!(parse_av1c(&[0x80, 0, 0, 0]), None);
        assert_eq!(parse_av1c(&[0x81, 0]), None);
    }

    #[test]
    fn vpcc_record() {
        let v = parse_vpcc(&[2, 31, 0xa2, 9, 16, 9, 0, 0]).unwrap();
        assert_eq!((v.profile, v.bit_depth, v.chroma), (2, 10, 1));
        assert_eq!(v.colour.transfer, Some(16));
        assert_eq!(v.colour.full_range, Some(false));
    }
}
