//! Pure naming rules for the files we write: the output `<stem>.alchemist.<ext>` beside the
//! input, and a hidden temp file beside the output (same directory, so the final rename is
//! atomic on the same filesystem). Works on raw bytes, so non-UTF-8 names survive, and lets
//! the scanner recognise our own files so they are never queued again.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::model::JobId;

use super::streams::OutputContainer;

/// Marker between the stem and the extension of outputs.
const OUTPUT_MARKER: &str = ".alchemist.";
/// Marker inside temp file names, followed by the job id.
const TEMP_MARKER: &str = ".alchemist-tmp-";
/// Marker inside segment folder names, followed by the job id.
const SEGMENTS_MARKER: &str = ".alchemist-seg-";
/// Every container we write; `is_own_file` must know all their extensions.
const OUTPUT_CONTAINERS: [OutputContainer; 2] = [OutputContainer::Mkv, OutputContainer::Mp4];

/// Extensions the scanner treats as video (compared case-insensitively).
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mkv", "mp4", "m4v", "mov", "avi", "ts", "m2ts", "webm", "wmv", "flv", "mpg",
];

/// Longest file name (bytes) Linux filesystems take.
pub const NAME_MAX: usize = 255;
/// Bytes of the hash that stands for the cut part of a shortened name (hex digits, plus `~`).
const HASH_CHARS: usize = 8;

/// `<dir>/<stem>.alchemist.<ext>` for `input`; a stem too long for the name to fit
/// [`NAME_MAX`] is cut and ends with `~` and a hash of the whole stem, so names stay distinct.
pub fn output_path(input: &Path, container: OutputContainer) -> PathBuf {
    let stem = input.file_stem().unwrap_or(OsStr::new("output"));
    let suffix_len = OUTPUT_MARKER.len() + container.extension().len();
    let mut name = fit(stem.as_bytes(), NAME_MAX - suffix_len);
    name.push(OUTPUT_MARKER);
    name.push(container.extension());
    input.with_file_name(name)
}

/// Hidden temp file beside `final_output`: `<dir>/.<file name>.alchemist-tmp-<job>`, the file
/// name shortened like [`output_path`]'s stem when the whole would not fit [`NAME_MAX`].
pub fn temp_path(final_output: &Path, job: JobId) -> PathBuf {
    let file_name = final_output.file_name().unwrap_or(OsStr::new("output"));
    let id = job.to_string();
    let room = NAME_MAX - 1 - TEMP_MARKER.len() - id.len();
    let mut name = OsString::from(".");
    name.push(fit(file_name.as_bytes(), room));
    name.push(TEMP_MARKER);
    name.push(id);
    final_output.with_file_name(name)
}

/// Hidden folder beside `final_output` holding the segments of a segmented encode
/// (`media::segments`): `<dir>/.<file name>.alchemist-seg-<job>`, on the output's filesystem.
pub fn segments_dir(final_output: &Path, job: JobId) -> PathBuf {
    let file_name = final_output.file_name().unwrap_or(OsStr::new("output"));
    let id = job.to_string();
    let room = NAME_MAX - 1 - SEGMENTS_MARKER.len() - id.len();
    let mut name = OsString::from(".");
    name.push(fit(file_name.as_bytes(), room));
    name.push(SEGMENTS_MARKER);
    name.push(id);
    final_output.with_file_name(name)
}

/// True when `path` names a segment folder (its last component).
pub fn is_segments_dir(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| marked_with_id(n.as_bytes(), SEGMENTS_MARKER.as_bytes()))
}

/// `bytes` when at most `room` long; else its first bytes (cut at a character boundary when it
/// is UTF-8), `~` and 8 hex digits of its SHA-256.
fn fit(bytes: &[u8], room: usize) -> OsString {
    if bytes.len() <= room {
        return OsStr::from_bytes(bytes).to_owned();
    }
    let mut keep = room.saturating_sub(HASH_CHARS + 1);
    if let Ok(text) = std::str::from_utf8(bytes) {
        while keep > 0 && !text.is_char_boundary(keep) {
            keep -= 1;
        }
    }
    let hash = sha2::Sha256::digest(bytes);
    let mut name = OsStr::from_bytes(&bytes[..keep]).to_owned();
    name.push(format!("~{}", &hex::encode(hash)[..HASH_CHARS]));
    name
}

/// `path` as shown in job logs and messages: control characters (a newline in a file name
/// would forge a log line) written as escapes (see `model::escape_controls`).
pub fn shown(path: &Path) -> String {
    crate::model::escape_controls(&path.to_string_lossy()).into_owned()
}

/// Folder that holds replaced originals (same filesystem as the library).
pub const TRASH_DIR: &str = ".alchemist-trash";

/// True for files we wrote: outputs (`*.alchemist.mkv|mp4`), temp files, and anything under a
/// trash folder.
pub fn is_own_file(path: &Path) -> bool {
    if path.components().any(|c| {
        c.as_os_str() == TRASH_DIR
            || marked_with_id(c.as_os_str().as_bytes(), SEGMENTS_MARKER.as_bytes())
    }) {
        return true;
    }
    let Some(name) = path.file_name().map(OsStrExt::as_bytes) else {
        return false;
    };
    let is_output = OUTPUT_CONTAINERS.iter().any(|c| {
        let mut suffix = OUTPUT_MARKER.as_bytes().to_vec();
        suffix.extend_from_slice(c.extension().as_bytes());
        ends_with_ignore_case(name, &suffix)
    });
    is_output || is_temp_name(name)
}

fn is_temp_name(name: &[u8]) -> bool {
    marked_with_id(name, TEMP_MARKER.as_bytes())
}

/// A hidden name ending in `marker` and a job id's digits.
fn marked_with_id(name: &[u8], marker: &[u8]) -> bool {
    if !name.starts_with(b".") || name.len() < marker.len() {
        return false;
    }
    // The marker is followed only by the job id's digits.
    (0..=name.len() - marker.len()).rev().any(|i| {
        let digits = &name[i + marker.len()..];
        name[i..].starts_with(marker) && !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
    })
}

/// True when `path` has one of [`VIDEO_EXTENSIONS`], in any case.
pub fn is_video_file(path: &Path) -> bool {
    path.extension().map(OsStrExt::as_bytes).is_some_and(|ext| {
        VIDEO_EXTENSIONS
            .iter()
            .any(|v| ext.eq_ignore_ascii_case(v.as_bytes()))
    })
}

fn ends_with_ignore_case(haystack: &[u8], suffix: &[u8]) -> bool {
    haystack.len() >= suffix.len()
        && haystack[haystack.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

#[cfg(test)]
mod tests {
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
    fn video_extensions() {
        for yes in ["a.mkv", "b.MP4", "c.m2ts", "d.Mpg", "/x/y.webm"] {
            assert!(is_video_file(Path::new(yes)), "{yes}");
        }
        for no in ["a.srt", "b.nfo", "mkv", "c.mkv.part", ".mkv"] {
            assert!(!is_video_file(Path::new(no)), "{no}");
        }
    }
}
