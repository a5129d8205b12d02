//! Unit tests for `normalize` over ffprobe JSON recorded from real clips (see
//! tests/fixtures/ffprobe/) plus hand-trimmed files with missing and odd values.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/ffprobe/",
            $name
        ))
    };
}

#[test]
fn h264_aac_mp4() {
    let info = normalize(fixture!("h264_aac.json"), 0).unwrap();
    assert_eq!(info.container, "mov");
    assert_eq!(info.duration, 2.0);
    assert_eq!(
        info.size, 88118,
        "falls back to format.size when the disk size is unknown"
    );
    assert_eq!(info.bit_rate, Some(352_472));
    let v = info.video.unwrap();
    assert_eq!(v.codec, "h264");
    assert_eq!((v.width, v.height), (320, 240));
    assert_eq!(v.fps, Some(25.0));
    assert_eq!(v.bit_depth, Some(8));
    assert_eq!(v.bitrate, Some(269_560));
    assert!(!v.hdr);
    assert_eq!(v.pix_fmt.as_deref(), Some("yuv420p"));
    assert_eq!(
        info.audio,
        vec![AudioStream {
            codec: "aac".into(),
            channels: Some(1),
            language: None, // "und"
            bitrate: Some(69_671),
            profile: Some("LC".into()),
            disposition: Disposition {
                default: true,
                ..Default::default()
            },
            ..Default::default()
        }]
    );
    assert!(info.subtitles.is_empty());
}

#[test]
fn disk_size_wins_over_format_size() {
    let info = normalize(fixture!("h264_aac.json"), 999).unwrap();
    assert_eq!(info.size, 999);
}

#[test]
fn hevc_mkv_without_stream_bitrates() {
    let info = normalize(fixture!("hevc.json"), 66123).unwrap();
    assert_eq!(info.container, "matroska");
    assert_eq!(info.duration, 2.008);
    let v = info.video.unwrap();
    assert_eq!(v.codec, "hevc");
    assert_eq!(v.bitrate, None);
    assert_eq!(v.bit_depth, Some(8));
    assert_eq!(info.audio[0].codec, "opus");
    assert_eq!(info.audio[0].bitrate, None);
}

#[test]
fn ten_bit_hdr_hevc() {
    let info = normalize(fixture!("hevc10_hdr.json"), 1).unwrap();
    let v = info.video.unwrap();
    assert_eq!(v.bit_depth, Some(10));
    assert!(v.hdr);
    let fps = v.fps.unwrap();
    assert!((fps - 23.976).abs() < 0.001, "{fps}");
    assert!(info.audio.is_empty());
}

#[test]
fn av1_mkv() {
    let info = normalize(fixture!("av1.json"), 1).unwrap();
    assert_eq!(info.video.unwrap().codec, "av1");
}

#[test]
fn audio_only_has_no_video() {
    let info = normalize(fixture!("audio_only.json"), 1).unwrap();
    assert_eq!(info.container, "mp3");
    assert!(info.video.is_none());
    assert_eq!(info.audio.len(), 1);
}

#[test]
fn cover_art_is_not_video() {
    let info = normalize(fixture!("audio_with_cover.json"), 1).unwrap();
    assert!(info.video.is_none(), "attached picture must be ignored");
    assert_eq!(info.audio[0].codec, "mp3");
}

#[test]
fn mov_text_subtitles_and_languages() {
    let info = normalize(fixture!("movtext.json"), 1).unwrap();
    assert_eq!(
        info.subtitles,
        vec![SubtitleStream {
            codec: "mov_text".into(),
            language: Some("eng".into()),
            disposition: Disposition {
                default: true,
                ..Default::default()
            },
            ..Default::default()
        }]
    );
    assert_eq!(info.audio[0].language.as_deref(), Some("fre"));
}

#[test]
fn titles_and_dispositions_for_the_stream_rules() {
    let info = normalize(fixture!("streams_rules.json"), 1).unwrap();
    let a = &info.audio;
    assert_eq!(a[0].title.as_deref(), Some("English 5.1"));
    assert!(a[0].disposition.default && a[1].disposition.original);
    assert!(a[2].disposition.comment && a[4].disposition.visual_impaired);
    assert_eq!(a[3].language, None, "und");
    assert_eq!(a[5].title.as_deref(), Some("Director's Commentary"));
    let s = &info.subtitles;
    assert!(s[1].disposition.forced && s[3].disposition.comment);
    assert!(s[4].disposition.hearing_impaired && !s[0].disposition.forced);
}

#[test]
fn subrip_in_mkv() {
    let info = normalize(fixture!("h264_srt.json"), 1).unwrap();
    assert_eq!(info.subtitles[0].codec, "subrip");
}

#[test]
fn odd_values_become_unknown() {
    let info = normalize(fixture!("odd_values.json"), 0).unwrap();
    assert_eq!(info.container, "mpegts");
    assert_eq!(info.duration, 0.0);
    assert_eq!(info.size, 123_456);
    assert_eq!(info.bit_rate, None);
    let v = info.video.unwrap();
    assert_eq!(v.codec, "mpeg2video");
    assert_eq!(v.fps, None, "0/0 frame rate");
    assert_eq!(v.bitrate, None, "N/A bit rate");
    assert_eq!(v.bit_depth, Some(8), "from bits_per_raw_sample");
    assert_eq!(
        info.audio,
        vec![AudioStream {
            codec: "unknown".into(),
            channels: None,
            language: None,
            bitrate: None,
            profile: None,
            ..Default::default()
        }]
    );
    assert_eq!(info.subtitles[0].codec, "dvd_subtitle");
}

#[test]
fn zero_duration_and_timebase_frame_rate() {
    let info = normalize(fixture!("zero_duration.json"), 5).unwrap();
    assert_eq!(info.duration, 0.0);
    let v = info.video.unwrap();
    assert_eq!(v.fps, None, "90000/1 is a timebase, not a frame rate");
    assert_eq!(v.bit_depth, None);
    assert_eq!(v.pix_fmt, None);
}

#[test]
fn stream_duration_tag_is_used_when_format_has_none() {
    let json = br#"{"format":{"format_name":"matroska,webm"},
        "streams":[{"codec_type":"video","codec_name":"hevc","width":2,"height":2,
                    "tags":{"DURATION":"00:01:02.500000000","BPS":"4000000"}}]}"#;
    let info = normalize(json, 1).unwrap();
    assert_eq!(info.duration, 62.5);
    assert_eq!(info.video.unwrap().bitrate, Some(4_000_000));
}

#[test]
fn default_then_largest_video_stream_wins() {
    let json = br#"{"format":{"format_name":"matroska"},"streams":[
        {"codec_type":"video","codec_name":"mjpeg","width":640,"height":480},
        {"codec_type":"video","codec_name":"h264","width":1920,"height":1080},
        {"codec_type":"video","codec_name":"hevc","width":1280,"height":720,"disposition":{"default":1}}]}"#;
    assert_eq!(normalize(json, 1).unwrap().video.unwrap().codec, "hevc");
    let json = br#"{"format":{"format_name":"matroska"},"streams":[
        {"codec_type":"video","codec_name":"mjpeg","width":640,"height":480},
        {"codec_type":"video","codec_name":"h264","width":1920,"height":1080}]}"#;
    assert_eq!(normalize(json, 1).unwrap().video.unwrap().codec, "h264");
}

#[test]
fn broken_json_and_missing_format_are_errors() {
    assert!(matches!(normalize(b"{\n\n}", 1), Err(ProbeError::NoFormat)));
    assert!(matches!(
        normalize(b"not json", 1),
        Err(ProbeError::InvalidJson(_))
    ));
    assert!(matches!(
        normalize(br#"{"format":{"format_name":""}}"#, 1),
        Err(ProbeError::NoFormat)
    ));
}

#[test]
fn pix_fmt_depths() {
    assert_eq!(depth_from_pix_fmt("yuv420p10le"), Some(10));
    assert_eq!(depth_from_pix_fmt("p010le"), Some(10));
    assert_eq!(depth_from_pix_fmt("yuv422p12be"), Some(12));
    assert_eq!(depth_from_pix_fmt("yuvj420p"), Some(8));
    assert_eq!(depth_from_pix_fmt("rgb24"), None);
}

#[test]
fn frame_rates() {
    let v = |s: &str| Value::String(s.into());
    assert_eq!(frame_rate(Some(&v("25/1"))), Some(25.0));
    assert_eq!(frame_rate(Some(&v("0/0"))), None);
    assert_eq!(frame_rate(Some(&v("N/A"))), None);
    assert_eq!(frame_rate(Some(&v("30"))), Some(30.0));
    assert_eq!(frame_rate(Some(&v("-25/1"))), None);
    assert_eq!(frame_rate(None), None);
}
