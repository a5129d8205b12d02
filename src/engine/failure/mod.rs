//! Why a job's run failed: one [`Failure`] variant per cause, each with a stable `code()` (the
//! wire codes the API, the pages and statistics share), `is_transient()` (whether another
//! attempt may get past it; the retrier's only input) and `explain()` for the user, the way
//! `media::reasons` does for skips. Causes are classified from measurements, never from
//! ffmpeg's text: the source's identity (size, mtime, inode) before and after, and the free
//! space left where the temp file lives. Also the free-space guard run before an encode.

mod measure;

use std::io;

use crate::media::probe::ProbeError;
use crate::media::run::RunError;
use crate::media::verify::VerifyError;
use crate::model::Explanation;

pub use measure::{FileId, classify, source_check, space_guard};

/// Signals that kill an ffmpeg from outside rather than from a bug on this input: SIGKILL is
/// what the kernel's OOM killer sends, SIGTERM an operator or a service manager. A crash
/// (SIGSEGV, SIGABRT, SIGBUS...) would repeat on the same input, so it is permanent.
const OUTSIDE_SIGNALS: [i32; 2] = [libc::SIGKILL, libc::SIGTERM];

/// Why a run failed.
#[derive(Debug)]
pub enum Failure {
    /// The path now names a directory or special file.
    NotAFile,
    /// The file has no content (0 bytes): nothing to probe or encode.
    Empty,
    /// The source could not be looked at when the run began.
    SourceGone(io::Error),
    /// The source could not be opened for reading.
    Unopenable(io::Error),
    /// The source disappeared while it was encoded.
    SourceVanished,
    /// The source is another version of the file than the one encoded.
    SourceChanged {
        before: FileId,
        after: FileId,
    },
    /// The path no longer leads to the file that was queued (a link, another file).
    SourceSwapped {
        why: String,
    },
    Probe(ProbeError),
    /// Clearly not room for the output before the encode started.
    NoRoom {
        free: u64,
        needed: u64,
        source: u64,
    },
    /// The disk filled while ffmpeg wrote: `cause` is how ffmpeg's failure looked.
    DiskFilled {
        free: u64,
        cause: Box<Failure>,
    },
    /// ffmpeg could not start, or stopped with an error or a signal.
    Encoder(RunError),
    /// A hardware encode made no progress for `seconds` and was killed (a GPU or driver hang
    /// would otherwise hold its slot forever).
    Stalled {
        seconds: u64,
        /// How far it had got, 0–100.
        percent: f64,
    },
    Verify(VerifyError),
    /// The output's path would be longer than the system allows (`PATH_MAX`); its name is
    /// always shortened to fit, so this is a folder path that is too long.
    NameTooLong {
        bytes: usize,
    },
    /// Creating the temp file (for a passing reason: space, a share's hiccup), or the fsync or
    /// rename of the verified output, failed.
    Promote(io::Error),
    /// The output's folder cannot take the output: a profile's `output_root` overlaps a
    /// library folder (added after the profile was saved) or leads elsewhere, the temp file
    /// cannot be created there, or the folder was moved or replaced during the encode.
    OutputLocation {
        why: String,
    },
    /// Our own bookkeeping failed (the store, an impossible plan).
    Internal {
        summary: &'static str,
        detail: String,
    },
}

/// A failure's code in a few words, for tables (an attempt's outcome); the code itself is for
/// support and the API. Unknown codes (from a newer release's store) read with spaces.
pub fn code_in_words(code: &str) -> String {
    match code {
        "not_a_file" => "not a file",
        "empty_file" => "empty file",
        "source_missing" => "file missing",
        "permission_denied" => "no permission to read",
        "source_unreadable" => "file unreadable",
        "source_changed" => "file changed meanwhile",
        "probe_failed" => "not readable as media",
        "disk_full" => "disk full",
        "encoder_failed" => "encoder error",
        "encoder_stalled" => "encoder stalled",
        "verify_failed" => "output failed its checks",
        "output_name_too_long" => "path too long",
        "promote_failed" => "output not saved",
        "output_location_invalid" => "output folder refused",
        "internal_error" => "internal error",
        other => return other.replace('_', " "),
    }
    .to_string()
}

impl Failure {
    /// The stable wire code.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::NotAFile => "not_a_file",
            Failure::Empty => "empty_file",
            Failure::SourceGone(_) | Failure::SourceVanished => "source_missing",
            Failure::Unopenable(e) => match e.kind() {
                io::ErrorKind::PermissionDenied => "permission_denied",
                io::ErrorKind::NotFound => "source_missing",
                _ => "source_unreadable",
            },
            Failure::SourceChanged { .. } | Failure::SourceSwapped { .. } => "source_changed",
            Failure::Probe(_) => "probe_failed",
            Failure::NoRoom { .. } | Failure::DiskFilled { .. } => "disk_full",
            Failure::Encoder(_) => "encoder_failed",
            Failure::Stalled { .. } => "encoder_stalled",
            Failure::Verify(_) => "verify_failed",
            Failure::NameTooLong { .. } => "output_name_too_long",
            Failure::Promote(e)
                if matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)) =>
            {
                "disk_full"
            }
            Failure::Promote(_) => "promote_failed",
            Failure::OutputLocation { .. } => "output_location_invalid",
            Failure::Internal { .. } => "internal_error",
        }
    }

    /// Whether another attempt may get past it: space may be freed, a copy in progress ends,
    /// an I/O hiccup passes, an ffmpeg killed from outside (OOM killer, an operator) may not be
    /// killed again. A broken, missing or unreadable file, a failed verification or an encoder
    /// error would fail the same way again, so a broken file cannot loop. A stalled encode is
    /// a hang of the hardware or its driver, which may pass.
    pub fn is_transient(&self) -> bool {
        match self {
            Failure::NoRoom { .. }
            | Failure::DiskFilled { .. }
            | Failure::SourceChanged { .. }
            | Failure::SourceSwapped { .. }
            | Failure::Promote(_)
            | Failure::Stalled { .. }
            | Failure::Internal { .. } => true,
            Failure::Encoder(RunError::Failed {
                signal: Some(signal),
                ..
            }) => OUTSIDE_SIGNALS.contains(signal),
            _ => false,
        }
    }

    /// What the user reads, with the measured numbers.
    pub fn explain(&self) -> Explanation {
        let code = self.code();
        match self {
            Failure::NotAFile => Explanation::new(
                code,
                "The source is not a regular file.",
                "The path now names a directory or special file; nothing was done.",
            ),
            Failure::Empty => Explanation::new(
                code,
                "The file is empty (0 bytes).",
                "There is nothing in it to encode. If it is still being copied, or a copy \
                 failed, it is looked at again when a scan finds it changed.",
            ),
            Failure::SourceGone(e) => Explanation::new(
                code,
                "The source file could not be found.",
                format!(
                    "Reading the file's metadata failed: {e}. It may have been moved or deleted."
                ),
            ),
            Failure::Unopenable(e) => {
                let summary = match code {
                    "permission_denied" => "The server may not read this file.",
                    "source_missing" => "The source file could not be found.",
                    _ => "The source file could not be opened.",
                };
                Explanation::new(
                    code,
                    summary,
                    format!("Opening it for reading failed: {e}. Nothing was done; fix the file's permissions or ownership and restart the job."),
                )
                .with("os_error", e.raw_os_error().unwrap_or(0))
            }
            Failure::SourceVanished => Explanation::new(
                code,
                "The source disappeared during the encode.",
                "The file was moved or deleted while it was being encoded; the output was \
                 discarded.",
            ),
            Failure::SourceChanged { before, after } => Explanation::new(
                code,
                "The source changed during the encode.",
                "The file's size, modification time or inode changed while it was being \
                 encoded (it is probably still being copied or written); the output was \
                 discarded. Scan again once the file is complete.",
            )
            .with("size_before", before.size)
            .with("size_after", after.size)
            .with("inode_before", before.inode)
            .with("inode_after", after.inode),
            Failure::SourceSwapped { why } => Explanation::new(
                code,
                "The source is not the file that was queued.",
                format!(
                    "Nothing was encoded: {why}. Scan again if the file was replaced on purpose."
                ),
            ),
            Failure::Probe(e) => e.explanation(),
            Failure::NoRoom {
                free,
                needed,
                source,
            } => Explanation::new(
                code,
                "There is not enough free space to encode this file.",
                format!(
                    "{free} bytes are free beside the source; the encode may need up to \
                     {needed} bytes. Nothing was started and the source is untouched."
                ),
            )
            .with("free_bytes", *free)
            .with("needed_bytes", *needed)
            .with("source_bytes", *source),
            Failure::DiskFilled { free, cause } => {
                let cause = cause.explain();
                let mut e = Explanation::new(
                    code,
                    "The disk filled up during the encode.",
                    format!(
                        "Only {free} bytes were free beside the source when ffmpeg stopped; the partial \
                         output was removed and the source is untouched. {}",
                        cause.detail
                    ),
                )
                .with("free_bytes", *free);
                for (k, v) in cause.measured {
                    e.measured.entry(k).or_insert(v);
                }
                e
            }
            Failure::Encoder(e) => e.explanation(),
            Failure::Stalled { seconds, percent } => Explanation::new(
                code,
                "The hardware encoder stopped making progress.",
                format!(
                    "ffmpeg neither advanced nor wrote anything for {seconds} s (at {percent:.0} %), \
                     as when a GPU or its driver hangs; it was killed and its partial output \
                     removed."
                ),
            )
            .with("stalled_seconds", *seconds)
            .with("percent", *percent),
            Failure::Verify(e) => e.explanation(),
            Failure::NameTooLong { bytes } => Explanation::new(
                code,
                "The output's path would be too long.",
                format!(
                    "Its path would be {bytes} bytes, more than the system's {} allow; nothing was \
                     encoded. Move the file to a folder with a shorter path.",
                    libc::PATH_MAX
                ),
            )
            .with("path_bytes", *bytes),
            Failure::Promote(e) => Explanation::new(
                code,
                "The output could not be written.",
                format!(
                    "Creating, syncing or renaming the output's temp file failed: {e}. The source \
                     is untouched."
                ),
            ),
            Failure::OutputLocation { why } => Explanation::new(
                code,
                "The output's folder cannot take the output.",
                format!("{why}. Nothing was put in place; the source is untouched."),
            ),
            Failure::Internal { summary, detail } => {
                Explanation::new(code, *summary, detail.clone())
            }
        }
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Failure {
        Failure::Internal {
            summary: "The job could not be recorded.",
            detail: format!("The store reported: {e}"),
        }
    }
}

#[cfg(test)]
mod tests;
