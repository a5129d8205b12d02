//! The decline rules of `info` (each one a fact the planner needs that the headers lack) and
//! the frame-rate reduction ffprobe's numbers depend on.

use super::*;
use crate::media::native::{Audio, Stream};

fn video_stream() -> Stream {
    Stream {
        kind: Kind::Video(Video {
            width: 320,
            height: 240,
            avg_rate: Some((25, 1)),
            real_rate: Some((25, 1)),
            pix_fmt: Some("yuv420p"),
            bit_depth: Some(8),
            field_order: Some("progressive"),
            field_order_known: true,
            ..Video::default()
        }),
        codec: Some("h264"),
        language: None,
        default: true,
        forced: false,
        title: None,
        flags: Default::default(),
        bitrate: None,
    }
}

fn audio_stream(codec: &'static str, channels: Option<u32>) -> Stream {
    Stream {
        kind: Kind::Audio(Audio {
            channels,
            ..Audio::default()
        }),
        codec: Some(codec),
        language: Some("eng".into()),
        default: true,
        forced: false,
        title: None,
        flags: Default::default(),
        bitrate: None,
    }
}

fn facts(streams: Vec<Stream>) -> Facts {
    Facts {
        container: Some(Container::Matroska),
        duration_us: Some(2_000_000),
        streams,
        attachments: 0,
        chapters: 0,
    }
}

fn with_video(edit: impl FnOnce(&mut Video)) -> Facts {
    let mut s = video_stream();
    if let Kind::Video(v) = &mut s.kind {
        edit(v);
    }
    facts(vec![s])
}

#[test]
fn complete_facts_give_ffprobe_shaped_info() {
    let info = media_info(
        &facts(vec![video_stream(), audio_stream("opus", Some(2))]),
        500_000,
    )
    .unwrap();
    assert_eq!(info.container, "matroska");
    assert_eq!(info.duration, 2.0);
    // Container bit rate from size and duration, as libavformat computes it.
    assert_eq!(info.bit_rate, Some(2_000_000));
    let v = info.video.unwrap();
    assert_eq!(
        (v.fps, v.bit_depth, v.pix_fmt.as_deref()),
        (Some(25.0), Some(8), Some("yuv420p"))
    );
    assert_eq!(
        v.bitrate, None,
        "no per-stream rate in ffmpeg-written Matroska, on either side"
    );
    assert_eq!(info.audio[0].channels, Some(2));
    assert_eq!(info.source, ProbeSource::Native);
}

#[test]
fn declines_without_a_duration() {
    let mut f = facts(vec![video_stream()]);
    f.duration_us = None;
    assert_eq!(media_info(&f, 1000), Err(Decline::Missing("the duration")));
    f.duration_us = Some(0);
    assert!(media_info(&f, 1000).is_err());
}

#[test]
fn declines_unmapped_codecs() {
    let mut s = video_stream();
    s.codec = None;
    assert_eq!(
        media_info(&facts(vec![s]), 1000).unwrap_err().code(),
        "unsupported"
    );
}

#[test]
fn declines_video_facts_the_planner_needs() {
    type Edit = fn(&mut Video);
    let cases: [(&str, Edit); 5] = [
        ("size", |v| v.width = 0),
        ("frame rate", |v| v.avg_rate = None),
        ("real frame rate", |v| v.real_rate = None),
        ("pixel format", |v| v.pix_fmt = None),
        ("field order", |v| v.field_order_known = false),
    ];
    for (what, edit) in cases {
        let err = media_info(&with_video(edit), 1000).unwrap_err();
        assert_eq!(err.code(), "missing_fact", "{what}: {err}");
    }
}

#[test]
fn declines_audio_whose_rate_or_channels_ffprobe_reads_from_frames() {
    for codec in ["ac3", "eac3", "mp3", "dts", "pcm_s16le"] {
        let f = facts(vec![video_stream(), audio_stream(codec, Some(2))]);
        assert_eq!(
            media_info(&f, 1000).unwrap_err().code(),
            "missing_fact",
            "{codec}"
        );
    }
    let f = facts(vec![video_stream(), audio_stream("aac", None)]);
    assert_eq!(
        media_info(&f, 1000).unwrap_err(),
        Decline::Missing("the audio channel count")
    );
}

#[test]
fn cover_pictures_are_not_the_main_video() {
    let mut cover = video_stream();
    if let Kind::Video(v) = &mut cover.kind {
        v.cover = true;
        v.width = 1000;
    }
    let info = media_info(&facts(vec![cover]), 1000).unwrap();
    assert_eq!(info.video, None);
}

#[test]
fn vfr_when_real_and_average_rates_differ() {
    let info = media_info(&with_video(|v| v.avg_rate = Some((20, 1))), 1000).unwrap();
    assert!(info.video.unwrap().variable_frame_rate);
}

#[test]
fn reduce_matches_libavformat_rates() {
    // Matroska DefaultDuration of 23.976 fps, limited to 30000.
    assert_eq!(reduce(1_000_000_000, 41_708_333, 30_000), (24_000, 1_001));
    assert_eq!(reduce(1_000_000_000, 33_366_667, 30_000), (30_000, 1_001));
    assert_eq!(reduce(1_000_000_000, 40_000_000, 30_000), (25, 1));
    // MP4: 12800 timescale, 25 samples of 512.
    assert_eq!(reduce(12_800 * 25, 12_800, i32::MAX as u64), (25, 1));
    assert_eq!(reduce(5, 0, 10), (1, 0));
}
