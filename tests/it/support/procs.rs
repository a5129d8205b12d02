//! Processes as `/proc` shows them: the ffmpeg an encode runs (found by an argument or a file
//! it holds open), its state letter and nice value, and whether it is gone.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Pids of running `ffmpeg` processes with an argument containing `needle`, or holding open a
/// file whose path starts with it.
pub fn ffmpeg_pids(needle: &Path) -> Vec<u32> {
    let needle = needle.as_os_str().as_bytes();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let mut args = cmdline.split(|b| *b == 0);
        let is_ffmpeg = args.next().is_some_and(|a0| {
            Path::new(OsStr::from_bytes(a0)).file_name() == Some("ffmpeg".as_ref())
        });
        if !is_ffmpeg {
            continue;
        }
        // The server hands ffmpeg its temp file as `/proc/<server>/fd/<n>`: the process
        // holds it open under its real name.
        let named = args.any(|a| a.windows(needle.len()).any(|w| w == needle));
        let holds = std::fs::read_dir(entry.path().join("fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|target| target.as_os_str().as_bytes().starts_with(needle));
        if named || holds {
            pids.push(pid);
        }
    }
    pids
}

/// Fields of `/proc/<pid>/stat` after the command name: [0] is the state letter.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    Some(after.split(' ').map(str::to_string).collect())
}

/// The state letter of a process (`R`, `S`, `T` stopped, `Z` zombie...), `None` when gone.
pub fn proc_state(pid: u32) -> Option<char> {
    stat_fields(pid)?.first()?.chars().next()
}

/// The nice value of a process.
pub fn proc_nice(pid: u32) -> Option<i64> {
    stat_fields(pid)?.get(16)?.parse().ok()
}

/// Gone, or a zombie nobody reaped yet: either way it runs no more.
pub fn is_dead(pid: u32) -> bool {
    matches!(proc_state(pid), None | Some('Z' | 'X'))
}

/// Stopped by SIGSTOP (state `T`).
pub fn is_stopped(pid: u32) -> bool {
    proc_state(pid) == Some('T')
}

/// Running or ready to (`R`, `S` sleeping, `D` in I/O): not stopped, not gone.
pub fn is_running(pid: u32) -> bool {
    matches!(proc_state(pid), Some('R' | 'S' | 'D'))
}
