//! A short-lived tool whose progress comes as lines on its standard output (RAUC's
//! `rauc install` prints `  40% Copying image to rootfs.1`): each line is handed to the caller
//! as it arrives, standard error is kept for the failure message, and the child is killed when
//! the timeout passes. The child is run and read on a blocking thread that lives until it is
//! reaped (the parent-death signal of `prepare` is tied to the spawning thread).

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{Priority, kill, prepare};

/// Most of standard error kept for the caller (a failure message, not a log).
const STDERR_KEEP: u64 = 16 * 1024;

/// How a line-reporting child ended.
#[derive(Debug)]
pub struct LinesExit {
    pub status: ExitStatus,
    /// Standard error, at most `STDERR_KEEP` bytes of it, lossily decoded.
    pub stderr: String,
}

/// Run `program args…`, calling `on_line` with each line of standard output (without its end,
/// on a blocking thread), until it exits. Errors: it cannot be started, or it runs longer than
/// `timeout` (kind `TimedOut`; it is killed).
pub async fn run_lines(
    program: &Path,
    args: &[OsString],
    timeout: Duration,
    on_line: impl FnMut(&str) + Send + 'static,
) -> io::Result<LinesExit> {
    let program = program.to_path_buf();
    let args = args.to_vec();
    tokio::task::spawn_blocking(move || run_blocking(&program, &args, timeout, on_line))
        .await
        .map_err(|e| io::Error::other(format!("the reader thread failed: {e}")))?
}

fn run_blocking(
    program: &PathBuf,
    args: &[OsString],
    timeout: Duration,
    mut on_line: impl FnMut(&str),
) -> io::Result<LinesExit> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    prepare(&mut cmd, Priority::Normal);
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    // Standard error is read alongside, so a chatty child never blocks on a full pipe.
    let err_reader = std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut limited = stderr.take(STDERR_KEEP);
        let _ = limited.read_to_end(&mut kept);
        let _ = io::copy(&mut limited.into_inner(), &mut io::sink());
        String::from_utf8_lossy(&kept).into_owned()
    });
    // The watchdog kills the child at the deadline; it is stopped (and joined) before the
    // child is reaped, so it can never signal a pid that was reaped and reused.
    let (stop, stopped) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        matches!(
            stopped.recv_timeout(timeout),
            Err(mpsc::RecvTimeoutError::Timeout)
        ) && kill(pid).is_ok()
    });
    let mut read_error = None;
    for line in BufReader::new(stdout).lines() {
        match line {
            Ok(line) => on_line(&line),
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    let _ = stop.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    if read_error.is_some() {
        let _ = child.kill();
    }
    let status = child.wait()?;
    let stderr = err_reader.join().unwrap_or_default();
    if timed_out {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{} did not finish within {} s",
                program.display(),
                timeout.as_secs_f64()
            ),
        ));
    }
    match read_error {
        Some(e) => Err(e),
        None => Ok(LinesExit { status, stderr }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[tokio::test]
    async fn lines_arrive_in_order_and_stderr_is_kept() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let exit = run_lines(
            Path::new("/bin/sh"),
            &[
                "-c".into(),
                "echo ' 10% one'; echo oops >&2; echo ' 20% two'; exit 4".into(),
            ],
            Duration::from_secs(10),
            move |l| sink.lock().unwrap().push(l.to_string()),
        )
        .await
        .unwrap();
        assert_eq!(*seen.lock().unwrap(), [" 10% one", " 20% two"]);
        assert_eq!(exit.status.code(), Some(4));
        assert_eq!(exit.stderr, "oops\n");
    }

    #[tokio::test]
    async fn a_child_past_its_timeout_is_killed() {
        let err = run_lines(
            Path::new("/bin/sh"),
            &["-c".into(), "echo start; exec sleep 30".into()],
            Duration::from_millis(300),
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
