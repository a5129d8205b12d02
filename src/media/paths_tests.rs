//! Tests of the output, temp and segment names: suffixes, `NAME_MAX`, our own files recognised.

use super::*;

fn p(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

#[test]
fn output_names() {
    assert_eq!(
        output_path(Path::new("/lib/Movie (2020).mp4"), OutputContainer::Mkv),
        Path::new("/lib/Movie (2020).alchemist.mkv")
    );
    assert_eq!(
        output_path(Path::new("/lib/a.b.avi"), OutputContainer::Mp4),
        Path::new("/lib/a.b.alchemist.mp4")
    );
    assert_eq!(
        output_path(Path::new("noext"), OutputContainer::Mkv),
        Path::new("noext.alchemist.mkv")
    );
}

#[test]
fn non_utf8_names_survive() {
    let out = output_path(&p(b"/lib/caf\xe9 \n\"x\".mkv"), OutputContainer::Mkv);
    assert_eq!(out, p(b"/lib/caf\xe9 \n\"x\".alchemist.mkv"));
    let tmp = temp_path(&out, JobId(42));
    assert_eq!(
        tmp,
        p(b"/lib/.caf\xe9 \n\"x\".alchemist.mkv.alchemist-tmp-42")
    );
    assert!(is_own_file(&out));
    assert!(is_own_file(&tmp));
    assert!(!is_own_file(&p(b"/lib/caf\xe9.mkv")));
    assert!(is_video_file(&p(b"/lib/\xff\xfe.MKV")));
}

#[test]
fn temp_is_hidden_and_beside_output() {
    let tmp = temp_path(Path::new("/lib/show/ep1.alchemist.mp4"), JobId(7));
    assert_eq!(
        tmp,
        Path::new("/lib/show/.ep1.alchemist.mp4.alchemist-tmp-7")
    );
    assert_eq!(tmp.parent(), Some(Path::new("/lib/show")));
}

#[test]
fn own_files_are_recognised() {
    let seg = segments_dir(Path::new("/a/x.alchemist.mkv"), JobId(12));
    assert_eq!(seg, Path::new("/a/.x.alchemist.mkv.alchemist-seg-12"));
    assert!(is_segments_dir(&seg));
    assert!(
        is_own_file(&seg.join("00003.mkv")),
        "segments are never queued"
    );
    assert!(
        !is_segments_dir(Path::new("/a/x.alchemist-seg-12")),
        "not hidden"
    );
    assert!(!is_segments_dir(Path::new("/a/.x.alchemist-seg-")));
    for own in [
        "/a/x.alchemist.mkv",
        "/a/x.ALCHEMIST.MP4",
        "/a/.x.mkv.alchemist-tmp-1",
        "/a/.x.alchemist.mkv.alchemist-tmp-123",
        "/a/.alchemist-trash/7/movie.mkv",
    ] {
        assert!(is_own_file(Path::new(own)), "{own}");
    }
    for other in [
        "/a/x.mkv",
        "/a/alchemist.mkv",
        "/a/x.alchemist.avi",
        "/a/x.mkv.alchemist-tmp-1",
        "/a/.x.mkv.alchemist-tmp-",
        "/a/.x.mkv.alchemist-tmp-1.mkv",
        "/",
    ] {
        assert!(!is_own_file(Path::new(other)), "{other}");
    }
}

#[test]
fn long_names_are_shortened_to_fit_and_stay_ours_and_distinct() {
    let long = |c: &str| format!("/lib/{}.mkv", c.repeat(246));
    let (a, b) = (long("a"), long("b"));
    let out_a = output_path(Path::new(&a), OutputContainer::Mkv);
    let out_b = output_path(Path::new(&b), OutputContainer::Mkv);
    for out in [&out_a, &out_b] {
        let name = out.file_name().unwrap().len();
        assert!(name <= NAME_MAX, "{name}");
        assert!(is_own_file(out), "{out:?}");
        let tmp = temp_path(out, JobId(123_456));
        assert!(tmp.file_name().unwrap().len() <= NAME_MAX);
        assert!(is_own_file(&tmp), "{tmp:?}");
        assert_eq!(tmp.parent(), out.parent());
    }
    assert_ne!(out_a, out_b);
    assert_ne!(
        temp_path(&out_a, JobId(1)),
        temp_path(&out_b, JobId(1)),
        "the hash keeps shortened names apart"
    );
    // A multi-byte character is never cut in half.
    let accents = format!("/lib/{}.mkv", "é".repeat(125));
    let out = output_path(Path::new(&accents), OutputContainer::Mkv);
    assert!(out.to_str().is_some(), "still valid UTF-8: {out:?}");
    // Short names are untouched.
    assert_eq!(
        output_path(Path::new("/lib/x.mp4"), OutputContainer::Mkv),
        Path::new("/lib/x.alchemist.mkv")
    );
}

#[test]
fn outputs_follow_the_profiles_suffix_and_root() {
    let mkv = OutputContainer::Mkv;
    let input = Path::new("/media/films/Drama/Film (2020).mp4");
    assert_eq!(
        output_path_for(input, mkv, "alchemist", None, None),
        output_path(input, mkv)
    );
    assert_eq!(
        output_path_for(input, mkv, "small", None, Some(Path::new("/media/films"))),
        Path::new("/media/films/Drama/Film (2020).small.mkv")
    );
    let root = Some(Path::new("/out"));
    assert_eq!(
        output_path_for(input, mkv, "", root, Some(Path::new("/media/films"))),
        Path::new("/out/Drama/Film (2020).mkv")
    );
    assert_eq!(
        output_path_for(input, mkv, "x", root, Some(Path::new("/media"))),
        Path::new("/out/films/Drama/Film (2020).x.mkv")
    );
    // Without its library folder the output lands in the root itself.
    assert_eq!(
        output_path_for(input, mkv, "x", root, None),
        Path::new("/out/Film (2020).x.mkv")
    );
    let long = format!("/m/{}.mkv", "a".repeat(250));
    let out = output_path_for(Path::new(&long), mkv, &"s".repeat(32), None, None);
    assert!(out.file_name().unwrap().len() <= NAME_MAX);

    let own = OwnOutputs {
        suffixes: vec!["small".into(), String::new()],
        roots: vec!["/out".into()],
    };
    for yes in [
        "/media/a.small.mkv",
        "/media/a.SMALL.MP4",
        "/media/a.alchemist.mkv",
        "/out/x/a.mkv",
        "/media/.a.small.mkv.alchemist-tmp-3",
    ] {
        assert!(own.is_own(Path::new(yes)), "{yes}");
    }
    for no in [
        "/media/a.mkv",
        "/media/small.mkv",
        "/outside/a.mkv",
        "/media/a.small.avi",
    ] {
        assert!(!own.is_own(Path::new(no)), "{no}");
    }
    assert!(!is_own_file(Path::new("/media/a.small.mkv")));
}

#[test]
fn video_extensions() {
    for yes in ["a.mkv", "b.MP4", "c.m2ts", "d.Mpg", "/x/y.webm"] {
        assert!(is_video_file(Path::new(yes)), "{yes}");
    }
    for no in ["a.srt", "b.nfo", "mkv", "c.mkv.part", ".mkv"] {
        assert!(!is_video_file(Path::new(no)), "{no}");
    }
}
