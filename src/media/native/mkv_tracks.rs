//! Matroska TrackEntry → [`Stream`]: codec IDs mapped to ffprobe's names (libavformat matches
//! them as prefixes, in table order), the Video/Colour/Audio elements, the codec private data
//! (`avcC`, `hvcC`, `av1C`, AAC's AudioSpecificConfig) and Dolby Vision block-addition
//! mappings.

use super::av1::VpConfig;
use super::bits::Bytes;
use super::colour::{Colour, parse_dovi, specified};
use super::ebml::{self, children};
use super::mkv::{BpsTags, SegmentInfo};
use super::{Audio, Decline, Kind, MAX_STREAMS, Stream, Video, codecs, vp9};

/// Codec ID prefixes → ffprobe codec names (the subset of libavformat's table we map).
const CODECS: [(&str, &str); 33] = [
    ("A_AAC", "aac"),
    ("A_AC3", "ac3"),
    ("A_ALAC", "alac"),
    ("A_DTS", "dts"),
    ("A_EAC3", "eac3"),
    ("A_FLAC", "flac"),
    ("A_MLP", "mlp"),
    ("A_MPEG/L2", "mp2"),
    ("A_MPEG/L1", "mp1"),
    ("A_MPEG/L3", "mp3"),
    ("A_OPUS", "opus"),
    ("A_TRUEHD", "truehd"),
    ("A_VORBIS", "vorbis"),
    ("D_WEBVTT/", "webvtt"),
    ("S_TEXT/UTF8", "subrip"),
    ("S_TEXT/ASCII", "text"),
    ("S_TEXT/ASS", "ass"),
    ("S_TEXT/SSA", "ass"),
    ("S_ASS", "ass"),
    ("S_SSA", "ass"),
    ("S_VOBSUB", "dvd_subtitle"),
    ("S_DVBSUB", "dvb_subtitle"),
    ("S_HDMV/PGS", "hdmv_pgs_subtitle"),
    ("S_HDMV/TEXTST", "hdmv_text_subtitle"),
    ("S_TEXT/WEBVTT", "webvtt"),
    ("V_AV1", "av1"),
    ("V_MPEG1", "mpeg1video"),
    ("V_MPEG2", "mpeg2video"),
    ("V_MPEG4/ISO/AVC", "h264"),
    ("V_MPEG4/ISO/", "mpeg4"),
    ("V_MPEGH/ISO/HEVC", "hevc"),
    ("V_VP8", "vp8"),
    ("V_VP9", "vp9"),
];
/// Reads the first frame of a track (by track number) from the first Cluster.
pub(super) type FirstFrame<'a> = dyn FnMut(u64) -> Result<Option<Vec<u8>>, Decline> + 'a;

/// The streams of a Tracks element body.
pub(super) fn tracks(
    body: &[u8],
    info: &SegmentInfo,
    bps: &BpsTags,
    first_frame: &mut FirstFrame,
) -> Result<Vec<Stream>, Decline> {
    let mut out = Vec::new();
    for child in children(body) {
        let (id, entry) = child?;
        if id != 0xAE {
            continue;
        }
        if out.len() >= MAX_STREAMS {
            return Err(Decline::TooLarge);
        }
        out.push(track(entry, info, bps, first_frame)?);
    }
    Ok(out)
}

#[derive(Default)]
struct Entry<'a> {
    number: u64,
    uid: u64,
    kind: u64,
    default: Option<u64>,
    forced: u64,
    name: Option<String>,
    flags: crate::media::Disposition,
    default_duration: u64,
    language: Option<String>,
    codec_id: String,
    private: &'a [u8],
    encodings: bool,
    video: &'a [u8],
    audio: &'a [u8],
    dovi: Option<&'a [u8]>,
}

fn track(
    body: &[u8],
    info: &SegmentInfo,
    bps: &BpsTags,
    first_frame: &mut FirstFrame,
) -> Result<Stream, Decline> {
    let mut e = Entry::default();
    for child in children(body) {
        match child? {
            (0xD7, b) => e.number = ebml::uint(b)?,
            (0x73C5, b) => e.uid = ebml::uint(b)?,
            (0x83, b) => e.kind = ebml::uint(b)?,
            (0x88, b) => e.default = Some(ebml::uint(b)?),
            (0x55AA, b) => e.forced = ebml::uint(b)?,
            (0x536E, b) => e.name = Some(ebml::string(b)),
            (0x55AB, b) => e.flags.hearing_impaired = ebml::uint(b)? != 0,
            (0x55AC, b) => e.flags.visual_impaired = ebml::uint(b)? != 0,
            (0x55AE, b) => e.flags.original = ebml::uint(b)? != 0,
            (0x55AF, b) => e.flags.comment = ebml::uint(b)? != 0,
            (0x23E383, b) => e.default_duration = ebml::uint(b)?,
            (0x22B59C, b) => e.language = Some(ebml::string(b)),
            (0x86, b) => e.codec_id = ebml::string(b),
            (0x63A2, b) => e.private = b,
            (0x6D80, _) => e.encodings = true,
            (0xE0, b) => e.video = b,
            (0xE1, b) => e.audio = b,
            (0x41E4, b) => {
                let (mut kind, mut extra) = (0, None);
                for f in children(b) {
                    match f? {
                        (0x41E7, v) => kind = ebml::uint(v)?,
                        (0x41ED, v) => extra = Some(v),
                        _ => {}
                    }
                }
                if matches!(&kind.to_be_bytes()[4..], b"dvcC" | b"dvvC" | b"dvwC") {
                    e.dovi = extra.or(e.dovi);
                }
            }
            _ => {}
        }
    }
    if e.encodings {
        return Err(Decline::Unsupported(
            "Matroska content encoding (compression or encryption)",
        ));
    }
    let codec = CODECS
        .iter()
        .find(|(prefix, _)| e.codec_id.starts_with(prefix))
        .map(|(_, name)| *name);
    // libavformat: language defaults to "eng" and "und" is not exported.
    let language = Some(e.language.clone().unwrap_or_else(|| "eng".into()))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty() && l != "und");
    let (bps_plain, bps_eng) = bps.get(&e.uid).cloned().unwrap_or_default();
    let bitrate = [bps_plain, bps_eng]
        .into_iter()
        .flatten()
        .find_map(|v| v.trim().parse::<u64>().ok().filter(|b| *b > 0));
    let kind = match e.kind {
        1 => Kind::Video(video(&e, codec, info, first_frame)?),
        2 => Kind::Audio(audio(&e, codec)?),
        17 => Kind::Subtitle {
            image: matches!(
                codec,
                Some("dvd_subtitle" | "dvb_subtitle" | "hdmv_pgs_subtitle")
            ),
        },
        _ => Kind::Data,
    };
    Ok(Stream {
        kind,
        codec,
        language,
        default: e.default.unwrap_or(1) != 0,
        forced: e.forced != 0,
        title: e
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty()),
        flags: e.flags,
        bitrate,
    })
}

fn video(
    e: &Entry,
    codec: Option<&'static str>,
    info: &SegmentInfo,
    first_frame: &mut FirstFrame,
) -> Result<Video, Decline> {
    let mut v = Video::default();
    let (mut interlaced, mut field_order, mut frame_rate) = (0, 2, 0.0);
    let mut colour = Colour::default();
    for child in children(e.video) {
        match child? {
            (0xB0, b) => v.width = u32::try_from(ebml::uint(b)?).unwrap_or(0),
            (0xBA, b) => v.height = u32::try_from(ebml::uint(b)?).unwrap_or(0),
            (0x9A, b) => interlaced = ebml::uint(b)?,
            (0x9D, b) => field_order = ebml::uint(b)?,
            (0x2383E3, b) => frame_rate = ebml::float(b)?,
            (0x55B0, b) => colour = container_colour(b)?,
            _ => {}
        }
    }
    let _ = info;
    // libavformat: DefaultDuration, else 1e9 / FrameRate; rate = 1e9 / duration reduced to
    // terms ≤ 30000; r_frame_rate follows when 5 < rate < 1000.
    let mut default_duration = e.default_duration;
    if default_duration == 0 && frame_rate > 0.0 {
        let d = 1e9 / frame_rate;
        if d.is_finite() && d >= 0.0 && d < u64::MAX as f64 {
            default_duration = d as u64;
        }
    }
    if default_duration > 0 {
        let (div, dd) = if default_duration <= i64::MAX as u64 {
            (1, default_duration)
        } else {
            (2, default_duration / 2)
        };
        let (n, d) = super::info::reduce(1_000_000_000 / div, dd, 30_000);
        v.avg_rate = Some((n, d));
        if n < d.saturating_mul(1000) && n > d.saturating_mul(5) {
            v.real_rate = Some((n, d));
        }
    }
    v.field_order = match (interlaced, field_order) {
        (1, 0) | (2, _) => Some("progressive"),
        (1, 1) => Some("tt"),
        (1, 6) => Some("bb"),
        (1, 9) => Some("bt"),
        (1, 14) => Some("tb"),
        _ => None,
    };
    if matches!((interlaced, field_order), (1, 9 | 14))
        && info
            .muxing_app
            .as_deref()
            .is_some_and(|a| a.starts_with("Lavf57."))
    {
        return Err(Decline::Unsupported("field order from an old libavformat"));
    }
    v.dolby_vision = e.dovi.and_then(parse_dovi);
    if codec == Some("vp9") {
        // The VP9 decoder takes colour space and range from the frame header; ffmpeg writes
        // no CodecPrivate, so read the first key frame.
        let frame = first_frame(e.number)?.and_then(|f| vp9::frame_config(&f));
        let frame = frame.ok_or(Decline::Missing("the VP9 profile and depth"))?;
        if let Some(features) = vp9_features(e.private)
            && (features.profile, features.bit_depth)
                != (frame.config.profile, frame.config.bit_depth)
        {
            return Err(Decline::Malformed(
                "VP9 CodecPrivate disagrees with the frames",
            ));
        }
        codecs::vp9_config(&mut v, frame.config, colour)?;
        v.colour.matrix = frame.matrix;
    } else {
        codecs::video_config(&mut v, codec, e.private, colour)?;
    }
    Ok(v)
}

/// Matroska's VP9 CodecPrivate: (id, length, value) features; 1 profile, 3 bit depth,
/// 4 chroma subsampling. Missing features take the profile's defaults.
fn vp9_features(private: &[u8]) -> Option<VpConfig> {
    let mut c = Bytes::new(private);
    let (mut profile, mut depth, mut chroma) = (None, None, None);
    while c.remaining() > 0 {
        let id = c.u8()?;
        let len = usize::from(c.u8()?);
        let value = c.take(len)?;
        let first = value.first().copied();
        match id {
            1 => profile = first,
            3 => depth = first,
            4 => chroma = first,
            _ => {}
        }
    }
    let profile = profile?;
    Some(VpConfig {
        profile,
        bit_depth: depth.unwrap_or(if profile >= 2 { 10 } else { 8 }),
        chroma: chroma.unwrap_or(if profile % 2 == 1 { 3 } else { 1 }),
        colour: Colour::default(),
    })
}

fn container_colour(body: &[u8]) -> Result<Colour, Decline> {
    let mut c = Colour::default();
    let mut mastering = (None, None);
    for child in children(body) {
        match child? {
            (0x55B1, b) => c.matrix = code_point(b)?,
            (0x55B9, b) => {
                c.full_range = match ebml::uint(b)? {
                    1 => Some(false),
                    2 => Some(true),
                    _ => None,
                }
            }
            (0x55BA, b) => c.transfer = code_point(b)?,
            (0x55BB, b) => c.primaries = code_point(b)?,
            (0x55D0, m) => {
                for f in children(m) {
                    match f? {
                        (0x55D9, b) => mastering.0 = Some(ebml::float(b)?),
                        (0x55DA, b) => mastering.1 = Some(ebml::float(b)?),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if let (Some(max), Some(min)) = mastering {
        c.mastering = Some(super::colour::Mastering {
            max_luminance: (max * 10_000.0) as u32,
            min_luminance: (min * 10_000.0) as u32,
        });
    }
    Ok(c)
}

fn code_point(b: &[u8]) -> Result<Option<u8>, Decline> {
    Ok(u32::try_from(ebml::uint(b)?).ok().and_then(specified))
}

fn audio(e: &Entry, codec: Option<&'static str>) -> Result<Audio, Decline> {
    let mut a = Audio {
        channels: Some(1),
        ..Audio::default()
    };
    for child in children(e.audio) {
        match child? {
            (0x9F, b) => a.channels = u32::try_from(ebml::uint(b)?).ok(),
            (0xB5, b) => a.sample_rate = Some(ebml::float(b)? as u32),
            _ => {}
        }
    }
    if codec == Some("aac") {
        a.profile =
            Some(codecs::aac_profile(e.private).ok_or(Decline::Missing("the AAC profile"))?);
        a.channels = Some(super::mp4_audio::aac_channels(e.private)?);
    }
    Ok(a)
}
