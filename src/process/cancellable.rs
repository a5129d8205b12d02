//! A long-running child (an encoder) that a `CancellationToken` can kill at any moment — even
//! while it is stopped with SIGSTOP or silent, when nothing is reading its output. A watcher
//! thread sleeps on the token and sends SIGKILL; `wait` stops the watcher *before* reaping, so
//! a late cancel can never signal a pid that was already reaped and reused. Dropping an
//! unwaited child kills and reaps it, so no zombie or orphan is left behind.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};

use tokio_util::sync::CancellationToken;

use super::{Priority, kill, prepare};

/// How a cancellable child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub status: ExitStatus,
    /// The token was cancelled while the child ran (it was killed, or finished just then).
    pub cancelled: bool,
}

/// A spawned child watched by a cancellation token. Stdin and stdout are closed; stderr is
/// piped for the caller to read.
pub struct CancellableChild {
    child: Child,
    cancel: CancellationToken,
    stop_watcher: CancellationToken,
    watcher: Option<JoinHandle<()>>,
    reaped: bool,
}

/// Spawn `cmd` (after [`prepare`]) and kill it as soon as `cancel` fires.
///
/// Call this from a thread that outlives the child: the parent-death signal set by `prepare`
/// fires when the spawning thread exits.
pub fn spawn_cancellable(
    mut cmd: Command,
    priority: Priority,
    cancel: &CancellationToken,
) -> io::Result<CancellableChild> {
    prepare(&mut cmd, priority);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let pid = child.id();
    let stop_watcher = cancel.child_token();
    let watcher = {
        let stop = stop_watcher.clone();
        let cancel = cancel.clone();
        thread::Builder::new()
            .name(format!("kill-on-cancel-{pid}"))
            .spawn(move || {
                block_on(stop.cancelled());
                if cancel.is_cancelled() {
                    // The child is not reaped before this thread is joined, so `pid` is still
                    // ours; an already exited (zombie) child just ignores the signal.
                    let _ = kill(pid);
                }
            })
    };
    match watcher {
        Ok(handle) => Ok(CancellableChild {
            child,
            cancel: cancel.clone(),
            stop_watcher,
            watcher: Some(handle),
            reaped: false,
        }),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

impl CancellableChild {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The read end of the child's stderr (once).
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// Wait for the child to exit and reap it. Read stderr to the end first, or the child can
    /// block on a full pipe.
    pub fn wait(mut self) -> io::Result<Exit> {
        self.stop_watcher_thread();
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(Exit {
            status,
            cancelled: self.cancel.is_cancelled(),
        })
    }

    fn stop_watcher_thread(&mut self) {
        self.stop_watcher.cancel();
        if let Some(handle) = self.watcher.take() {
            // The watcher only sends a signal; a panic there cannot leave state to repair.
            let _ = handle.join();
        }
    }
}

impl Drop for CancellableChild {
    fn drop(&mut self) {
        if !self.reaped {
            self.stop_watcher_thread();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Drive one future to completion on the current thread, parking between polls. Enough for
/// waiting on a `CancellationToken` without a tokio runtime on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::path::Path;
    use std::time::{Duration, Instant};

    fn sleeper() -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", "echo started >&2; exec sleep 30"]);
        cmd
    }

    #[test]
    fn cancel_kills_even_a_stopped_child() {
        let cancel = CancellationToken::new();
        let mut child = spawn_cancellable(sleeper(), Priority::Normal, &cancel).unwrap();
        let pid = child.pid();
        let mut stderr = child.take_stderr().unwrap();
        let mut first = [0u8; 8];
        stderr.read_exact(&mut first).unwrap();
        super::super::suspend(pid).unwrap();
        let started = Instant::now();
        let canceller = {
            let cancel = cancel.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(200));
                cancel.cancel();
            })
        };
        let mut rest = Vec::new();
        stderr.read_to_end(&mut rest).unwrap();
        let exit = child.wait().unwrap();
        canceller.join().unwrap();
        assert!(exit.cancelled);
        assert!(!exit.status.success());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "child must be reaped"
        );
    }

    #[test]
    fn normal_exit_is_not_cancelled() {
        let cancel = CancellationToken::new();
        let mut cmd = Command::new("/bin/true");
        cmd.arg("x");
        let child = spawn_cancellable(cmd, Priority::Background, &cancel).unwrap();
        let exit = child.wait().unwrap();
        assert!(exit.status.success());
        assert!(!exit.cancelled);
        // Cancelling afterwards is harmless: the watcher is gone.
        cancel.cancel();
    }

    #[test]
    fn dropping_kills_and_reaps() {
        let cancel = CancellationToken::new();
        let child = spawn_cancellable(sleeper(), Priority::Normal, &cancel).unwrap();
        let pid = child.pid();
        drop(child);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}
