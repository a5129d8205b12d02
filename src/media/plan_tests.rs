//! Table tests for `plan` over recorded ffprobe JSON (tests/fixtures/ffprobe, see its README).

use super::*;
use crate::media::normalize::normalize;

fn fixture(name: &str) -> MediaInfo {
    let path = format!(
        "{}/tests/fixtures/ffprobe/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let json = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    normalize(&json, 0).unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

fn profile(encoder: CpuEncoder) -> Profile {
    Profile::from_settings(&EncodeSettings {
        encoder,
        crf: None,
        preset: None,
        threads: 0,
    })
}

use CpuEncoder::{Libsvtav1 as Av1, Libx264 as X264, Libx265 as Hevc};

type Check = fn(&Plan);
struct Case {
    fixture: &'static str,
    encoder: CpuEncoder,
    tweak: fn(&mut Profile, &mut Capabilities),
    action: &'static str,
    code: &'static str,
    check: Check,
}

fn none(_: &mut Profile, _: &mut Capabilities) {}
fn nothing(_: &Plan) {}
fn mp4(p: &mut Profile, _: &mut Capabilities) {
    p.container = ContainerChoice::Mp4;
}
fn mkv(p: &mut Profile, _: &mut Capabilities) {
    p.container = ContainerChoice::Mkv;
}
fn no_ten_bit(_: &mut Profile, c: &mut Capabilities) {
    c.ten_bit.clear();
}
fn ten_bit(p: &mut Profile, _: &mut Capabilities) {
    p.ten_bit = true;
}
fn audio(plan: &Plan) -> Vec<AudioAction> {
    plan.audio.iter().map(|t| t.action).collect()
}
fn subs(plan: &Plan) -> Vec<SubtitleAction> {
    plan.subtitles.iter().map(|t| t.action).collect()
}
fn enc(plan: &Plan) -> &VideoEncode {
    plan.video.as_ref().expect("an encode")
}

const fn case(
    fixture: &'static str,
    encoder: CpuEncoder,
    action: &'static str,
    code: &'static str,
) -> Case {
    Case {
        fixture,
        encoder,
        tweak: none,
        action,
        code,
        check: nothing,
    }
}

const T: &str = "transcode";
const S: &str = "skip";
const R: &str = "remux";
const TR: &str = "transcode_recommended";

fn cases() -> Vec<Case> {
    vec![
        // HDR10 from H.264 10-bit: 10-bit HEVC with PQ/BT.2020 tags, never tonemapped.
        Case {
            check: |p| {
                let v = enc(p);
                assert!(v.ten_bit);
                let c = v.colour.as_ref().unwrap();
                assert_eq!(c.transfer.as_deref(), Some("smpte2084"));
                assert_eq!(c.primaries.as_deref(), Some("bt2020"));
                assert_eq!(c.space.as_deref(), Some("bt2020nc"));
                assert_eq!(p.container, OutputContainer::Mkv);
            },
            ..case("hdr10_h264", Hevc, T, TR)
        },
        case("hevc10_hdr", Hevc, S, "already_target_codec"),
        Case {
            check: |p| assert!(enc(p).ten_bit && enc(p).colour.is_some()),
            ..case("hevc10_hdr", Av1, T, TR)
        },
        Case {
            tweak: no_ten_bit,
            ..case("hevc10_hdr", Av1, S, "hdr_needs_10bit_encoder")
        },
        case("hlg_hevc", Hevc, S, "already_target_codec"),
        Case {
            check: |p| {
                assert_eq!(
                    enc(p).colour.as_ref().unwrap().transfer.as_deref(),
                    Some("arib-std-b67")
                );
                assert_eq!(p.container, OutputContainer::Mp4);
                assert_eq!(p.output_codec, "hevc");
            },
            ..case("hlg_h264", Hevc, T, TR)
        },
        Case {
            tweak: no_ten_bit,
            ..case("hlg_h264", Hevc, S, "hdr_needs_10bit_encoder")
        },
        // Dolby Vision: never re-encoded (the RPU would be lost).
        case("dolby_vision", Hevc, S, "already_target_codec"),
        case("dolby_vision", Av1, S, "dolby_vision"),
        case("dolby_vision_h264", Hevc, S, "dolby_vision"),
        // 10-bit SDR HEVC in MP4.
        case("hevc10_sdr_mp4", Hevc, S, "already_target_codec"),
        Case {
            check: |p| assert!(enc(p).ten_bit && enc(p).colour.is_none()),
            ..case("hevc10_sdr_mp4", Av1, T, TR)
        },
        // 8-bit HEVC: skipped, unless the profile wants 10-bit output.
        case("hevc", Hevc, S, "already_target_codec"),
        Case {
            tweak: ten_bit,
            check: |p| assert!(enc(p).ten_bit),
            ..case("hevc", Hevc, T, TR)
        },
        // Right codec, wrong container: copy the video; 384 kb/s mono MP2 is "huge".
        Case {
            check: |p| {
                assert!(p.video.is_none());
                assert_eq!(p.container, OutputContainer::Mkv);
                assert_eq!(audio(p), [AudioAction::Opus(64_000)]);
            },
            ..case("hevc_mpegts", Hevc, R, "container_remux")
        },
        Case {
            tweak: mp4,
            check: |p| {
                assert_eq!(p.container, OutputContainer::Mp4);
                assert_eq!(audio(p), [AudioAction::Copy], "Opus goes into MP4");
            },
            ..case("hevc", Hevc, R, "container_remux")
        },
        case("av1", Av1, S, "already_target_codec"),
        Case {
            check: |p| {
                assert_eq!(p.container, OutputContainer::Mp4);
                assert_eq!(audio(p), [AudioAction::Copy], "Opus goes into MP4");
            },
            ..case("av1_mp4", Hevc, T, TR)
        },
        Case {
            check: |p| assert_eq!(p.container, OutputContainer::Mkv),
            ..case("vp9_opus", Hevc, T, TR)
        },
        // Interlaced MPEG-2 in MPEG-TS: deinterlaced into Matroska.
        Case {
            check: |p| {
                assert!(enc(p).deinterlace);
                assert!(!enc(p).ten_bit);
                assert_eq!(p.container, OutputContainer::Mkv);
                assert!(p.explanation.detail.contains("bwdif"));
            },
            ..case("mpeg2_interlaced", Hevc, T, TR)
        },
        Case {
            check: |p| {
                assert!(!enc(p).deinterlace);
                assert_eq!(p.container, OutputContainer::Mp4);
                assert!(p.explanation.detail.contains("variable"));
            },
            ..case("vfr_phone", Hevc, T, TR)
        },
        Case {
            check: |p| assert!(p.audio.is_empty()),
            ..case("h264_no_audio", Hevc, T, TR)
        },
        // Many audio tracks: lossless ones shrink, lossy ones are copied.
        Case {
            check: |p| {
                assert_eq!(
                    audio(p),
                    [
                        AudioAction::Copy,
                        AudioAction::Copy,
                        AudioAction::Opus(64_000),
                        AudioAction::Opus(64_000)
                    ]
                );
            },
            ..case("h264_many_audio", Hevc, T, TR)
        },
        Case {
            tweak: mp4,
            check: |p| {
                assert_eq!(p.container, OutputContainer::Mp4);
                assert_eq!(
                    audio(p),
                    [
                        AudioAction::Copy,
                        AudioAction::Copy,
                        AudioAction::Aac(96_000),
                        AudioAction::Aac(96_000)
                    ]
                );
            },
            ..case("h264_many_audio", Hevc, T, TR)
        },
        Case {
            check: |p| assert_eq!(audio(p), [AudioAction::Opus(384_000)]),
            ..case("h264_dtshd_ma", Hevc, T, TR)
        },
        Case {
            check: |p| {
                assert_eq!(p.container, OutputContainer::Mp4);
                assert_eq!(audio(p), [AudioAction::Aac(96_000)], "ALAC is lossless");
            },
            ..case("h264_alac_mp4", Hevc, T, TR)
        },
        Case {
            check: |p| {
                assert_eq!(p.container, OutputContainer::Mkv, "PCM is not MP4");
                assert_eq!(audio(p), [AudioAction::Opus(64_000)]);
            },
            ..case("h264_pcm24_mov", Hevc, T, TR)
        },
        // Bits per pixel: a 720p H.264 at 0.02 bpp is already lean.
        case("h264_lean_720p", Hevc, S, "bpp_below_threshold"),
        Case {
            tweak: |p, _| p.bpp_factor = 0.0,
            ..case("h264_lean_720p", Hevc, T, TR)
        },
        Case {
            check: |p| assert_eq!(p.container, OutputContainer::Mkv),
            ..case("mpeg4_avi", Hevc, T, TR)
        },
        // Subtitles and attachments.
        Case {
            check: |p| {
                assert_eq!(subs(p), [SubtitleAction::Copy]);
                assert!(p.attachments);
            },
            ..case("h264_ass_attachment", Hevc, T, TR)
        },
        Case {
            tweak: mp4,
            check: |p| {
                assert_eq!(p.container, OutputContainer::Mp4);
                assert_eq!(subs(p), [SubtitleAction::ToMovText]);
                assert!(!p.attachments);
                assert!(p.explanation.detail.contains("attachment"));
            },
            ..case("h264_ass_attachment", Hevc, T, TR)
        },
        Case {
            tweak: mp4,
            check: |p| {
                assert_eq!(p.container, OutputContainer::Mkv, "image subs force mkv");
                assert_eq!(subs(p), [SubtitleAction::Copy]);
                assert!(p.explanation.detail.contains("Picture subtitles"));
            },
            ..case("h264_pgs", Hevc, T, TR)
        },
        Case {
            check: |p| {
                assert_eq!(p.container, OutputContainer::Mkv);
                assert_eq!(subs(p), [SubtitleAction::Copy]);
            },
            ..case("mp4_dvdsub", Hevc, T, TR)
        },
        Case {
            check: |p| {
                assert_eq!(p.container, OutputContainer::Mp4);
                assert_eq!(subs(p), [SubtitleAction::Copy]);
            },
            ..case("movtext", Hevc, T, TR)
        },
        Case {
            tweak: mkv,
            check: |p| assert_eq!(subs(p), [SubtitleAction::ToSrt]),
            ..case("movtext", Hevc, T, TR)
        },
        Case {
            check: |p| assert_eq!(subs(p), [SubtitleAction::Copy]),
            ..case("h264_srt", Av1, T, TR)
        },
        // Missing numbers: no bit rate at all means the bpp rule cannot apply.
        Case {
            check: |p| assert!(!p.explanation.measured.contains_key("video_bitrate")),
            ..case("no_bitrates", Hevc, T, TR)
        },
        case("zero_duration", Hevc, T, TR),
        case("audio_only", Hevc, S, "no_video_stream"),
        case("audio_with_cover", Hevc, S, "no_video_stream"),
        case("h264_aac", X264, S, "already_target_codec"),
        Case {
            tweak: |p, _| p.min_file_size = 1024 * 1024,
            ..case("h264_aac", Hevc, S, "below_min_file_size")
        },
        Case {
            tweak: |_, c| c.encoders.retain(|e| *e != CpuEncoder::Libx265),
            ..case("h264_aac", Hevc, S, "encoder_unavailable")
        },
    ]
}

#[test]
fn decision_table_over_recorded_fixtures() {
    let cases = cases();
    assert!(cases.len() >= 25);
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let info = fixture(c.fixture);
        let mut profile = profile(c.encoder);
        let mut caps = Capabilities::all_cpu();
        (c.tweak)(&mut profile, &mut caps);
        let decision = plan(&info, &profile, &caps);
        let e = decision.explanation();
        if decision.action() != c.action || e.code != c.code {
            failures.push(format!(
                "case {i} {} → {}: got {} {} ({})",
                c.fixture,
                c.encoder.as_str(),
                decision.action(),
                e.code,
                e.detail
            ));
            continue;
        }
        assert!(!e.summary.is_empty() && !e.detail.is_empty(), "case {i}");
        if let Decision::Remux(p) | Decision::Transcode(p) = &decision {
            (c.check)(p);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bpp_explanation_carries_the_numbers() {
    let decision = plan(
        &fixture("h264_lean_720p"),
        &profile(Hevc),
        &Capabilities::all_cpu(),
    );
    let Decision::Skip(reason) = &decision else {
        panic!("{decision:?}")
    };
    assert_eq!(reason.code(), "bpp_below_threshold");
    let e = reason.explanation();
    for key in [
        "bpp",
        "bpp_threshold",
        "video_bitrate",
        "width",
        "height",
        "fps",
    ] {
        assert!(e.measured.contains_key(key), "{key} in {:?}", e.measured);
    }
    assert_eq!(e.measured["bitrate_estimated"], true);
}
