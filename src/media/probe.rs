//! Probes one file: the native header parser first (`super::native`, in-process, for
//! Matroska/WebM and MP4/MOV), and ffprobe (through `crate::process`, with a timeout, its JSON
//! normalized) for every file the native parser declines. Both give the same [`MediaInfo`],
//! whose `source` says which one answered. Failures keep ffprobe's own words: the last lines of its stderr end up in the
//! [`Explanation`] the user sees, so "Invalid data found when processing input" is not
//! reduced to "probe failed".

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::time::Duration;

use crate::model::Explanation;
use crate::process;

use super::MediaInfo;
use super::native::{self, Decline};
pub use super::normalize::normalize;

/// A healthy ffprobe answers in well under a second; a hung network mount must not block a
/// worker forever.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// How many stderr lines to keep for the explanation.
const STDERR_TAIL_LINES: usize = 20;

/// Why a file could not be probed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("could not read the file: {0}")]
    Io(#[source] io::Error),
    #[error("could not run ffprobe: {0}")]
    Spawn(#[source] io::Error),
    #[error("ffprobe did not finish within {} s", .0.as_secs())]
    TimedOut(Duration),
    #[error("ffprobe could not read the file (exit code {exit_code:?})")]
    Failed {
        exit_code: Option<i32>,
        stderr_tail: Vec<String>,
    },
    #[error("ffprobe printed invalid JSON: {0}")]
    InvalidJson(String),
    #[error("ffprobe found no container format")]
    NoFormat,
}

impl ProbeError {
    /// The user-facing explanation (code `probe_failed`).
    pub fn explanation(&self) -> Explanation {
        // ffprobe's own words (memory addresses, parser names) stay in `stderr_tail`, out of
        // the sentence a person reads.
        let (summary, detail, exit_code) = match self {
            ProbeError::Io(e) => (
                "The file could not be read.",
                format!("Reading the file failed before probing: {e}."),
                None,
            ),
            ProbeError::Spawn(e) => (
                "ffprobe could not be started.",
                format!(
                    "Starting ffprobe failed: {e}. Check that ffprobe is installed and the configured path is right."
                ),
                None,
            ),
            ProbeError::TimedOut(t) => (
                "ffprobe took too long to read the file.",
                format!(
                    "ffprobe was stopped after {} seconds without an answer; the file or its storage may be unresponsive.",
                    t.as_secs()
                ),
                None,
            ),
            ProbeError::Failed {
                exit_code,
                stderr_tail: _,
            } => (
                "It could not be read as a video: the file is probably damaged or not a media file.",
                format!(
                    "ffprobe, the reader, stopped ({}). The file was not changed and nothing \
                     was written. Another attempt on the \
                     same file fails the same way: replace it with a good copy, then try again.",
                    exit_code.map_or_else(
                        || "killed by a signal".to_string(),
                        |c| format!("exit code {c}")
                    )
                ),
                *exit_code,
            ),
            ProbeError::InvalidJson(e) => (
                "ffprobe's answer could not be understood.",
                format!("ffprobe printed output that is not valid JSON: {e}."),
                None,
            ),
            ProbeError::NoFormat => (
                "ffprobe did not recognise a container format in this file.",
                "ffprobe answered, but without a container format, so the file cannot be analysed."
                    .to_string(),
                None,
            ),
        };
        let mut explanation = Explanation::new("probe_failed", summary, detail);
        if let Some(code) = exit_code {
            explanation = explanation.with("exit_code", code);
        }
        if let Some(tail) = self.stderr_tail() {
            explanation = explanation.with("stderr_tail", tail.to_vec());
        }
        explanation
    }

    fn stderr_tail(&self) -> Option<&[String]> {
        match self {
            ProbeError::Failed { stderr_tail, .. } => Some(stderr_tail),
            _ => None,
        }
    }
}

/// The ffprobe arguments for `file`. The `file:` prefix stops ffprobe from reading a leading
/// `-` as an option or a `name:` prefix as a protocol.
pub fn probe_args(file: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "-i",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    args.push(super::args::file_url(file));
    args
}

/// Probe `file`: natively when the headers say everything the planner needs, else with the
/// ffprobe binary at `ffprobe`.
pub async fn probe(ffprobe: &Path, file: &Path) -> Result<MediaInfo, ProbeError> {
    match probe_native(file).await {
        Ok(info) => Ok(info),
        Err(decline) => {
            tracing::debug!(file = %file.display(), reason = decline.code(), %decline, "native probe declined");
            probe_ffprobe(ffprobe, file).await
        }
    }
}

/// The native parser alone, off the async threads (a read on a stalled network mount must
/// not block them), bounded by the same timeout as ffprobe.
pub async fn probe_native(file: &Path) -> Result<MediaInfo, Decline> {
    let owned = file.to_path_buf();
    let task = tokio::task::spawn_blocking(move || native::probe(&owned));
    match tokio::time::timeout(PROBE_TIMEOUT, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(Decline::Io(format!("native probe task failed: {join}"))),
        Err(_) => Err(Decline::Io("native probe timed out".into())),
    }
}

/// Probe `file` with the ffprobe binary at `ffprobe`.
pub async fn probe_ffprobe(ffprobe: &Path, file: &Path) -> Result<MediaInfo, ProbeError> {
    let size = tokio::fs::metadata(file)
        .await
        .map_err(ProbeError::Io)?
        .len();
    let out = process::output(ffprobe, &probe_args(file), PROBE_TIMEOUT)
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::TimedOut => ProbeError::TimedOut(PROBE_TIMEOUT),
            _ => ProbeError::Spawn(e),
        })?;
    if !out.status.success() {
        return Err(ProbeError::Failed {
            exit_code: out.status.code(),
            stderr_tail: tail_lines(&out.stderr, STDERR_TAIL_LINES),
        });
    }
    normalize(&out.stdout, size)
}

/// The last `n` non-empty lines of a process's output, decoded lossily.
pub fn tail_lines(bytes: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .split(['\n', '\r'])
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORRUPT_STDERR: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ffprobe/corrupt_stderr.txt"
    ));

    #[test]
    fn failed_probe_explains_with_stderr_tail() {
        let err = ProbeError::Failed {
            exit_code: Some(1),
            stderr_tail: tail_lines(CORRUPT_STDERR, STDERR_TAIL_LINES),
        };
        let e = err.explanation();
        assert_eq!(e.code, "probe_failed");
        assert!(e.summary.contains("could not be read"), "{}", e.summary);
        assert!(e.detail.contains("exit code 1"), "{}", e.detail);
        // ffprobe's raw lines are kept apart from the sentence a person reads.
        assert!(!e.detail.contains("Invalid data found"), "{}", e.detail);
        assert!(
            e.measured["stderr_tail"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l.as_str().unwrap().contains("Invalid data found")),
            "{:?}",
            e.measured
        );
        assert_eq!(e.measured["exit_code"], 1);
    }

    #[test]
    fn every_error_has_an_explanation() {
        let errors = [
            ProbeError::Io(io::Error::from(io::ErrorKind::NotFound)),
            ProbeError::Spawn(io::Error::from(io::ErrorKind::NotFound)),
            ProbeError::TimedOut(PROBE_TIMEOUT),
            ProbeError::Failed {
                exit_code: None,
                stderr_tail: vec![],
            },
            ProbeError::InvalidJson("eof".into()),
            ProbeError::NoFormat,
        ];
        for err in errors {
            let e = err.explanation();
            assert_eq!(e.code, "probe_failed");
            assert!(e.summary.ends_with('.') && e.detail.ends_with('.'), "{e:?}");
        }
    }

    #[test]
    fn tail_keeps_last_non_empty_lines() {
        assert_eq!(tail_lines(b"a\n\nb\r\nc\n", 2), vec!["b", "c"]);
        assert_eq!(tail_lines(b"", 2), Vec::<String>::new());
        assert_eq!(tail_lines(b"\xffx\n", 5), vec!["\u{fffd}x"]);
    }

    #[test]
    fn args_use_file_protocol() {
        let args = probe_args(Path::new("-odd:name.mkv"));
        assert_eq!(args.last().unwrap(), "file:-odd:name.mkv");
        assert_eq!(args[0], "-v");
    }
}
