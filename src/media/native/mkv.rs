//! Matroska/WebM: walks the Segment's top-level elements up to the first Cluster, then follows
//! the SeekHead to the metadata written after the media (mkvmerge and ffmpeg put Tags, and
//! sometimes Chapters and Attachments, at the end). Clusters and Cues are never read. Tracks
//! become [`Stream`]s in `mkv_tracks`; Tags supply mkvmerge's `BPS` statistics, which ffprobe
//! reports as stream bit rates.

use std::collections::HashMap;
use std::io::{Read, Seek};

use super::ebml::{self, Header, children};
use super::reader::Source;
use super::{Container, Decline, Facts, Kind};

pub(super) const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const MUXING_APP: u32 = 0x4D80;
const TRACKS: u32 = 0x1654_AE6B;
const TAGS: u32 = 0x1254_C367;
const CHAPTERS: u32 = 0x1043_A770;
const ATTACHMENTS: u32 = 0x1941_A469;
const CLUSTER: u32 = 0x1F43_B675;

/// Top-level elements looked at before giving up (a real file has fewer than 20 before its
/// first Cluster).
const MAX_TOP_LEVEL: usize = 256;
/// Largest metadata element read into memory (Tracks with big codec privates, long Tags).
const MAX_ELEMENT: u64 = 16 << 20;
/// Bytes read to decode one element header.
const HEADER_PEEK: u64 = 12;

/// `BPS` tag values per TrackUID: `(key "BPS", key "BPS-eng")`, as libavformat names them.
pub(super) type BpsTags = HashMap<u64, (Option<String>, Option<String>)>;

/// What the Info element says.
#[derive(Debug, Default)]
pub(super) struct SegmentInfo {
    pub timestamp_scale: u64,
    pub duration: Option<f64>,
    pub muxing_app: Option<String>,
}

/// Read a Matroska file's headers.
pub fn read<R: Read + Seek>(file: &mut R, size: u64) -> Result<Facts, Decline> {
    let mut src = Source::new(file, size);
    let ebml_header = peek(&mut src, 0)?;
    if ebml_header.id != EBML {
        return Err(Decline::OtherContainer);
    }
    let body = element_body(&mut src, 0, ebml_header)?;
    let doc_type = children(&body)
        .filter_map(Result::ok)
        .find(|(id, _)| *id == DOC_TYPE)
        .map(|(_, b)| ebml::string(b))
        .unwrap_or_else(|| "matroska".into());
    if doc_type != "matroska" && doc_type != "webm" {
        return Err(Decline::OtherContainer);
    }
    let seg_pos = ebml_header.len + ebml_header.size.unwrap_or(0);
    let seg = peek(&mut src, seg_pos)?;
    if seg.id != SEGMENT {
        return Err(Decline::Malformed("no Segment after the EBML header"));
    }
    let data_start = seg_pos + seg.len;
    let seg_end = seg
        .size
        .and_then(|s| data_start.checked_add(s))
        .map_or(size, |e| e.min(size));

    let mut walk = Walk::default();
    let mut pos = data_start;
    let mut first_cluster = None;
    for _ in 0..MAX_TOP_LEVEL {
        if pos + 2 > seg_end {
            break;
        }
        let h = peek(&mut src, pos)?;
        if h.id == CLUSTER {
            first_cluster = Some(pos);
            break;
        }
        let Some(len) = h.size else {
            return Err(Decline::Malformed("top-level element of unknown size"));
        };
        walk.visit(&mut src, pos, h, data_start)?;
        pos = pos
            .checked_add(h.len + len)
            .ok_or(Decline::Malformed("size overflows"))?;
    }
    // Metadata after the media, found through the SeekHead(s); each position once.
    let mut guard = 0;
    while let Some(target) = walk.pending.pop() {
        guard += 1;
        if guard > MAX_TOP_LEVEL || target >= seg_end {
            continue;
        }
        if walk.visited.contains(&target) {
            continue;
        }
        let h = peek(&mut src, target)?;
        walk.visit(&mut src, target, h, data_start)?;
    }
    let mut first_frame = |track: u64| match first_cluster {
        Some(at) => first_block(&mut src, at, track),
        None => Ok(None),
    };
    walk.finish(&mut first_frame)
}

/// Bytes of the first Cluster read when looking for a track's first frame.
const CLUSTER_PEEK: u64 = 256 << 10;

/// The first frame of track `number` in the Cluster at `at`, if it starts within
/// [`CLUSTER_PEEK`] bytes and is not laced.
fn first_block<R: Read + Seek>(
    src: &mut Source<R>,
    at: u64,
    number: u64,
) -> Result<Option<Vec<u8>>, Decline> {
    const SIMPLE_BLOCK: u32 = 0xA3;
    const BLOCK_GROUP: u32 = 0xA0;
    const BLOCK: u32 = 0xA1;
    let prefix = src.read_prefix(at, CLUSTER_PEEK)?;
    let h = ebml::header(&prefix)?;
    let body = prefix.get(h.len as usize..).unwrap_or_default();
    let block_of = |block: &[u8]| -> Option<Vec<u8>> {
        let lead = *block.first()?;
        let len = lead.leading_zeros() as usize + 1;
        if lead == 0 || len > 8 || block.len() < len + 3 {
            return None;
        }
        let track = block[..len]
            .iter()
            .fold(0u64, |v, b| (v << 8) | u64::from(*b))
            & !(1u64 << (7 * len));
        let flags = block[len + 2];
        (track == number && flags & 0x06 == 0).then(|| block[len + 3..].to_vec())
    };
    for child in children(body) {
        let Ok((id, b)) = child else {
            break;
        };
        let found = match id {
            SIMPLE_BLOCK => block_of(b),
            BLOCK_GROUP => children(b)
                .filter_map(Result::ok)
                .find(|(id, _)| *id == BLOCK)
                .and_then(|(_, b)| block_of(b)),
            _ => None,
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// State of the walk over the Segment.
#[derive(Default)]
struct Walk {
    info: Option<SegmentInfo>,
    tracks: Option<Vec<u8>>,
    tags: Vec<Vec<u8>>,
    chapters: usize,
    attachments: usize,
    visited: Vec<u64>,
    pending: Vec<u64>,
}

impl Walk {
    fn visit<R: Read + Seek>(
        &mut self,
        src: &mut Source<R>,
        pos: u64,
        h: Header,
        data_start: u64,
    ) -> Result<(), Decline> {
        self.visited.push(pos);
        match h.id {
            SEEK_HEAD => {
                let body = element_body(src, pos, h)?;
                for target in seek_targets(&body)? {
                    if let Some(p) = data_start.checked_add(target) {
                        self.pending.push(p);
                    }
                }
            }
            INFO if self.info.is_none() => {
                self.info = Some(segment_info(&element_body(src, pos, h)?)?)
            }
            TRACKS if self.tracks.is_none() => self.tracks = Some(element_body(src, pos, h)?),
            TAGS => self.tags.push(element_body(src, pos, h)?),
            CHAPTERS => self.chapters = count_chapters(&element_body(src, pos, h)?)?,
            ATTACHMENTS => self.attachments = super::mkv_attachments::count(src, pos, h)?,
            _ => {}
        }
        Ok(())
    }

    fn finish(self, first_frame: &mut super::mkv_tracks::FirstFrame) -> Result<Facts, Decline> {
        let info = self.info.ok_or(Decline::Missing("the segment info"))?;
        let tracks = self.tracks.ok_or(Decline::Missing("the track list"))?;
        let bps = stream_bps(&self.tags)?;
        let mut streams = super::mkv_tracks::tracks(&tracks, &info, &bps, first_frame)?;
        streams.retain(|s| !matches!(s.kind, Kind::Data));
        // libavformat: duration × scale × 1000 / 1e6, in floating point, truncated to µs.
        let duration_us = info
            .duration
            .filter(|d| d.is_finite() && *d > 0.0)
            .map(|d| (d * info.timestamp_scale as f64 * 1000.0 / 1_000_000.0) as i64);
        Ok(Facts {
            container: Some(Container::Matroska),
            duration_us,
            streams,
            attachments: self.attachments,
            chapters: self.chapters,
        })
    }
}

/// Header at `pos`.
pub(super) fn peek<R: Read + Seek>(src: &mut Source<R>, pos: u64) -> Result<Header, Decline> {
    let bytes = src.read_prefix(pos, HEADER_PEEK)?;
    ebml::header(&bytes)
}

/// The body of the element at `pos` with header `h`, at most [`MAX_ELEMENT`] bytes.
pub(super) fn element_body<R: Read + Seek>(
    src: &mut Source<R>,
    pos: u64,
    h: Header,
) -> Result<Vec<u8>, Decline> {
    let size = h
        .size
        .ok_or(Decline::Malformed("metadata element of unknown size"))?;
    if size > MAX_ELEMENT {
        return Err(Decline::TooLarge);
    }
    src.read_at(pos + h.len, size)
}

fn seek_targets(body: &[u8]) -> Result<Vec<u64>, Decline> {
    const WANTED: [u32; 6] = [SEEK_HEAD, INFO, TRACKS, TAGS, CHAPTERS, ATTACHMENTS];
    let mut out = Vec::new();
    for child in children(body) {
        let (id, seek) = child?;
        if id != SEEK {
            continue;
        }
        let (mut target, mut position) = (None, None);
        for field in children(seek) {
            match field? {
                (SEEK_ID, b) => target = Some(ebml::uint(b)?),
                (SEEK_POSITION, b) => position = Some(ebml::uint(b)?),
                _ => {}
            }
        }
        if let (Some(t), Some(p)) = (target, position)
            && u32::try_from(t).is_ok_and(|t| WANTED.contains(&t))
        {
            out.push(p);
        }
    }
    Ok(out)
}

fn segment_info(body: &[u8]) -> Result<SegmentInfo, Decline> {
    let mut info = SegmentInfo {
        timestamp_scale: 1_000_000,
        ..SegmentInfo::default()
    };
    for child in children(body) {
        match child? {
            (TIMESTAMP_SCALE, b) => info.timestamp_scale = ebml::uint(b)?,
            (DURATION, b) => info.duration = Some(ebml::float(b)?),
            (MUXING_APP, b) => info.muxing_app = Some(ebml::string(b)),
            _ => {}
        }
    }
    if info.timestamp_scale == 0 {
        return Err(Decline::Malformed("timestamp scale 0"));
    }
    Ok(info)
}

/// Chapter atoms in all editions (top level of each edition; nested chapters are parts of one).
fn count_chapters(body: &[u8]) -> Result<usize, Decline> {
    const EDITION: u32 = 0x45B9;
    const ATOM: u32 = 0xB6;
    let mut n = 0;
    for child in children(body) {
        let (id, edition) = child?;
        if id == EDITION {
            for atom in children(edition) {
                n += usize::from(atom?.0 == ATOM);
            }
        }
    }
    Ok(n)
}

/// `BPS` tag values per TrackUID, keyed as libavformat names them ("BPS", "BPS-eng").
fn stream_bps(tags: &[Vec<u8>]) -> Result<BpsTags, Decline> {
    const TAG: u32 = 0x7373;
    const TARGETS: u32 = 0x63C0;
    const TRACK_UID: u32 = 0x63C5;
    const SIMPLE: u32 = 0x67C8;
    const NAME: u32 = 0x45A3;
    const LANG: u32 = 0x447A;
    const DEFAULT: u32 = 0x4484;
    const DEFAULT_BUG: u32 = 0x44B4;
    const STRING: u32 = 0x4487;
    let mut out = BpsTags::new();
    for body in tags {
        for tag in children(body) {
            let (id, tag) = tag?;
            if id != TAG {
                continue;
            }
            let mut uids = Vec::new();
            let mut values = Vec::new();
            for part in children(tag) {
                match part? {
                    (TARGETS, t) => {
                        for f in children(t) {
                            if let (TRACK_UID, b) = f? {
                                uids.push(ebml::uint(b)?);
                            }
                        }
                    }
                    (SIMPLE, s) => {
                        let (mut name, mut lang, mut def, mut value) = (None, None, 0, None);
                        for f in children(s) {
                            match f? {
                                (NAME, b) => name = Some(ebml::string(b)),
                                (LANG, b) => lang = Some(ebml::string(b)),
                                (DEFAULT | DEFAULT_BUG, b) => def = ebml::uint(b)?,
                                (STRING, b) => value = Some(ebml::string(b)),
                                _ => {}
                            }
                        }
                        if name.as_deref() == Some("BPS") {
                            values.push((lang, def, value));
                        }
                    }
                    _ => {}
                }
            }
            for uid in uids.into_iter().filter(|u| *u != 0) {
                for (lang, def, value) in &values {
                    let entry = out.entry(uid).or_default();
                    let lang = lang.as_deref().filter(|l| *l != "und");
                    if *def != 0 || lang.is_none() {
                        entry.0.clone_from(value);
                    }
                    if lang == Some("eng") {
                        entry.1.clone_from(value);
                    }
                }
            }
        }
    }
    Ok(out)
}
