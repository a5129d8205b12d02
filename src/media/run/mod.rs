//! Runs one ffmpeg encode to the end, blocking (call it from `spawn_blocking`). The command is
//! built with ffmpeg-sidecar's `FfmpegCommand` (which adds `-loglevel level+info`) and spawned
//! through `process::spawn_cancellable`, so a cancel kills ffmpeg even while it is paused with
//! SIGSTOP. Stderr is parsed on this thread with sidecar's `FfmpegLogParser` rather than its
//! `FfmpegIterator`: the iterator can block forever when its parser gives up before the output
//! section (it keeps its own channel sender until `LogEOF`, which then never comes) and it
//! emits a spurious "No streams found" error for file outputs. Reading directly has neither
//! problem and needs no rendezvous channel.

mod stderr;

use std::ffi::OsString;
use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use ffmpeg_sidecar::command::FfmpegCommand;
use tokio_util::sync::CancellationToken;

use crate::model::Explanation;
use crate::process::{self, Priority};

use super::progress::Progress;
pub use stderr::{MAX_LOG_EVENTS, Pumped, STDERR_TAIL_LINES, pump_stderr};

/// How to run ffmpeg.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub ffmpeg: PathBuf,
    pub priority: Priority,
    /// Input duration in seconds for percent/ETA; 0 = take it from ffmpeg's input banner.
    pub duration: f64,
    /// An open descriptor ffmpeg inherits (the source, read as `/proc/self/fd/N`; see
    /// `process::pass_fd`).
    pub pass_fd: Option<std::os::fd::RawFd>,
}

/// Something that happened during the run, in order. `Started` always comes first.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    Started {
        pid: u32,
    },
    /// Throttled to [`PROGRESS_INTERVAL`].
    Progress(Progress),
    /// A stderr line at warning level or above.
    Log(String),
}

/// A successful run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub wall_seconds: f64,
    pub stderr_tail: Vec<String>,
}

/// Why a run did not produce an output.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the encode was cancelled")]
    Cancelled,
    #[error("could not start ffmpeg: {0}")]
    Spawn(#[source] io::Error),
    #[error("ffmpeg failed (exit code {exit_code:?}, signal {signal:?})")]
    Failed {
        exit_code: Option<i32>,
        /// The signal that killed it, when it did not exit by itself (SIGKILL from the OOM
        /// killer and a crash look alike in the exit code, not here).
        signal: Option<i32>,
        stderr_tail: Vec<String>,
    },
}

impl RunError {
    /// Code "cancelled" or "encoder_failed", with ffmpeg's last words in the detail.
    pub fn explanation(&self) -> Explanation {
        match self {
            RunError::Cancelled => Explanation::new(
                "cancelled",
                "The encode was cancelled.",
                "ffmpeg was stopped on request before it finished; the partial output is discarded.",
            ),
            RunError::Spawn(e) => Explanation::new(
                "encoder_failed",
                "ffmpeg could not be started.",
                format!(
                    "Starting ffmpeg failed: {e}. Check that ffmpeg is installed and the configured path is right."
                ),
            ),
            RunError::Failed {
                exit_code,
                signal,
                stderr_tail,
            } => {
                let how = match (exit_code, signal) {
                    (Some(c), _) => format!("exited with code {c}"),
                    (None, Some(s)) => format!("was killed by signal {s}"),
                    (None, None) => "was killed by a signal".to_string(),
                };
                // ffmpeg's own words stay in `stderr_tail`, out of the sentence a person reads.
                let detail =
                    format!("ffmpeg {how} before finishing the output; the source is untouched.");
                let mut e =
                    Explanation::new("encoder_failed", "ffmpeg stopped with an error.", detail)
                        .with("stderr_tail", stderr_tail.clone());
                if let Some(c) = exit_code {
                    e = e.with("exit_code", *c);
                }
                if let Some(s) = signal {
                    e = e.with("signal", *s);
                }
                e
            }
        }
    }
}

/// Run ffmpeg with `args` (from `args::build_args`) until it exits or `cancel` fires.
pub fn run_ffmpeg(
    opts: &RunOptions,
    args: Vec<OsString>,
    cancel: &CancellationToken,
    on_event: &mut dyn FnMut(RunEvent),
) -> Result<RunSummary, RunError> {
    if cancel.is_cancelled() {
        return Err(RunError::Cancelled);
    }
    let started = Instant::now();
    let mut command = ffmpeg_command(opts, args);
    if let Some(fd) = opts.pass_fd {
        process::pass_fd(&mut command, fd);
    }
    let mut child =
        process::spawn_cancellable(command, opts.priority, cancel).map_err(RunError::Spawn)?;
    on_event(RunEvent::Started { pid: child.pid() });

    let pumped = match child.take_stderr() {
        Some(stderr) => pump_stderr(stderr, opts.duration, on_event),
        None => Pumped::default(),
    };
    let exit = child.wait().map_err(RunError::Spawn)?;
    if exit.cancelled {
        return Err(RunError::Cancelled);
    }
    let stderr_tail: Vec<String> = pumped.tail.into_iter().collect();
    if !exit.status.success() {
        use std::os::unix::process::ExitStatusExt;
        return Err(RunError::Failed {
            exit_code: exit.status.code(),
            signal: exit.status.signal(),
            stderr_tail,
        });
    }
    if let Some(last) = pumped.unsent_progress {
        on_event(RunEvent::Progress(last));
    }
    Ok(RunSummary {
        wall_seconds: started.elapsed().as_secs_f64(),
        stderr_tail,
    })
}

/// The ffmpeg command: sidecar's `-loglevel level+info` (its parser needs the level prefixes)
/// followed by `args`. Stdio is set by `process::spawn_cancellable`.
pub(crate) fn ffmpeg_command(opts: &RunOptions, args: Vec<OsString>) -> Command {
    let mut command = FfmpegCommand::new_with_path(&opts.ffmpeg);
    command.args(args);
    command.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_sidecar_loglevel_then_our_args() {
        let opts = RunOptions {
            ffmpeg: PathBuf::from("/usr/bin/ffmpeg"),
            priority: Priority::Normal,
            duration: 1.0,
            pass_fd: None,
        };
        let cmd = ffmpeg_command(&opts, vec!["-nostdin".into(), "-y".into(), "out".into()]);
        assert_eq!(cmd.get_program(), "/usr/bin/ffmpeg");
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args, ["-loglevel", "level+info", "-nostdin", "-y", "out"]);
    }

    #[test]
    fn failure_explanation_quotes_ffmpeg() {
        let killed = RunError::Failed {
            exit_code: None,
            signal: Some(9),
            stderr_tail: vec![],
        }
        .explanation();
        assert_eq!(killed.measured["signal"], 9);
        assert!(killed.detail.contains("killed by signal 9"));
        let e = RunError::Failed {
            exit_code: Some(1),
            signal: None,
            stderr_tail: vec!["[error] Unknown encoder 'libfoo'".into()],
        }
        .explanation();
        assert_eq!(e.code, "encoder_failed");
        assert!(e.detail.contains("exited with code 1"));
        assert!(
            !e.detail.contains("Unknown encoder"),
            "raw lines stay apart"
        );
        assert_eq!(
            e.measured["stderr_tail"][0],
            "[error] Unknown encoder 'libfoo'"
        );
        assert_eq!(RunError::Cancelled.explanation().code, "cancelled");
        let spawn = RunError::Spawn(io::Error::from(io::ErrorKind::NotFound)).explanation();
        assert_eq!(spawn.code, "encoder_failed");
    }
}
