//! Pure naming rules for the files we write: the output `<stem>.<suffix>.<ext>` (suffix
//! `alchemist` unless the profile sets another) beside the input or under the profile's
//! `output_root` at the input's path relative to its library folder, and a hidden temp file
//! beside the output (same directory, so the final rename is atomic on the output's
//! filesystem). Works on raw bytes, so non-UTF-8 names survive, and lets the scanner recognise
//! our own files ([`OwnOutputs`]: every profile's suffix and root) so they are never queued
//! again.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::model::JobId;

use super::streams::OutputContainer;

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
    input.with_file_name(output_name(input, container, DEFAULT_SUFFIX))
}

/// The suffix of outputs when the profile sets none.
pub const DEFAULT_SUFFIX: &str = "alchemist";

/// `<stem>.<suffix>.<ext>` (`<stem>.<ext>` for an empty suffix), shortened like
/// [`output_path`]'s.
fn output_name(input: &Path, container: OutputContainer, suffix: &str) -> OsString {
    let stem = input.file_stem().unwrap_or(OsStr::new("output"));
    let marker = if suffix.is_empty() {
        ".".to_string()
    } else {
        format!(".{suffix}.")
    };
    let mut name = fit(
        stem.as_bytes(),
        NAME_MAX - marker.len() - container.extension().len(),
    );
    name.push(marker);
    name.push(container.extension());
    name
}

/// Where a profile puts the output of `input`: beside it (`root` `None`) as
/// `<stem>.<suffix>.<ext>`, or under `root` at `input`'s folder relative to `library` (the
/// library folder holding it; without one, directly in `root`), mirroring the library's
/// layout. Never the input's own path: a suffix is required beside the input, and a root
/// never overlaps a library folder (`profiles::OutputLocation`).
pub fn output_path_for(
    input: &Path,
    container: OutputContainer,
    suffix: &str,
    root: Option<&Path>,
    library: Option<&Path>,
) -> PathBuf {
    let name = output_name(input, container, suffix);
    let Some(root) = root else {
        return input.with_file_name(name);
    };
    let relative_dir = library
        .and_then(|lib| input.strip_prefix(lib).ok())
        .and_then(Path::parent)
        .unwrap_or(Path::new(""));
    // Only plain names below the root (a relative path from `strip_prefix` has no `..`).
    let mut out = root.to_path_buf();
    for part in relative_dir.components() {
        if let std::path::Component::Normal(p) = part {
            out.push(p);
        }
    }
    out.join(name)
}

/// What marks our own outputs besides the default suffix: every profile's suffix and output
/// folder. Files under an output root and `*.<suffix>.mkv|mp4` are skipped by scans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnOutputs {
    pub suffixes: Vec<String>,
    pub roots: Vec<PathBuf>,
}

impl OwnOutputs {
    /// [`is_own_file`], also counting the profiles' suffixes and output roots.
    pub fn is_own(&self, path: &Path) -> bool {
        if is_own_file(path) || self.roots.iter().any(|r| path.starts_with(r)) {
            return true;
        }
        let Some(name) = path.file_name().map(OsStrExt::as_bytes) else {
            return false;
        };
        self.suffixes
            .iter()
            .filter(|s| !s.is_empty())
            .any(|s| has_output_suffix(name, s))
    }
}

fn has_output_suffix(name: &[u8], suffix: &str) -> bool {
    OUTPUT_CONTAINERS.iter().any(|c| {
        let ending = format!(".{suffix}.{}", c.extension());
        ends_with_ignore_case(name, ending.as_bytes())
    })
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
    has_output_suffix(name, DEFAULT_SUFFIX) || is_temp_name(name)
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
}
