//! One MP4 `trak` → [`Stream`]: handler and sample entry decide kind and codec; `mdhd` gives
//! the language and timescale; `stts` the frame rates ffprobe derives (average over all
//! samples, "real" rate when the durations are uniform); `stsz` the byte count from which
//! ffprobe computes the stream bit rate; the sample entry's children the codec configuration,
//! colour (`colr`, `mdcv`, `clli`), field order (`fiel`) and Dolby Vision (`dvcC`/`dvvC`).

use super::av1::parse_vpcc;
use super::bits::Bytes;
use super::colour::{Colour, parse_clli, parse_dovi, parse_mdcv, specified};
use super::mp4::{boxes, child, full_box, time_header};
use super::{Decline, Kind, Stream, Video, codecs};

/// A track as the movie needs it.
pub(super) struct Track {
    pub id: u32,
    pub chapter_refs: Vec<u32>,
    pub samples: u32,
    pub stream: Stream,
}

/// Sample-table facts.
#[derive(Default)]
struct Timing {
    /// `(count, delta)` of the first `stts` entries, enough to decide uniformity.
    first: Vec<(u32, u32)>,
    entries: u32,
    total_duration: u64,
    total_samples: u64,
    bytes: u64,
    samples: u32,
}

pub(super) fn track(trak: &[u8]) -> Result<Track, Decline> {
    let tkhd = child(trak, b"tkhd")?.ok_or(Decline::Missing("a track header"))?;
    let (version, flags, rest) = full_box(tkhd)?;
    let mut c = Bytes::new(rest);
    c.skip(if version == 1 { 16 } else { 8 });
    let id = c.u32().ok_or(Decline::Malformed("tkhd"))?;
    let mut chapter_refs = Vec::new();
    if let Some(tref) = child(trak, b"tref")?
        && let Some(chap) = child(tref, b"chap")?
    {
        let mut c = Bytes::new(chap);
        while let Some(id) = c.u32() {
            chapter_refs.push(id);
        }
    }
    let mdia = child(trak, b"mdia")?.ok_or(Decline::Missing("a media box"))?;
    let (scale, media_duration, rest) =
        time_header(child(mdia, b"mdhd")?.ok_or(Decline::Missing("a media header"))?)?;
    let language = Bytes::new(rest).u16().map(language).transpose()?.flatten();
    let handler = child(mdia, b"hdlr")?
        .and_then(|h| full_box(h).ok())
        .and_then(|(_, _, r)| r.get(4..8))
        .map(|h| [h[0], h[1], h[2], h[3]])
        .unwrap_or(*b"    ");
    let stbl = child(mdia, b"minf")?
        .map(|m| child(m, b"stbl"))
        .transpose()?
        .flatten()
        .ok_or(Decline::Missing("a sample table"))?;
    let timing = timing(stbl)?;
    let stsd = child(stbl, b"stsd")?.ok_or(Decline::Missing("a sample description"))?;
    let (_, _, rest) = full_box(stsd)?;
    let mut c = Bytes::new(rest);
    let entries = c.u32().ok_or(Decline::Malformed("stsd"))?;
    if entries != 1 {
        return Err(Decline::Unsupported(
            "several sample descriptions in one track",
        ));
    }
    let (fourcc, entry) = boxes(c.rest()).next().ok_or(Decline::Malformed("stsd"))??;
    let (kind, codec) = sample_entry(&handler, fourcc, entry, scale, &timing)?;
    // libavformat: bytes × 8 × timescale / duration, with the duration the smaller of the
    // media header's and the sample table's.
    let duration = if timing.total_duration > 0 {
        media_duration.min(timing.total_duration)
    } else {
        media_duration
    };
    let pcm_like = matches!(kind, Kind::Audio(_))
        && timing.entries == 1
        && timing.first.first().is_some_and(|e| e.1 == 1);
    let bitrate = (duration > 0 && !pcm_like)
        .then(|| u128::from(timing.bytes) * 8 * u128::from(scale) / u128::from(duration))
        .and_then(|b| u64::try_from(b).ok());
    Ok(Track {
        id,
        chapter_refs,
        samples: timing.samples,
        stream: Stream {
            kind,
            codec,
            language,
            default: flags & 1 != 0,
            forced: false,
            title: None,
            flags: Default::default(),
            bitrate,
        },
    })
}

/// ISO-639-2/T packed in 15 bits; below 0x400 the old Macintosh codes (0 is English), and
/// 0x7fff (what ffmpeg writes in MOV for "und") means none.
fn language(packed: u16) -> Result<Option<String>, Decline> {
    if packed == 0 {
        return Ok(Some("eng".into()));
    }
    if packed == 0x7fff {
        return Ok(None);
    }
    if packed < 0x400 {
        return Err(Decline::Unsupported("a Macintosh language code"));
    }
    let l: String = [10u16, 5, 0]
        .iter()
        .map(|s| char::from(((packed >> s) & 0x1f) as u8 + 0x60))
        .collect();
    Ok(Some(l).filter(|l| l != "und" && l.chars().all(|c| c.is_ascii_lowercase())))
}

fn timing(stbl: &[u8]) -> Result<Timing, Decline> {
    let mut t = Timing::default();
    if let Some(stts) = child(stbl, b"stts")? {
        let (_, _, rest) = full_box(stts)?;
        let mut c = Bytes::new(rest);
        let n = c.u32().ok_or(Decline::Malformed("stts"))?;
        t.entries = n;
        for _ in 0..n {
            let (Some(count), Some(delta)) = (c.u32(), c.u32()) else {
                return Err(Decline::Malformed("stts shorter than its entry count"));
            };
            if t.first.len() < 2 {
                t.first.push((count, delta));
            }
            t.total_duration = t
                .total_duration
                .saturating_add(u64::from(count) * u64::from(delta));
            t.total_samples = t.total_samples.saturating_add(u64::from(count));
        }
    }
    let stsz = child(stbl, b"stsz")?.ok_or(Decline::Missing("sample sizes"))?;
    let (_, _, rest) = full_box(stsz)?;
    let mut c = Bytes::new(rest);
    let (Some(size), Some(count)) = (c.u32(), c.u32()) else {
        return Err(Decline::Malformed("stsz"));
    };
    t.samples = count;
    t.bytes = if size != 0 {
        u64::from(size) * u64::from(count)
    } else {
        if c.remaining() / 4 < count as usize {
            return Err(Decline::Malformed("stsz shorter than its sample count"));
        }
        (0..count).filter_map(|_| c.u32()).map(u64::from).sum()
    };
    Ok(t)
}

fn sample_entry(
    handler: &[u8; 4],
    fourcc: [u8; 4],
    entry: &[u8],
    scale: u32,
    timing: &Timing,
) -> Result<(Kind, Option<&'static str>), Decline> {
    let video_codec = match &fourcc {
        b"avc1" | b"avc3" | b"dva1" | b"dvav" => Some("h264"),
        b"hvc1" | b"hev1" | b"dvh1" | b"dvhe" => Some("hevc"),
        b"av01" | b"dav1" => Some("av1"),
        b"vp09" => Some("vp9"),
        b"vp08" => Some("vp8"),
        _ => None,
    };
    if let Some(codec) = video_codec {
        if handler != b"vide" {
            return Err(Decline::Unsupported(
                "a video sample entry outside a video track",
            ));
        }
        let mut v = visual(fourcc, entry, codec)?;
        rates(&mut v, scale, timing);
        return Ok((Kind::Video(v), Some(codec)));
    }
    match &fourcc {
        b"mp4a" | b"Opus" | b"fLaC" | b"alac" | b"ac-3" | b"ec-3" => {
            let (audio, codec) = super::mp4_audio::audio(fourcc, entry)?;
            Ok((Kind::Audio(audio), Some(codec)))
        }
        b"tx3g" => Ok((Kind::Subtitle { image: false }, Some("mov_text"))),
        b"wvtt" => Ok((Kind::Subtitle { image: false }, Some("webvtt"))),
        b"tmcd" | b"text" if handler != b"vide" && handler != b"soun" => {
            Ok((Kind::Data, Some("data")))
        }
        _ => Err(Decline::Unsupported(
            "an MP4 sample entry the native probe does not map",
        )),
    }
}

/// A visual sample entry: picture size, then the configuration and colour boxes.
fn visual(fourcc: [u8; 4], entry: &[u8], codec: &'static str) -> Result<Video, Decline> {
    let mut c = Bytes::new(entry);
    c.skip(8 + 16)
        .ok_or(Decline::Malformed("visual sample entry"))?;
    let mut v = Video {
        width: u32::from(c.u16().ok_or(Decline::Malformed("visual sample entry"))?),
        height: u32::from(c.u16().ok_or(Decline::Malformed("visual sample entry"))?),
        ..Video::default()
    };
    c.skip(50)
        .ok_or(Decline::Malformed("visual sample entry"))?;
    let mut colour = Colour::default();
    let mut config: Option<&[u8]> = None;
    let mut vpcc = None;
    let mut dv_tag = matches!(&fourcc, b"dva1" | b"dvav" | b"dvh1" | b"dvhe" | b"dav1");
    for b in boxes(c.rest()) {
        let (kind, body) = b?;
        match &kind {
            b"avcC" | b"hvcC" | b"av1C" => config = Some(body),
            b"vpcC" => vpcc = full_box(body).ok().and_then(|(_, _, p)| parse_vpcc(p)),
            b"colr" => colour = colr(body, colour),
            b"mdcv" => colour.mastering = parse_mdcv(body),
            b"clli" => colour.light_level = parse_clli(body),
            b"fiel" => v.field_order = fiel(body),
            b"dvcC" | b"dvvC" | b"dvwC" => {
                v.dolby_vision = parse_dovi(body);
                dv_tag |= v.dolby_vision.is_some();
            }
            _ => {}
        }
    }
    if codec == "vp9" {
        let cfg = vpcc.ok_or(Decline::Missing("a VP9 configuration"))?;
        codecs::vp9_config(&mut v, cfg, colour)?;
    } else {
        codecs::video_config(&mut v, Some(codec), config.unwrap_or(&[]), colour)?;
    }
    if dv_tag && v.dolby_vision.is_none() {
        // A Dolby Vision sample entry without a readable record: ffprobe still reports DV
        // from the codec tag, but the record's profile is unknown.
        v.dolby_vision = Some(super::colour::DoviConfig {
            profile: 0,
            level: 0,
            rpu: false,
            el: false,
            bl: false,
            compatibility: 0,
        });
    }
    Ok(v)
}

/// `colr`: `nclx` (ISO, with range) or `nclc` (QuickTime); ICC profiles say nothing here.
fn colr(body: &[u8], current: Colour) -> Colour {
    let mut c = Bytes::new(body);
    let Some(kind) = c.fourcc() else {
        return current;
    };
    if &kind != b"nclx" && &kind != b"nclc" {
        return current;
    }
    let (Some(p), Some(t), Some(m)) = (c.u16(), c.u16(), c.u16()) else {
        return current;
    };
    Colour {
        primaries: specified(u32::from(p)),
        transfer: specified(u32::from(t)),
        matrix: specified(u32::from(m)),
        full_range: if &kind == b"nclx" {
            c.u8().map(|r| r & 0x80 != 0)
        } else {
            current.full_range
        },
        ..current
    }
}

/// QuickTime `fiel`, mapped as libavformat does.
fn fiel(body: &[u8]) -> Option<&'static str> {
    let v = Bytes::new(body).u16()?;
    match (v >> 8, v & 0xff) {
        (1, _) => Some("progressive"),
        (2, 0x01) => Some("tt"),
        (2, 0x06) => Some("bb"),
        (2, 0x09) => Some("tb"),
        (2, 0x0E) => Some("bt"),
        _ => None,
    }
}

/// libavformat's frame rates from `stts`: average = timescale × samples / total duration
/// (terms ≤ 2³¹−1); real = timescale / first delta when the deltas are uniform (one entry, or
/// a second entry of one sample). Otherwise ffprobe estimates the real rate from timestamps.
fn rates(v: &mut Video, scale: u32, t: &Timing) {
    const INT_MAX: u64 = i32::MAX as u64;
    if t.total_samples > 0 && t.total_duration > 0 {
        let num = u64::from(scale).saturating_mul(t.total_samples);
        v.avg_rate = Some(super::info::reduce(num, t.total_duration, INT_MAX));
    }
    let uniform = t.entries == 1 || (t.entries == 2 && t.first.get(1).is_some_and(|e| e.0 == 1));
    v.variable_timing = !uniform;
    if uniform && let Some(&(_, delta)) = t.first.first() {
        v.real_rate = Some(super::info::reduce(
            u64::from(scale),
            u64::from(delta),
            INT_MAX,
        ));
    }
}
