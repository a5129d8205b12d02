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
#[path = "paths_tests.rs"]
mod tests;
