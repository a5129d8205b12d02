//! From a codec configuration record to what ffprobe reports after opening the decoder: pixel
//! format, bit depth, picture size, colour (the bitstream's description over the container's)
//! and, for H.264, whether the field order is decided. Shared by both containers. Also AAC's
//! AudioSpecificConfig → ffprobe's profile name.

use super::av1::{VpConfig, parse_av1c};
use super::bits::Bits;
use super::colour::Colour;
use super::{Decline, Video, h264, hevc};

/// ffprobe's pixel format and its bit depth for a chroma format (0 = monochrome, 1 = 4:2:0,
/// 2 = 4:2:2, 3 = 4:4:4) and depth. `jpeg_range`: the H.264 decoder reports full-range 8-bit
/// pictures as the `yuvj` formats.
pub fn pix_fmt(chroma: u8, depth: u8, jpeg_range: bool) -> Option<(&'static str, u8)> {
    let name = match (chroma, depth, jpeg_range) {
        (1, 8, false) => "yuv420p",
        (1, 8, true) => "yuvj420p",
        (2, 8, false) => "yuv422p",
        (2, 8, true) => "yuvj422p",
        (3, 8, false) => "yuv444p",
        (3, 8, true) => "yuvj444p",
        (1, 10, _) => "yuv420p10le",
        (2, 10, _) => "yuv422p10le",
        (3, 10, _) => "yuv444p10le",
        (1, 12, _) => "yuv420p12le",
        (2, 12, _) => "yuv422p12le",
        (3, 12, _) => "yuv444p12le",
        _ => return None,
    };
    Some((name, depth))
}

/// Fill `v` from `codec`'s configuration record `record` (avcC, hvcC, av1C), with `container`
/// the colour the container declares.
pub fn video_config(
    v: &mut Video,
    codec: Option<&str>,
    record: &[u8],
    container: Colour,
) -> Result<(), Decline> {
    v.colour = container;
    match codec {
        Some("h264") => {
            let sps = h264::parse_avcc(record).ok_or(Decline::Missing("an H.264 SPS"))?;
            v.colour = container.overlay(sps.colour);
            if sps.chroma_format_idc == 3 && v.colour.matrix == Some(0) {
                return Err(Decline::Unsupported("RGB H.264"));
            }
            let full = v.colour.full_range == Some(true);
            set_format(v, sps.chroma_format_idc as u8, sps.bit_depth, full)?;
            v.width = sps.width;
            v.height = sps.height;
            v.profile = Some(format!("h264 profile_idc {}", sps.profile_idc));
            // The H.264 decoder decides the field order per picture; progressive is certain
            // only when the SPS forbids field coding.
            v.field_order_known = sps.frame_mbs_only;
            if sps.frame_mbs_only {
                v.field_order = Some("progressive");
            }
        }
        Some("hevc") => {
            let cfg = hevc::parse_hvcc(record).ok_or(Decline::Missing("an HEVC configuration"))?;
            let sps = cfg.sps.ok_or(Decline::Missing("an HEVC SPS"))?;
            v.colour = container.overlay(sps.colour);
            set_format(v, cfg.chroma_format_idc, cfg.bit_depth, false)?;
            v.width = sps.width;
            v.height = sps.height;
            v.profile = Some(format!("hevc profile_idc {}", cfg.profile_idc));
            v.field_order_known = true;
        }
        Some("av1") => {
            let cfg = parse_av1c(record).ok_or(Decline::Missing("an AV1 configuration"))?;
            if cfg.monochrome {
                return Err(Decline::Unsupported("monochrome AV1"));
            }
            let chroma = match cfg.subsampling {
                (true, true) => 1,
                (true, false) => 2,
                (false, false) => 3,
                _ => return Err(Decline::Malformed("AV1 subsampling")),
            };
            if let Some(c) = cfg.colour {
                v.colour = container.overlay(c);
            }
            set_format(v, chroma, cfg.bit_depth, false)?;
            v.profile = Some(format!("av1 profile {}", cfg.profile));
            v.field_order_known = true;
        }
        Some("vp8") => {
            set_format(v, 1, 8, false)?;
            v.field_order_known = true;
        }
        _ => {
            return Err(Decline::Unsupported(
                "a video codec without a native reader",
            ));
        }
    }
    Ok(())
}

/// VP9 from its `vpcC` record (MP4) or Matroska's CodecPrivate feature list.
pub fn vp9_config(v: &mut Video, cfg: VpConfig, container: Colour) -> Result<(), Decline> {
    v.colour = container.overlay(cfg.colour);
    let chroma = match cfg.chroma {
        0 | 1 => 1,
        2 => 2,
        3 => 3,
        _ => return Err(Decline::Malformed("VP9 chroma subsampling")),
    };
    set_format(v, chroma, cfg.bit_depth, false)?;
    v.profile = Some(format!("vp9 profile {}", cfg.profile));
    v.field_order_known = true;
    Ok(())
}

fn set_format(v: &mut Video, chroma: u8, depth: u8, jpeg: bool) -> Result<(), Decline> {
    let (name, depth) =
        pix_fmt(chroma, depth, jpeg).ok_or(Decline::Unsupported("an unusual pixel format"))?;
    v.pix_fmt = Some(name);
    v.bit_depth = Some(depth);
    Ok(())
}

/// ffprobe's AAC profile name from an AudioSpecificConfig.
pub fn aac_profile(asc: &[u8]) -> Option<&'static str> {
    let mut b = Bits::new(asc);
    let mut object = b.u(5)?;
    if object == 31 {
        object = 32 + b.u(6)?;
    }
    Some(match object {
        1 => "Main",
        2 => "LC",
        3 => "SSR",
        4 => "LTP",
        5 => "HE-AAC",
        23 => "LD",
        29 => "HE-AACv2",
        39 => "ELD",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_formats() {
        assert_eq!(pix_fmt(1, 8, false), Some(("yuv420p", 8)));
        assert_eq!(pix_fmt(1, 8, true), Some(("yuvj420p", 8)));
        assert_eq!(pix_fmt(1, 10, true), Some(("yuv420p10le", 10)));
        assert_eq!(pix_fmt(0, 8, false), None);
        assert_eq!(pix_fmt(1, 9, false), None);
    }

    #[test]
    fn aac_profiles() {
        assert_eq!(aac_profile(&[0x12, 0x10]), Some("LC"));
        assert_eq!(aac_profile(&[0x2b, 0x92]), Some("HE-AAC"));
        assert_eq!(aac_profile(&[]), None);
    }
}
