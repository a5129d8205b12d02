//! Golden tests: the whole argument vector for representative plans, each made by the planner
//! from a recorded fixture (remux, HDR 10-bit, deinterlace, audio re-encode, subtitle
//! conversion, attachments) plus hand-made plans for every encoder and container.

use super::*;
use crate::media::normalize::normalize;
use crate::media::plan::{
    Capabilities, ContainerChoice, Decision, EncodeSettings, Profile, SubtitleTrack, plan,
};
use crate::media::plan::{OutputContainer, SubtitleAction};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

fn golden(plan: &Plan) -> Vec<String> {
    build_args(
        plan,
        Path::new("/media/in.mkv"),
        Path::new("/media/.out.mkv.alchemist-tmp-7"),
    )
    .into_iter()
    .map(|a| a.into_string().unwrap())
    .collect()
}

/// A golden vector written as one space-separated string.
/// An argument vector as strings, for comparing with [`words`].
pub(in crate::media) fn strings(args: Vec<std::ffi::OsString>) -> Vec<String> {
    args.into_iter().map(|a| a.into_string().unwrap()).collect()
}

pub(in crate::media) fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// The plan the planner makes for a fixture with the default profile for `encoder`; shared by
/// the golden tests of every backend's arguments.
pub(in crate::media) fn planned(
    fixture: &str,
    encoder: CpuEncoder,
    container: ContainerChoice,
) -> Plan {
    let path = format!(
        "{}/tests/fixtures/ffprobe/{fixture}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let info = normalize(&std::fs::read(path).unwrap(), 0).unwrap();
    let mut profile = Profile::from_settings(&EncodeSettings {
        encoder,
        crf: None,
        preset: None,
        threads: 0,
    });
    profile.container = container;
    match plan(&info, &profile, &Capabilities::all_cpu()) {
        Decision::Remux(p) | Decision::Transcode(p) => p,
        Decision::Skip(r) => panic!("{fixture}: {r:?}"),
    }
}

#[test]
fn remux_copies_every_stream() {
    let p = planned("hevc_mpegts", CpuEncoder::Libx265, ContainerChoice::Auto);
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -fflags +genpts -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a:0 -c:v copy -c:a:0 libopus -b:a:0 64000 \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn remux_of_hevc_into_mp4_tags_hvc1() {
    let p = planned("hevc", CpuEncoder::Libx265, ContainerChoice::Mp4);
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -fflags +genpts -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a:0 -c:v copy -tag:v hvc1 -c:a:0 copy \
             -map_metadata 0 -map_chapters 0 -movflags +faststart \
             -f mp4 file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn hdr10_keeps_ten_bits_and_colour_tags() {
    let p = planned("hdr10_h264", CpuEncoder::Libx265, ContainerChoice::Auto);
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a:0 \
             -c:v libx265 -preset medium -crf 28 -pix_fmt yuv420p10le \
             -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc \
             -x265-params log-level=error -c:a:0 copy \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn interlaced_mpeg2_is_deinterlaced() {
    let p = planned(
        "mpeg2_interlaced",
        CpuEncoder::Libsvtav1,
        ContainerChoice::Auto,
    );
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a:0 \
             -vf bwdif=mode=send_frame:parity=auto:deint=all \
             -c:v libsvtav1 -preset 8 -crf 35 -c:a:0 libopus -b:a:0 64000 \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn lossless_audio_is_reencoded_per_track() {
    let p = planned(
        "h264_many_audio",
        CpuEncoder::Libx265,
        ContainerChoice::Auto,
    );
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a:0 -map 0:a:1 -map 0:a:2 -map 0:a:3 \
             -c:v libx265 -preset medium -crf 28 -x265-params log-level=error \
             -c:a:0 copy -c:a:1 copy -c:a:2 libopus -b:a:2 64000 -c:a:3 libopus -b:a:3 64000 \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn text_subtitles_convert_into_mp4_and_fonts_stay_in_mkv() {
    let p = planned(
        "h264_ass_attachment",
        CpuEncoder::Libx265,
        ContainerChoice::Mp4,
    );
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a:0 -map 0:s:0 \
             -c:v libx265 -preset medium -crf 28 -x265-params log-level=error -tag:v hvc1 \
             -c:a:0 copy -c:s:0 mov_text \
             -map_metadata 0 -map_chapters 0 -movflags +faststart \
             -f mp4 file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
    let p = planned(
        "h264_ass_attachment",
        CpuEncoder::Libsvtav1,
        ContainerChoice::Auto,
    );
    let p = Plan {
        video: p.video.map(|mut v| {
            v.preset = "6".into();
            v
        }),
        threads: 3,
        ..p
    };
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a:0 -map 0:s:0 -map 0:t? \
             -c:v libsvtav1 -preset 6 -crf 35 -c:a:0 copy -c:s:0 copy -c:t copy \
             -map_metadata 0 -map_chapters 0 -threads 3 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn mov_text_into_mkv_becomes_srt() {
    let mut p = Plan::simple(CpuEncoder::Libsvtav1, OutputContainer::Mkv, 30, "10");
    p.subtitles = vec![
        SubtitleTrack {
            input_index: 0,
            action: SubtitleAction::ToSrt,
            disposition: None,
        },
        SubtitleTrack {
            input_index: 2,
            action: SubtitleAction::Copy,
            disposition: None,
        },
    ];
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:s:0 -map 0:s:2 \
             -c:v libsvtav1 -preset 10 -crf 30 -c:s:0 srt -c:s:1 copy \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn libx264_mp4_has_no_hvc1_tag() {
    assert_eq!(
        golden(&Plan::simple(
            CpuEncoder::Libx264,
            OutputContainer::Mp4,
            28,
            "medium"
        )),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv -map 0:V:0 \
             -c:v libx264 -preset medium -crf 28 \
             -map_metadata 0 -map_chapters 0 -movflags +faststart \
             -f mp4 file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn paths_are_passed_byte_for_byte() {
    let input = Path::new(OsStr::from_bytes(b"/m/a b\n\"q\" \xff.mkv"));
    let output = Path::new(OsStr::from_bytes(b"/m/-x:y.mkv"));
    let args = build_args(
        &Plan::simple(CpuEncoder::Libx265, OutputContainer::Mkv, 28, "medium"),
        input,
        output,
    );
    assert_eq!(args[4].as_bytes(), b"file:/m/a b\n\"q\" \xff.mkv");
    assert_eq!(args.last().unwrap().as_bytes(), b"file:/m/-x:y.mkv");
}

#[test]
fn nothing_that_sidecar_adds_is_duplicated() {
    let args = golden(&planned(
        "h264_many_audio",
        CpuEncoder::Libx265,
        ContainerChoice::Auto,
    ));
    for flag in ["-loglevel", "-v", "-n", "-progress", "-nostats"] {
        assert!(
            !args.iter().any(|a| a == flag),
            "{flag} must not be in {args:?}"
        );
    }
}

/// The stream rules of a profile over the six-audio, five-subtitle fixture: explicit maps of
/// the kept streams only, per-stream codecs, and the stereo downmix last with its own title.
#[test]
fn stream_rules_map_only_kept_streams_and_add_a_downmix() {
    let path = format!(
        "{}/tests/fixtures/ffprobe/streams_rules.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let info = normalize(&std::fs::read(path).unwrap(), 0).unwrap();
    let mut profile = Profile::from_settings(&EncodeSettings {
        encoder: CpuEncoder::Libx265,
        crf: None,
        preset: None,
        threads: 0,
    });
    profile.streams = crate::profiles::StreamRules {
        audio_languages: vec!["eng".into()],
        subtitle_languages: vec!["eng".into()],
        drop_commentary: true,
        add_stereo: true,
        audio_codec: crate::profiles::AudioCodecPolicy::Copy,
        ..Default::default()
    };
    let mkv = match plan(&info, &profile, &Capabilities::all_cpu()) {
        Decision::Transcode(p) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        golden(&mkv),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a:0 -map 0:a:1 -map 0:a:3 -map 0:a:0 \
             -map 0:s:0 -map 0:s:1 -map 0:s:4 \
             -c:v libx265 -preset medium -crf 28 -x265-params log-level=error \
             -c:a:0 copy -disposition:a:0 default -c:a:1 copy -disposition:a:1 original \
             -c:a:2 copy -disposition:a:2 0 \
             -c:a:3 libopus -b:a:3 128000 -ac:a:3 2 -metadata:s:a:3 title=Stereo -disposition:a:3 0 \
             -c:s:0 copy -disposition:s:0 0 -c:s:1 copy -disposition:s:1 forced \
             -c:s:2 copy -disposition:s:2 hearing_impaired \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
    profile.container = ContainerChoice::Mp4;
    profile.streams.audio_codec = crate::profiles::AudioCodecPolicy::Eac3;
    let Decision::Transcode(mp4) = plan(&info, &profile, &Capabilities::all_cpu()) else {
        panic!("mp4 plan");
    };
    let args = golden(&mp4).join(" ");
    assert!(
        args.contains(
            "-c:a:0 eac3 -b:a:0 576000 -disposition:a:0 default -c:a:1 copy \
             -disposition:a:1 original -c:a:2 copy -disposition:a:2 0 -c:a:3 eac3 -b:a:3 192000 \
             -ac:a:3 2 -metadata:s:a:3 title=Stereo -disposition:a:3 0 \
             -c:s:0 mov_text -disposition:s:0 0 -c:s:1 mov_text -disposition:s:1 forced \
             -c:s:2 mov_text -disposition:s:2 hearing_impaired"
        ),
        "{args}"
    );
}

#[test]
fn segmented_encode_is_the_video_alone_then_a_join_that_takes_the_rest_from_the_source() {
    use crate::media::segments::{Range, segment_argv, video_only};
    let p = planned(
        "h264_ass_attachment",
        CpuEncoder::Libx265,
        ContainerChoice::Auto,
    );
    let segment = segment_argv(
        build_args(
            &video_only(&p),
            Path::new("/proc/self/fd/9"),
            Path::new("/m/.x.alchemist-seg-7/00001.part"),
        ),
        Range {
            start: 300.0,
            length: 300.0,
            seek: 300.0,
        },
        false,
    );
    assert_eq!(
        strings(segment),
        words(
            "-hide_banner -nostdin -y -ss 300.000000 -i file:/proc/self/fd/9 -t 300.000000 \
             -map 0:V:0 -c:v libx265 -preset medium -crf 28 -x265-params log-level=error \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/m/.x.alchemist-seg-7/00001.part"
        )
    );
    let join = crate::media::args::build_join_args(
        &p,
        Path::new("/m/.x.alchemist-seg-7/join.ffconcat"),
        Path::new("/proc/self/fd/9"),
        Path::new("/m/.x.mkv.alchemist-tmp-7"),
        0.021,
    );
    assert_eq!(
        strings(join),
        words(
            "-hide_banner -nostdin -y -itsoffset 0.021000 \
             -f concat -i file:/m/.x.alchemist-seg-7/join.ffconcat \
             -i file:/proc/self/fd/9 \
             -map 0:v:0 -map 1:a:0 -map 1:s:0 -map 1:t? \
             -c:v copy -c:a:0 copy -c:s:0 copy -c:t copy \
             -map_metadata 1 -map_chapters 1 \
             -f matroska file:/m/.x.mkv.alchemist-tmp-7"
        )
    );
}

#[path = "cpu_sdr_tests.rs"]
mod sdr;
