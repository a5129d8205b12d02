//! Colour description shared by every codec and container (the ITU-T H.273 code points), the
//! names ffprobe prints for them, HDR10 static metadata and the Dolby Vision configuration
//! record (`dvcC`/`dvvC`/`dvwC`, the same bytes in MP4 boxes and Matroska block additions).

use super::bits::{Bits, Bytes};

/// H.273 colour code points; `None` where the source does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Colour {
    pub primaries: Option<u8>,
    pub transfer: Option<u8>,
    pub matrix: Option<u8>,
    pub full_range: Option<bool>,
    pub mastering: Option<Mastering>,
    /// Content light level: MaxCLL, MaxFALL (cd/m²).
    pub light_level: Option<(u16, u16)>,
}

impl Colour {
    /// `over` as a decoder applies it: a bitstream colour description replaces what the
    /// container said, field by field only where the bitstream has one.
    pub fn overlay(self, over: Colour) -> Colour {
        Colour {
            primaries: over.primaries.or(self.primaries),
            transfer: over.transfer.or(self.transfer),
            matrix: over.matrix.or(self.matrix),
            full_range: over.full_range.or(self.full_range),
            mastering: over.mastering.or(self.mastering),
            light_level: over.light_level.or(self.light_level),
        }
    }
}

/// SMPTE ST 2086 mastering display colour volume (chromaticities in 0.00002 units, luminance
/// in 0.0001 cd/m²), as stored in MP4 `mdcv` and HEVC SEI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mastering {
    pub max_luminance: u32,
    pub min_luminance: u32,
}

/// ffprobe's `color_primaries` name; `None` for unspecified and reserved values.
pub fn primaries_name(v: u8) -> Option<&'static str> {
    Some(match v {
        1 => "bt709",
        4 => "bt470m",
        5 => "bt470bg",
        6 => "smpte170m",
        7 => "smpte240m",
        8 => "film",
        9 => "bt2020",
        10 => "smpte428",
        11 => "smpte431",
        12 => "smpte432",
        22 => "ebu3213",
        _ => return None,
    })
}

/// ffprobe's `color_transfer` name.
pub fn transfer_name(v: u8) -> Option<&'static str> {
    Some(match v {
        1 => "bt709",
        4 => "gamma22",
        5 => "gamma28",
        6 => "smpte170m",
        7 => "smpte240m",
        8 => "linear",
        9 => "log100",
        10 => "log316",
        11 => "iec61966-2-4",
        12 => "bt1361e",
        13 => "iec61966-2-1",
        14 => "bt2020-10",
        15 => "bt2020-12",
        16 => "smpte2084",
        17 => "smpte428",
        18 => "arib-std-b67",
        _ => return None,
    })
}

/// ffprobe's `color_space` (matrix coefficients) name.
pub fn matrix_name(v: u8) -> Option<&'static str> {
    Some(match v {
        0 => "gbr",
        1 => "bt709",
        4 => "fcc",
        5 => "bt470bg",
        6 => "smpte170m",
        7 => "smpte240m",
        8 => "ycgco",
        9 => "bt2020nc",
        10 => "bt2020c",
        11 => "smpte2085",
        12 => "chroma-derived-nc",
        13 => "chroma-derived-c",
        14 => "ictcp",
        _ => return None,
    })
}

/// A code point, with "unspecified" (2) as `None`.
pub fn specified(v: u32) -> Option<u8> {
    u8::try_from(v).ok().filter(|v| *v != 2)
}

/// A Dolby Vision decoder configuration record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoviConfig {
    pub profile: u8,
    pub level: u8,
    pub rpu: bool,
    pub el: bool,
    pub bl: bool,
    /// Base-layer signal compatibility (profile 8.1 → 1, 8.4 → 4).
    pub compatibility: u8,
}

/// Parse a `dvcC`/`dvvC`/`dvwC` payload (version 1.x, 24 bytes; only the first 5 matter).
pub fn parse_dovi(payload: &[u8]) -> Option<DoviConfig> {
    let mut c = Bytes::new(payload);
    let _major = c.u8()?;
    let _minor = c.u8()?;
    let mut b = Bits::new(c.take(3)?);
    let profile = b.u(7)? as u8;
    let level = b.u(6)? as u8;
    let rpu = b.flag()?;
    let el = b.flag()?;
    let bl = b.flag()?;
    let compatibility = b.u(4)? as u8;
    Some(DoviConfig {
        profile,
        level,
        rpu,
        el,
        bl,
        compatibility,
    })
}

/// Parse an MP4 `mdcv` payload (or the same 24 bytes of an HEVC/AV1 mastering SEI).
pub fn parse_mdcv(payload: &[u8]) -> Option<Mastering> {
    let mut c = Bytes::new(payload);
    c.skip(16)?;
    Some(Mastering {
        max_luminance: c.u32()?,
        min_luminance: c.u32()?,
    })
}

/// Parse an MP4 `clli` payload.
pub fn parse_clli(payload: &[u8]) -> Option<(u16, u16)> {
    let mut c = Bytes::new(payload);
    Some((c.u16()?, c.u16()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dovi_record_profile_8_1() {
        // version 1.0, profile 8, level 6, rpu+bl, compatibility 1.
        let bits: u32 = (8 << 17) | (6 << 11) | (1 << 10) | (1 << 8) | (1 << 4);
        let b = bits.to_be_bytes();
        let rec = [1, 0, b[1], b[2], b[3]];
        let d = parse_dovi(&rec).unwrap();
        assert_eq!(
            (d.profile, d.level, d.rpu, d.el, d.bl),
            (8, 6, true, false, true)
        );
        assert_eq!(d.compatibility, 1);
        assert_eq!(parse_dovi(&rec[..4]), None);
    }

    #[test]
    fn names_follow_ffprobe_and_skip_unspecified() {
        assert_eq!(transfer_name(16), Some("smpte2084"));
        assert_eq!(transfer_name(18), Some("arib-std-b67"));
        assert_eq!(primaries_name(9), Some("bt2020"));
        assert_eq!(matrix_name(9), Some("bt2020nc"));
        assert_eq!(primaries_name(2), None);
        assert_eq!(primaries_name(3), None);
        assert_eq!(specified(2), None);
        assert_eq!(specified(300), None);
    }

    #[test]
    fn overlay_prefers_the_bitstream() {
        let container = Colour {
            primaries: Some(1),
            transfer: Some(1),
            ..Colour::default()
        };
        let vui = Colour {
            transfer: Some(16),
            ..Colour::default()
        };
        let c = container.overlay(vui);
        assert_eq!((c.primaries, c.transfer), (Some(1), Some(16)));
    }
}
