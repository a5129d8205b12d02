//! Table tests for `decide`, `output_container` and settings validation.

use super::*;
use crate::media::{AudioStream, SubtitleStream, VideoStream};

fn info(container: &str, video: Option<&str>, audio: &[&str], subs: &[&str]) -> MediaInfo {
    MediaInfo {
        container: container.into(),
        duration: 120.0,
        size: 50_000_000,
        bit_rate: Some(3_333_333),
        video: video.map(|codec| VideoStream {
            codec: codec.into(),
            width: 1920,
            height: 1080,
            fps: Some(23.976),
            bit_depth: Some(8),
            bitrate: Some(3_000_000),
            hdr: false,
            pix_fmt: Some("yuv420p".into()),
        }),
        audio: audio
            .iter()
            .map(|c| AudioStream {
                codec: (*c).into(),
                channels: Some(2),
                language: None,
                bitrate: None,
            })
            .collect(),
        subtitles: subs
            .iter()
            .map(|c| SubtitleStream {
                codec: (*c).into(),
                language: None,
            })
            .collect(),
    }
}

fn settings(encoder: CpuEncoder) -> EncodeSettings {
    EncodeSettings {
        encoder,
        crf: None,
        preset: None,
        threads: 0,
    }
}

#[test]
fn decision_table() {
    use CpuEncoder::*;
    let cases: &[(MediaInfo, CpuEncoder, &str, &str)] = &[
        (
            info("mp3", None, &["mp3"], &[]),
            Libx265,
            "skip",
            "no_video_stream",
        ),
        (
            info("matroska", Some("hevc"), &["aac"], &[]),
            Libx265,
            "skip",
            "already_target_codec",
        ),
        (
            info("matroska", Some("h265"), &[], &[]),
            Libx265,
            "skip",
            "already_target_codec",
        ),
        (
            info("matroska", Some("av1"), &[], &[]),
            Libsvtav1,
            "skip",
            "already_target_codec",
        ),
        (
            info("mov", Some("h264"), &["aac"], &[]),
            Libx264,
            "skip",
            "already_target_codec",
        ),
        (
            info("mov", Some("h264"), &["aac"], &[]),
            Libx265,
            "transcode",
            "transcode_recommended",
        ),
        (
            info("matroska", Some("hevc"), &["aac"], &[]),
            Libsvtav1,
            "transcode",
            "transcode_recommended",
        ),
        (
            info("avi", Some("mpeg4"), &["mp3"], &[]),
            Libx265,
            "transcode",
            "transcode_recommended",
        ),
        (
            info("matroska", Some("av1"), &[], &[]),
            Libx264,
            "transcode",
            "transcode_recommended",
        ),
    ];
    for (info, encoder, action, code) in cases {
        let d = decide(info, &settings(*encoder));
        assert_eq!(d.action(), *action, "{info:?} with {encoder:?}");
        assert_eq!(d.explanation().code, *code, "{info:?} with {encoder:?}");
    }
}

#[test]
fn transcode_explanation_has_numbers_and_sentences() {
    let d = decide(
        &info("mov", Some("h264"), &["aac"], &[]),
        &settings(CpuEncoder::Libx265),
    );
    let e = d.explanation();
    assert_eq!(
        e.summary,
        "The video will be re-encoded from H.264 to HEVC."
    );
    assert!(
        e.detail.contains("h264 1920×1080 at 23.976 fps, 3000 kb/s"),
        "{}",
        e.detail
    );
    assert!(
        e.detail.contains("libx265 at CRF 28 (preset medium)"),
        "{}",
        e.detail
    );
    assert!(e.detail.contains("MP4"), "{}", e.detail);
    assert_eq!(e.measured["source_codec"], "h264");
    assert_eq!(e.measured["target_codec"], "hevc");
    assert_eq!(e.measured["video_bitrate"], 3_000_000);
    assert_eq!(e.measured["bit_rate"], 3_333_333);
    assert_eq!(e.measured["crf"], 28);
    assert_eq!(e.measured["output_container"], "mp4");
}

#[test]
fn skip_explanations_say_why() {
    let d = decide(
        &info("mp3", None, &["mp3"], &["subrip"]),
        &settings(CpuEncoder::Libx265),
    );
    let e = d.explanation();
    assert_eq!(e.summary, "There is no video stream to encode.");
    assert!(e.detail.contains("1 audio and 1 subtitle"), "{}", e.detail);
    assert_eq!(e.measured["audio_streams"], 1);

    let d = decide(
        &info("matroska", Some("hevc"), &[], &[]),
        &settings(CpuEncoder::Libx265),
    );
    let e = d.explanation();
    assert_eq!(e.summary, "The video is already HEVC.");
    assert!(e.detail.contains("libx265"), "{}", e.detail);
    assert_eq!(e.measured["width"], 1920);
}

#[test]
fn plan_uses_settings_and_defaults() {
    let s = EncodeSettings {
        encoder: CpuEncoder::Libsvtav1,
        crf: Some(30),
        preset: Some("6".into()),
        threads: 4,
    };
    let Decision::Transcode { plan, .. } = decide(&info("matroska", Some("h264"), &[], &[]), &s)
    else {
        panic!("expected transcode");
    };
    assert_eq!((plan.crf, plan.preset.as_str(), plan.threads), (30, "6", 4));

    for (encoder, crf, preset) in [
        (CpuEncoder::Libx265, 28, "medium"),
        (CpuEncoder::Libx264, 23, "medium"),
        (CpuEncoder::Libsvtav1, 35, "8"),
    ] {
        let Decision::Transcode { plan, .. } =
            decide(&info("matroska", Some("vp9"), &[], &[]), &settings(encoder))
        else {
            panic!("expected transcode");
        };
        assert_eq!(
            (plan.encoder, plan.crf, plan.preset.as_str()),
            (encoder, crf, preset)
        );
    }
}

#[test]
fn container_table() {
    use OutputContainer::*;
    let cases: &[(MediaInfo, OutputContainer)] = &[
        (info("mov", Some("h264"), &["aac"], &[]), Mp4),
        (info("mp4", Some("h264"), &[], &[]), Mp4),
        (
            info("m4v", Some("h264"), &["ac3", "eac3"], &["mov_text"]),
            Mp4,
        ),
        (
            info("mov", Some("h264"), &["aac"], &["mov_text", "mov_text"]),
            Mp4,
        ),
        (
            info("mov", Some("h264"), &["aac"], &["mov_text", "dvd_subtitle"]),
            Mkv,
        ),
        (info("mov", Some("prores"), &["pcm_s16le"], &[]), Mkv),
        (info("matroska", Some("h264"), &["aac"], &[]), Mkv),
        (info("avi", Some("mpeg4"), &["mp3"], &[]), Mkv),
        (
            info("mpegts", Some("mpeg2video"), &["mp2"], &["dvb_subtitle"]),
            Mkv,
        ),
    ];
    for (info, want) in cases {
        assert_eq!(output_container(info), *want, "{info:?}");
    }
}

#[test]
fn subtitles_are_kept_converted_or_dropped() {
    let plan = |i: &MediaInfo| match decide(i, &settings(CpuEncoder::Libx265)) {
        Decision::Transcode { plan, explanation } => (plan, explanation),
        Decision::Skip(e) => panic!("unexpected skip {e:?}"),
    };
    let (p, _) = plan(&info("mov", Some("h264"), &["aac"], &["mov_text"]));
    assert_eq!(p.container, OutputContainer::Mp4);
    assert_eq!(
        p.subtitles,
        vec![SubtitleTrack {
            input_index: 0,
            action: SubtitleAction::Copy
        }]
    );

    let (p, e) = plan(&info(
        "mov",
        Some("h264"),
        &["aac"],
        &["mov_text", "eia_608", "subrip"],
    ));
    assert_eq!(p.container, OutputContainer::Mkv);
    assert_eq!(
        p.subtitles,
        vec![
            SubtitleTrack {
                input_index: 0,
                action: SubtitleAction::ToSrt
            },
            SubtitleTrack {
                input_index: 2,
                action: SubtitleAction::Copy
            },
        ]
    );
    assert_eq!(
        e.measured["dropped_subtitles"],
        serde_json::json!(["eia_608"])
    );
    assert!(
        e.detail.contains("(eia_608) cannot be stored"),
        "{}",
        e.detail
    );
}

#[test]
fn settings_validation() {
    let mut s = settings(CpuEncoder::Libx265);
    assert!(s.validate().is_ok());
    s.crf = Some(52);
    assert!(matches!(
        s.validate(),
        Err(InvalidSettings::Crf { max: 51, .. })
    ));
    s.crf = Some(51);
    s.preset = Some("slow".into());
    assert!(s.validate().is_ok());
    s.preset = Some("8".into());
    assert!(matches!(s.validate(), Err(InvalidSettings::Preset { .. })));
    let mut s = settings(CpuEncoder::Libsvtav1);
    s.crf = Some(63);
    s.preset = Some("13".into());
    assert!(s.validate().is_ok());
    s.preset = Some("medium".into());
    assert!(s.validate().is_err());
}

#[test]
fn container_extensions() {
    assert_eq!(OutputContainer::Mkv.extension(), "mkv");
    assert_eq!(OutputContainer::Mp4.extension(), "mp4");
    assert_eq!(OutputContainer::Mkv.muxer(), "matroska");
}
