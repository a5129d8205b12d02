//! Golden tests: the whole argument vector for each encoder and container.

use super::*;
use crate::media::plan::SubtitleTrack;
use std::os::unix::ffi::OsStrExt;

fn plan(encoder: CpuEncoder, container: OutputContainer) -> Plan {
    Plan {
        encoder,
        container,
        crf: 28,
        preset: "medium".into(),
        threads: 0,
        subtitles: vec![],
    }
}

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

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn libx265_mkv() {
    assert_eq!(
        golden(&plan(CpuEncoder::Libx265, OutputContainer::Mkv)),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a? -map 0:t? \
             -c:v libx265 -preset medium -crf 28 -c:a copy -c:t copy \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn libx265_mp4_with_mov_text() {
    let mut p = plan(CpuEncoder::Libx265, OutputContainer::Mp4);
    p.subtitles = vec![
        SubtitleTrack {
            input_index: 0,
            action: SubtitleAction::Copy,
        },
        SubtitleTrack {
            input_index: 1,
            action: SubtitleAction::Copy,
        },
    ];
    p.threads = 2;
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a? -map 0:s:0 -map 0:s:1 \
             -c:v libx265 -preset medium -crf 28 -tag:v hvc1 -c:a copy -c:s:0 copy -c:s:1 copy \
             -map_metadata 0 -map_chapters 0 -threads 2 -movflags +faststart \
             -f mp4 file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn libsvtav1_mkv_with_converted_subtitles() {
    let mut p = plan(CpuEncoder::Libsvtav1, OutputContainer::Mkv);
    p.preset = "8".into();
    p.crf = 35;
    p.subtitles = vec![
        SubtitleTrack {
            input_index: 0,
            action: SubtitleAction::ToSrt,
        },
        SubtitleTrack {
            input_index: 2,
            action: SubtitleAction::Copy,
        },
    ];
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a? -map 0:s:0 -map 0:s:2 -map 0:t? \
             -c:v libsvtav1 -preset 8 -crf 35 -c:a copy -c:s:0 srt -c:s:1 copy -c:t copy \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn libsvtav1_mp4() {
    let mut p = plan(CpuEncoder::Libsvtav1, OutputContainer::Mp4);
    p.preset = "10".into();
    p.crf = 30;
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a? \
             -c:v libsvtav1 -preset 10 -crf 30 -c:a copy \
             -map_metadata 0 -map_chapters 0 -movflags +faststart \
             -f mp4 file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn libx264_mkv_with_threads() {
    let mut p = plan(CpuEncoder::Libx264, OutputContainer::Mkv);
    p.preset = "slow".into();
    p.crf = 20;
    p.threads = 3;
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a? -map 0:t? \
             -c:v libx264 -preset slow -crf 20 -c:a copy -c:t copy \
             -map_metadata 0 -map_chapters 0 -threads 3 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn libx264_mp4_has_no_hvc1_tag() {
    assert_eq!(
        golden(&plan(CpuEncoder::Libx264, OutputContainer::Mp4)),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a? \
             -c:v libx264 -preset medium -crf 28 -c:a copy \
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
        &plan(CpuEncoder::Libx265, OutputContainer::Mkv),
        input,
        output,
    );
    assert_eq!(args[4].as_bytes(), b"file:/m/a b\n\"q\" \xff.mkv");
    assert_eq!(args.last().unwrap().as_bytes(), b"file:/m/-x:y.mkv");
}

#[test]
fn nothing_that_sidecar_adds_is_duplicated() {
    let args = golden(&plan(CpuEncoder::Libx265, OutputContainer::Mkv));
    for flag in ["-loglevel", "-v", "-n", "-progress", "-nostats"] {
        assert!(
            !args.iter().any(|a| a == flag),
            "{flag} must not be in {args:?}"
        );
    }
}
