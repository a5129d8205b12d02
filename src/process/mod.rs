//! The one place in the program that spawns, signals and reaps child processes (ffmpeg and
//! ffprobe). Everything else asks this module: `prepare` makes a `Command` safe to run on an
//! appliance (dies with the server, optionally runs at idle CPU and I/O priority), `output` runs
//! a short command with a hard timeout, `spawn_cancellable` runs an encoder that a
//! cancellation token can kill at any time, and `suspend`/`resume`/`kill` signal a running
//! encoder by pid. `free_bytes` asks the kernel for free disk space. All `unsafe` for system
//! calls lives here, one `// SAFETY:` line per block.

mod cancellable;
mod lines;

pub use cancellable::{CancellableChild, Exit, spawn_cancellable};
pub use lines::{LinesExit, run_lines};

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// How much of the machine a child may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Priority {
    /// Inherit the server's scheduling.
    #[default]
    Normal,
    /// nice 19 and the idle I/O class: the NAS keeps serving files while we encode.
    Background,
}

/// Lowest CPU priority a process can ask for without privileges.
const BACKGROUND_NICE: libc::c_int = 19;
/// `ioprio_set` constants from linux/ioprio.h (not exported by the libc crate).
const IOPRIO_WHO_PROCESS: libc::c_int = 1;
const IOPRIO_CLASS_IDLE: libc::c_int = 3;
const IOPRIO_CLASS_SHIFT: libc::c_int = 13;

/// Configure `cmd` before spawning: the child gets SIGKILL when the thread that spawned it
/// dies (so encoders never outlive the server), and `Background` lowers its CPU and I/O
/// priority. Runs between fork and exec, so only async-signal-safe syscalls are used.
///
/// Note: Linux delivers the parent-death signal when the *spawning thread* exits, so spawn
/// long-running children from a thread that lives until the child is reaped (as `run_ffmpeg`
/// does).
pub fn prepare(cmd: &mut Command, priority: Priority) {
    let parent = std::process::id();
    // SAFETY: the closure runs in the forked child before exec and only calls prctl, getppid,
    // setpriority and the ioprio_set syscall, all async-signal-safe; it allocates nothing
    // (io::Error::last_os_error only reads errno).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl; then nobody would kill us.
            if libc::getppid() as u32 != parent {
                return Err(io::Error::other("parent exited before exec"));
            }
            if priority == Priority::Background {
                if libc::setpriority(libc::PRIO_PROCESS, 0, BACKGROUND_NICE) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // Best effort: an I/O scheduler without priority classes ignores this, and
                // encoding at normal I/O priority is better than not encoding at all.
                let _ = libc::syscall(
                    libc::SYS_ioprio_set,
                    IOPRIO_WHO_PROCESS,
                    0,
                    IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT,
                );
            }
            Ok(())
        });
    }
}

/// Let the child inherit the parent's open descriptor `fd` under the same number, so it can
/// read `/proc/self/fd/<fd>`: the very file the parent opened and checked, whatever happens to its
/// path meanwhile. Only this child gets it: the close-on-exec flag is cleared in the child
/// alone, so concurrent spawns do not inherit it. The caller keeps `fd` open until the child
/// has been spawned.
pub fn pass_fd(cmd: &mut Command, fd: std::os::fd::RawFd) {
    // SAFETY: the closure runs in the forked child before exec and only calls fcntl(2), which
    // is async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The path under which a child reads a descriptor passed with [`pass_fd`]. `/proc/self/fd`,
/// not `/dev/fd`: the appliance's busybox init mounts /proc but makes no `/dev/fd` link.
pub fn fd_path(fd: std::os::fd::RawFd) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/proc/self/fd/{fd}"))
}

/// Send `signal` to `pid`. Pids are positive; 0 or values above `i32::MAX` would address a
/// process group or be invalid, so they are refused instead of sent.
fn signal(pid: u32, signal: rustix::process::Signal) -> io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "invalid pid"))?;
    Ok(rustix::process::kill_process(pid, signal)?)
}

/// Pause a process (SIGSTOP). It keeps its memory and open files and resumes where it was.
pub fn suspend(pid: u32) -> io::Result<()> {
    signal(pid, rustix::process::Signal::STOP)
}

/// Continue a process paused by [`suspend`] (SIGCONT).
pub fn resume(pid: u32) -> io::Result<()> {
    signal(pid, rustix::process::Signal::CONT)
}

/// Kill a process (SIGKILL); works on stopped processes too. The caller still reaps it.
pub fn kill(pid: u32) -> io::Result<()> {
    signal(pid, rustix::process::Signal::KILL)
}

/// Run `program args…` to completion at normal priority, capturing stdout and stderr.
/// The child is killed when `timeout` passes (error kind `TimedOut`) or when the returned
/// future is dropped.
pub async fn output(program: &Path, args: &[OsString], timeout: Duration) -> io::Result<Output> {
    let mut std_cmd = Command::new(program);
    std_cmd
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    prepare(&mut std_cmd, Priority::Normal);
    let mut cmd = tokio::process::Command::from(std_cmd);
    cmd.kill_on_drop(true);
    let child = cmd.spawn()?;
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(result) => result,
        // Dropping the wait future drops the child, and kill_on_drop kills it.
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{} did not finish within {} s",
                program.display(),
                timeout.as_secs_f64()
            ),
        )),
    }
}

/// Raise this process's soft limit of open files to its hard limit (a NAS serving many
/// clients needs more than the usual 1,024) and return the limit now in force.
pub fn raise_fd_limit() -> io::Result<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum
        && limit.current.is_some_and(|soft| soft < hard)
    {
        limit.current = Some(hard);
        setrlimit(Resource::Nofile, limit).map_err(io::Error::from)?;
    }
    Ok(limit.current.unwrap_or(u64::MAX))
}

/// Bytes available to this (unprivileged-equivalent) process on the filesystem holding `path`.
pub fn free_bytes(path: &std::path::Path) -> io::Result<u64> {
    Ok(disk_space(path)?.free)
}

/// Size and room of the filesystem holding a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub total: u64,
    /// Available to this (unprivileged-equivalent) process.
    pub free: u64,
}

/// The filesystem holding `path`: its size and the bytes this process may still use.
pub fn disk_space(path: &std::path::Path) -> io::Result<DiskSpace> {
    let st = rustix::fs::statvfs(path)?;
    Ok(DiskSpace {
        total: st.f_blocks * st.f_frsize,
        free: st.f_bavail * st.f_frsize,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    async fn output_captures_stdout_and_exit_status() {
        let out = output(
            Path::new("/bin/sh"),
            &["-c".into(), "echo hello; echo oops >&2; exit 3".into()],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(out.stdout, b"hello\n");
        assert_eq!(out.stderr, b"oops\n");
        assert_eq!(out.status.code(), Some(3));
    }

    #[tokio::test]
    async fn output_times_out_and_kills() {
        let started = Instant::now();
        let err = output(
            Path::new("/bin/sleep"),
            &["30".into()],
            Duration::from_millis(200),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn missing_program_is_an_error() {
        let err = output(
            Path::new("/nonexistent/ffprobe"),
            &[],
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    fn nice_of(pid: u32) -> i64 {
        // Field 19 of /proc/<pid>/stat is the nice value; field 2 may contain spaces.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        after.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn background_priority_sets_nice_and_signals_work() {
        let mut cmd = Command::new("/bin/sleep");
        cmd.arg("30");
        prepare(&mut cmd, Priority::Background);
        let mut child = cmd.spawn().unwrap();
        let pid = child.id();
        assert_eq!(nice_of(pid), 19);
        suspend(pid).unwrap();
        resume(pid).unwrap();
        suspend(pid).unwrap();
        // SIGKILL must work on a stopped process.
        kill(pid).unwrap();
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn normal_priority_keeps_nice() {
        let mut cmd = Command::new("/bin/sleep");
        cmd.arg("30");
        prepare(&mut cmd, Priority::Normal);
        let mut child = cmd.spawn().unwrap();
        let ours = nice_of(std::process::id());
        assert_eq!(nice_of(child.id()), ours);
        kill(child.id()).unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn invalid_pids_are_refused() {
        assert_eq!(kill(0).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            suspend(u32::MAX).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
