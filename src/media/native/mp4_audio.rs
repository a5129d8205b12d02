//! MP4 audio sample entries: channel count and sample rate from the entry (ISO layout and
//! QuickTime version 1), the codec from the fourcc or, for `mp4a`, the `esds` object type, and
//! AAC's profile and channel layout from its AudioSpecificConfig, which is what the decoder
//! (and so ffprobe) reports.

use super::bits::{Bits, Bytes};
use super::mp4::{boxes, full_box};
use super::{Audio, Decline, codecs};

/// `(audio facts, ffprobe codec name)` for a sample entry body.
pub(super) fn audio(fourcc: [u8; 4], entry: &[u8]) -> Result<(Audio, &'static str), Decline> {
    let bad = || Decline::Malformed("audio sample entry");
    let mut c = Bytes::new(entry);
    c.skip(8).ok_or_else(bad)?;
    let version = c.u16().ok_or_else(bad)?;
    c.skip(6).ok_or_else(bad)?;
    let channels = u32::from(c.u16().ok_or_else(bad)?);
    c.skip(6).ok_or_else(bad)?;
    let rate = c.u32().ok_or_else(bad)? >> 16;
    match version {
        0 => {}
        1 => c.skip(16).ok_or_else(bad)?,
        _ => {
            return Err(Decline::Unsupported(
                "QuickTime version 2 sound description",
            ));
        }
    }
    let mut a = Audio {
        channels: Some(channels),
        sample_rate: Some(rate),
        profile: None,
    };
    let codec = match &fourcc {
        b"mp4a" => {
            // QuickTime keeps `esds` inside a `wave` box.
            fn find(body: &[u8]) -> Option<&[u8]> {
                boxes(body)
                    .filter_map(Result::ok)
                    .find(|(k, _)| k == b"esds")
                    .map(|(_, b)| b)
            }
            let wave = boxes(c.rest())
                .filter_map(Result::ok)
                .find(|(k, _)| k == b"wave")
                .and_then(|(_, b)| find(b));
            let esds = find(c.rest())
                .or(wave)
                .ok_or(Decline::Missing("the MPEG-4 audio descriptor"))?;
            let (object, asc) = esds_config(esds).ok_or(Decline::Malformed("esds"))?;
            match object {
                0x40 | 0x66..=0x68 => {
                    a.profile =
                        Some(codecs::aac_profile(asc).ok_or(Decline::Missing("the AAC profile"))?);
                    a.channels = Some(aac_channels(asc)?);
                    "aac"
                }
                0x69 | 0x6B => "mp3",
                0xA5 => "ac3",
                0xA6 => "eac3",
                _ => return Err(Decline::Unsupported("an MPEG-4 audio object type")),
            }
        }
        b"Opus" => "opus",
        b"fLaC" => "flac",
        b"alac" => "alac",
        b"ac-3" => "ac3",
        b"ec-3" => "eac3",
        _ => return Err(Decline::Unsupported("an MP4 audio codec")),
    };
    Ok((a, codec))
}

/// AAC channel configuration → channels (0 = program config element: not read natively).
pub(super) fn aac_channels(asc: &[u8]) -> Result<u32, Decline> {
    let mut b = Bits::new(asc);
    let mut object = b.u(5).ok_or(Decline::Malformed("AudioSpecificConfig"))?;
    if object == 31 {
        object = 32 + b.u(6).ok_or(Decline::Malformed("AudioSpecificConfig"))?;
    }
    let _ = object;
    if b.u(4).ok_or(Decline::Malformed("AudioSpecificConfig"))? == 15 {
        b.skip(24)
            .ok_or(Decline::Malformed("AudioSpecificConfig"))?;
    }
    match b.u(4).ok_or(Decline::Malformed("AudioSpecificConfig"))? {
        n @ 1..=6 => Ok(n),
        7 => Ok(8),
        _ => Err(Decline::Unsupported(
            "an AAC channel layout in a program config element",
        )),
    }
}

/// `(objectTypeIndication, DecoderSpecificInfo)` from an `esds` body.
fn esds_config(esds: &[u8]) -> Option<(u8, &[u8])> {
    let (_, _, rest) = full_box(esds).ok()?;
    let mut c = Bytes::new(rest);
    let (tag, _) = descriptor(&mut c)?;
    if tag != 0x03 {
        return None;
    }
    c.skip(2)?;
    let flags = c.u8()?;
    if flags & 0x80 != 0 {
        c.skip(2)?;
    }
    if flags & 0x40 != 0 {
        let n = c.u8()?;
        c.skip(usize::from(n))?;
    }
    if flags & 0x20 != 0 {
        c.skip(2)?;
    }
    let (tag, _) = descriptor(&mut c)?;
    if tag != 0x04 {
        return None;
    }
    let object = c.u8()?;
    c.skip(1 + 3 + 4 + 4)?;
    match descriptor(&mut c) {
        Some((0x05, len)) => Some((object, c.take(len)?)),
        _ => Some((object, &[])),
    }
}

/// A descriptor tag and its length (up to four 7-bit groups).
fn descriptor(c: &mut Bytes) -> Option<(u8, usize)> {
    let tag = c.u8()?;
    let mut len = 0usize;
    for _ in 0..4 {
        let b = c.u8()?;
        len = (len << 7) | usize::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some((tag, len));
        }
    }
    None
}
