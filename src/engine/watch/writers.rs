//! Which files a process has open for writing, as far as this machine can see: each process's
//! `/proc/<pid>/fd` links with the access mode from `fdinfo`. Writers in another container's
//! process namespace or on another machine (an NFS client) are not seen; for those the settle
//! time is the only guard. Processes we may not inspect are skipped.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Access mode bits of the `flags:` line (octal) in `fdinfo`.
const O_ACCMODE: u32 = 0o3;
const O_RDONLY: u32 = 0;

/// Those of `paths` that some visible process has open for writing.
pub fn open_for_writing(paths: &[PathBuf]) -> HashSet<PathBuf> {
    let wanted: HashSet<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let mut found = HashSet::new();
    if wanted.is_empty() {
        return found;
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return found;
    };
    for proc in procs.flatten() {
        let name = proc.file_name();
        if !name.as_encoded_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            if !wanted.contains(target.as_path()) || found.contains(&target) {
                continue;
            }
            let info = proc.path().join("fdinfo").join(fd.file_name());
            if std::fs::read_to_string(info)
                .ok()
                .and_then(|text| flags(&text))
                .is_some_and(|f| f & O_ACCMODE != O_RDONLY)
            {
                found.insert(target);
            }
        }
    }
    found
}

/// The `flags:` value of an `fdinfo` text.
fn flags(fdinfo: &str) -> Option<u32> {
    let line = fdinfo.lines().find(|l| l.starts_with("flags:"))?;
    u32::from_str_radix(line["flags:".len()..].trim(), 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn parses_flags() {
        assert_eq!(
            flags("pos:\t0\nflags:\t0100002\nmnt_id:\t1\n"),
            Some(0o100002)
        );
        assert_eq!(flags("pos: 0"), None);
    }

    #[test]
    fn sees_our_own_writer_and_not_a_reader() {
        let dir = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(dir.path()).unwrap();
        let (w, r) = (dir.join("w.mkv"), dir.join("r.mkv"));
        let mut writer = std::fs::File::create(&w).unwrap();
        writer.write_all(b"x").unwrap();
        std::fs::write(&r, b"y").unwrap();
        let _reader = std::fs::File::open(&r).unwrap();
        let open = open_for_writing(&[w.clone(), r.clone()]);
        assert!(open.contains(&w) && !open.contains(&r), "{open:?}");
        drop(writer);
        assert!(open_for_writing(&[w]).is_empty());
    }
}
