use super::*;

fn strs(v: &[OsString]) -> Vec<&str> {
    v.iter().map(|a| a.to_str().unwrap()).collect()
}

#[test]
fn short_files_and_zero_length_stay_one_piece() {
    assert_eq!(plan_ranges(7200.0, 0, 0), None, "0 = never segment");
    assert_eq!(plan_ranges(500.0, 300, 600), None, "below the minimum");
    assert_eq!(plan_ranges(300.0, 300, 0), None, "fits one segment");
    assert_eq!(plan_ranges(0.0, 300, 0), None, "unknown length");
    assert_eq!(plan_ranges(f64::NAN, 300, 0), None);
    // Just over one segment: the 10 s tail is folded into the first, which leaves one piece.
    assert_eq!(plan_ranges(310.0, 300, 0), None);
}

#[test]
fn ranges_tile_the_source_at_whole_multiples() {
    let r = plan_ranges(1000.0, 300, 600).unwrap();
    let starts: Vec<f64> = r.iter().map(|r| r.start).collect();
    assert_eq!(starts, [0.0, 300.0, 600.0, 900.0]);
    assert_eq!(r[3].length, 100.0);
    // Every second is in exactly one range.
    for w in r.windows(2) {
        assert_eq!(w[0].end(), w[1].start);
    }
    assert_eq!(r.last().unwrap().end(), 1000.0);
    // A short tail (< a quarter segment) joins the range before it.
    let r = plan_ranges(620.0, 300, 0).unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(
        r[1],
        Range {
            start: 300.0,
            length: 320.0,
            seek: 300.0
        }
    );
    let r = plan_ranges(60.0, 2, 10).unwrap();
    assert_eq!(r.len(), 30);
}

#[test]
fn segment_argv_adds_only_the_seek_and_the_length() {
    let argv: Vec<OsString> = "-hide_banner -nostdin -y -hwaccel vaapi -i file:/in -map 0:V:0 -c:v libx264 -f matroska file:/out"
        .split(' ')
        .map(OsString::from)
        .collect();
    let r = Range {
        start: 120.5,
        length: 60.0,
        seek: 120.0,
    };
    assert_eq!(
        strs(&segment_argv(argv.clone(), r, false)),
        "-hide_banner -nostdin -y -hwaccel vaapi -ss 120.000000 -i file:/in -t 60.000000 -map 0:V:0 -c:v libx264 -f matroska file:/out"
            .split(' ')
            .collect::<Vec<_>>()
    );
    let last = segment_argv(argv, r, true);
    assert!(!strs(&last).contains(&"-t"), "the last one runs to the end");
    assert_eq!(strs(&last)[5..8], ["-ss", "120.000000", "-i"]);
}

#[test]
fn only_a_contiguous_prefix_of_segments_is_complete() {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(complete_prefix(&names(&[]), 5, "mkv"), 0);
    assert_eq!(
        complete_prefix(
            &names(&["00000.mkv", "00001.mkv", "00002.part", "manifest.json"]),
            5,
            "mkv"
        ),
        2,
        "a part file is not complete"
    );
    assert_eq!(
        complete_prefix(&names(&["00000.mkv", "00002.mkv"]), 5, "mkv"),
        1,
        "a gap ends the prefix"
    );
    assert_eq!(
        complete_prefix(&names(&["00000.mp4", "00001.mp4"]), 2, "mkv"),
        0,
        "another container is another run's"
    );
    assert_eq!(
        complete_prefix(&names(&["00000.mkv", "00001.mkv", "00002.mkv"]), 2, "mkv"),
        2
    );
}

#[test]
fn resume_point_counts_the_reused_seconds() {
    let r = plan_ranges(1000.0, 300, 0).unwrap();
    assert_eq!(resume_point(&r, 0), (0, 0.0));
    assert_eq!(resume_point(&r, 2), (2, 600.0));
    assert_eq!(
        resume_point(&r, 4),
        (4, 1000.0),
        "all done: only the join is left"
    );
    assert_eq!(resume_point(&r, 9), (4, 1000.0));
}

#[test]
fn concat_list_names_segments_relatively_with_their_lengths() {
    let r = plan_ranges(10.0, 4, 0).unwrap();
    assert_eq!(
        concat_list(&r, "mp4"),
        "ffconcat version 1.0\nfile '00000.mp4'\nduration 4.000000\nfile '00001.mp4'\n\
         duration 4.000000\nfile '00002.mp4'\n"
    );
}

#[test]
fn fingerprint_changes_with_arguments_ranges_and_source() {
    let t: Vec<OsString> = vec!["-c:v".into(), "libx265".into()];
    let r = plan_ranges(100.0, 10, 0).unwrap();
    let base = fingerprint(&t, &r, [1, 2, 3, 4]);
    assert_eq!(base, fingerprint(&t, &r, [1, 2, 3, 4]));
    assert_ne!(
        base,
        fingerprint(&["-c:v".into(), "libx264".into()], &r, [1, 2, 3, 4])
    );
    assert_ne!(
        base,
        fingerprint(&t, &plan_ranges(100.0, 20, 0).unwrap(), [1, 2, 3, 4])
    );
    assert_ne!(
        base,
        fingerprint(&t, &r, [1, 2, 3, 5]),
        "the source changed"
    );
}

#[test]
fn aligned_cuts_fall_between_frames_and_hold_whole_frames() {
    // 23.976 fps, first frame 21 ms after the file's start (AAC priming moved it).
    let fps = 24000.0 / 1001.0;
    let r = align(&plan_ranges(1000.0, 300, 0).unwrap(), Some(fps), 0.021);
    for w in r.windows(2) {
        let frames = w[0].length * fps;
        assert!((frames - frames.round()).abs() < 1e-6, "{frames}");
        assert!(
            (w[0].start + w[0].length - w[1].start).abs() < 1e-9,
            "they tile"
        );
    }
    // Frame 7193 (300 s is frame 7192.8) starts the second range; its seek is a quarter
    // frame before it, so rounding cannot move the frame out of it.
    assert!((r[1].start - (0.021 + 7193.0 / fps)).abs() < 1e-9);
    assert!((r[1].start - r[1].seek - 0.25 / fps).abs() < 1e-9);
    assert_eq!(r[0].seek, 0.021 - 0.25 / fps);
    assert!(
        (r[3].start + r[3].length - 1000.0 - 0.021).abs() < 0.05,
        "to the end"
    );
    // A first frame at the very start: the first seek is the start itself.
    let r = align(&plan_ranges(100.0, 10, 0).unwrap(), Some(25.0), 0.0);
    assert_eq!((r[0].seek, r[0].start, r[0].length), (0.0, 0.0, 10.0));
    assert_eq!(r[1].start, 10.0);
    // No frame rate: only the video's offset moves them.
    let r = align(&plan_ranges(100.0, 10, 0).unwrap(), None, 0.5);
    assert_eq!((r[1].start, r[1].seek, r[1].length), (10.5, 10.5, 10.0));
}
