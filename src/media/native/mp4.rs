//! ISO BMFF (MP4, MOV, M4V): finds `moov` among the top-level boxes (before or after `mdat`,
//! whose payload is never read), reads it into memory within the header budget and walks the
//! tracks in `mp4_track`. Fragmented files (`mvex`/`moof`) are declined: their sample tables
//! are spread over the media.

use std::io::{Read, Seek};

use super::bits::Bytes;
use super::reader::Source;
use super::{Container, Decline, Facts, Kind};

/// Top-level boxes looked at before giving up.
const MAX_TOP_LEVEL: usize = 256;
/// Boxes inside one parent at most (a real `stbl` has about ten).
pub(super) const MAX_CHILDREN: usize = 4096;

/// Read an MP4 file's headers.
pub fn read<R: Read + Seek>(file: &mut R, size: u64) -> Result<Facts, Decline> {
    let mut src = Source::new(file, size);
    let mut pos = 0u64;
    let mut moov = None;
    for _ in 0..MAX_TOP_LEVEL {
        if pos >= size {
            break;
        }
        let head = src.read_prefix(pos, 16)?;
        let (kind, header_len, body_len) = box_header(&head, size - pos)?;
        match &kind {
            b"moov" => {
                moov = Some(src.read_at(pos + header_len, body_len)?);
                break;
            }
            b"moof" => return Err(Decline::Unsupported("fragmented MP4")),
            _ => {}
        }
        pos = pos
            .checked_add(header_len + body_len)
            .ok_or(Decline::Malformed("box size overflows"))?;
    }
    let moov = moov.ok_or(Decline::Missing("the movie header (moov)"))?;
    parse_moov(&moov)
}

/// `(type, header length, body length)` of the box starting `head`, with `available` bytes
/// from its start to the end of the file (size 0 means "to the end").
fn box_header(head: &[u8], available: u64) -> Result<([u8; 4], u64, u64), Decline> {
    let mut c = Bytes::new(head);
    let size32 = c.u32().ok_or(Decline::Malformed("box header"))?;
    let kind = c.fourcc().ok_or(Decline::Malformed("box header"))?;
    let (header_len, total) = match size32 {
        0 => (8, available),
        1 => (16, c.u64().ok_or(Decline::Malformed("box header"))?),
        n => (8, u64::from(n)),
    };
    if total < header_len || total > available {
        return Err(Decline::Malformed("box size outside the file"));
    }
    Ok((kind, header_len, total - header_len))
}

/// The child boxes of an in-memory body: `(type, body)`.
pub(super) fn boxes(body: &[u8]) -> impl Iterator<Item = Result<([u8; 4], &[u8]), Decline>> {
    let mut rest = body;
    let mut count = 0;
    std::iter::from_fn(move || {
        if rest.len() < 8 {
            return None;
        }
        count += 1;
        let item = if count > MAX_CHILDREN {
            Err(Decline::TooLarge)
        } else {
            box_header(rest, rest.len() as u64).map(|(kind, h, len)| {
                let (h, len) = (h as usize, len as usize);
                let out = (kind, &rest[h..h + len]);
                rest = &rest[h + len..];
                out
            })
        };
        if item.is_err() {
            rest = &[];
        }
        Some(item)
    })
}

/// The first child of type `kind`.
pub(super) fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, Decline> {
    for b in boxes(body) {
        let (k, b) = b?;
        if &k == kind {
            return Ok(Some(b));
        }
    }
    Ok(None)
}

/// A full box's payload after its version and flags: `(version, flags, payload)`.
pub(super) fn full_box(body: &[u8]) -> Result<(u8, u32, &[u8]), Decline> {
    let mut c = Bytes::new(body);
    let v = c.u8().ok_or(Decline::Malformed("full box"))?;
    let flags = c.u24().ok_or(Decline::Malformed("full box"))?;
    Ok((v, flags, c.rest()))
}

/// `(timescale, duration)` from an `mvhd` or `mdhd` body, and the rest after them.
pub(super) fn time_header(body: &[u8]) -> Result<(u32, u64, &[u8]), Decline> {
    let (version, _, rest) = full_box(body)?;
    let mut c = Bytes::new(rest);
    let bad = || Decline::Malformed("time header");
    let (scale, duration) = if version == 1 {
        c.skip(16).ok_or_else(bad)?;
        (c.u32().ok_or_else(bad)?, c.u64().ok_or_else(bad)?)
    } else {
        c.skip(8).ok_or_else(bad)?;
        (
            c.u32().ok_or_else(bad)?,
            u64::from(c.u32().ok_or_else(bad)?),
        )
    };
    Ok((scale, duration, c.rest()))
}

fn parse_moov(moov: &[u8]) -> Result<Facts, Decline> {
    if child(moov, b"mvex")?.is_some() {
        return Err(Decline::Unsupported("fragmented MP4"));
    }
    let mvhd = child(moov, b"mvhd")?.ok_or(Decline::Missing("the movie header (mvhd)"))?;
    let (scale, duration, _) = time_header(mvhd)?;
    if scale == 0 {
        return Err(Decline::Malformed("movie timescale 0"));
    }
    // libavformat: av_rescale(duration, 1e6, timescale), rounding half away from zero.
    let duration_us =
        (u128::from(duration) * 1_000_000 + u128::from(scale) / 2) / u128::from(scale);
    let mut tracks = Vec::new();
    for b in boxes(moov) {
        let (kind, body) = b?;
        if &kind == b"trak" {
            if tracks.len() >= super::MAX_STREAMS {
                return Err(Decline::TooLarge);
            }
            tracks.push(super::mp4_track::track(body)?);
        }
    }
    // Tracks another track names as its chapter list (`tref/chap`) are chapter text, which
    // libavformat turns into chapters and a data stream.
    let chapter_ids: Vec<u32> = tracks.iter().flat_map(|t| t.chapter_refs.clone()).collect();
    let mut chapters = nero_chapters(moov)?;
    let mut streams = Vec::new();
    for t in tracks {
        if chapter_ids.contains(&t.id) {
            chapters = chapters.max(t.samples as usize);
            continue;
        }
        if t.stream.kind != Kind::Data {
            streams.push(t.stream);
        }
    }
    Ok(Facts {
        container: Some(Container::Mp4),
        duration_us: i64::try_from(duration_us).ok(),
        streams,
        attachments: 0,
        chapters,
    })
}

/// Nero-style chapters (`udta/chpl`), which ffmpeg's MP4 muxer writes.
fn nero_chapters(moov: &[u8]) -> Result<usize, Decline> {
    let Some(udta) = child(moov, b"udta")? else {
        return Ok(0);
    };
    let Some(chpl) = child(udta, b"chpl")? else {
        return Ok(0);
    };
    let (version, _, rest) = full_box(chpl)?;
    let mut c = Bytes::new(rest);
    if version == 1 {
        c.skip(4);
    }
    Ok(c.u8().map_or(0, usize::from))
}
