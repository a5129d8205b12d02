//! VP9's uncompressed frame header, read from the first key frame when the container carries
//! no configuration (ffmpeg writes WebM/Matroska VP9 without CodecPrivate): profile, bit depth,
//! chroma subsampling, colour space and range. The VP9 decoder reports its colour space from
//! this header, replacing whatever the container said.

use super::av1::VpConfig;
use super::bits::Bits;
use super::colour::Colour;

const SYNC_CODE: u32 = 0x49_8342;
const CS_RGB: u32 = 7;

/// What the header says, plus the matrix (H.273 code point; `None` = unspecified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameConfig {
    pub config: VpConfig,
    pub matrix: Option<u8>,
}

/// Parse a key frame's header; `None` for inter frames, damaged or unusual (4:4:0) ones.
pub fn frame_config(frame: &[u8]) -> Option<FrameConfig> {
    let mut b = Bits::new(frame);
    if b.u(2)? != 2 {
        return None;
    }
    let low = b.u(1)?;
    let profile = (b.u(1)? << 1) | low;
    if profile == 3 {
        b.skip(1)?;
    }
    if b.flag()? || b.flag()? {
        return None; // show_existing_frame, or not a key frame
    }
    b.skip(2)?; // show_frame, error_resilient_mode
    if b.u(24)? != SYNC_CODE {
        return None;
    }
    let bit_depth = match (profile >= 2, profile >= 2 && b.flag()?) {
        (false, _) => 8,
        (true, false) => 10,
        (true, true) => 12,
    };
    let space = b.u(3)?;
    let (full, ss) = if space == CS_RGB {
        if profile % 2 == 1 {
            b.skip(1)?;
        }
        (true, (false, false))
    } else {
        let full = b.flag()?;
        let ss = if profile % 2 == 1 {
            let ss = (b.flag()?, b.flag()?);
            b.skip(1)?;
            ss
        } else {
            (true, true)
        };
        (full, ss)
    };
    let chroma = match ss {
        (true, true) => 1,
        (true, false) => 2,
        (false, false) => 3,
        (false, true) => return None,
    };
    let matrix = match space {
        1 => Some(5),
        2 => Some(1),
        3 => Some(6),
        4 => Some(7),
        5 => Some(9),
        7 => Some(0),
        _ => None,
    };
    Some(FrameConfig {
        config: VpConfig {
            profile: profile as u8,
            bit_depth,
            chroma,
            colour: Colour {
                full_range: Some(full),
                ..Colour::default()
            },
        },
        matrix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_2_key_frame() {
        // marker 10, profile 2 (low 0, high 1), key frame, shown, sync code, 10-bit,
        // colour space bt709 (2), studio range.
        let bits = "10 0 1 0 0 1 0 010010011000001101000010 0 010 0";
        let bits: String = bits.split_whitespace().collect();
        let mut bytes = vec![0u8; bits.len().div_ceil(8)];
        for (i, c) in bits.chars().enumerate() {
            if c == '1' {
                bytes[i / 8] |= 0x80 >> (i % 8);
            }
        }
        let f = frame_config(&bytes).unwrap();
        assert_eq!(
            (f.config.profile, f.config.bit_depth, f.config.chroma),
            (2, 10, 1)
        );
        assert_eq!(f.matrix, Some(1));
        assert_eq!(f.config.colour.full_range, Some(false));
        assert_eq!(frame_config(&bytes[..3]), None);
        assert_eq!(frame_config(&[0x86]), None, "inter frame");
    }
}
