//! Measurements a failure is classified from, never ffmpeg's text: the source's identity
//! (size, mtime, inode) before and after the encode, and the free space left where the temp
//! file lives. Also the free-space guard run before an encode starts. Pure.

use std::os::unix::fs::MetadataExt;

use super::Failure;

/// Below this much free space after a failed write, the failure is the disk being full.
pub const DISK_FULL_FREE_BYTES: u64 = 1024 * 1024;
/// Free space kept in reserve beyond the estimate (filesystem metadata, logs, the store).
pub const SPACE_RESERVE_BYTES: u64 = 1024 * 1024;

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
}

impl FileId {
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        FileId {
            size: meta.len(),
            mtime_ns: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            inode: meta.ino(),
        }
    }
}

/// `Some` when the source is gone or is no longer the file that was encoded.
pub fn source_check(before: FileId, now: Option<FileId>) -> Option<Failure> {
    match now {
        None => Some(Failure::SourceVanished),
        Some(after) if after != before => Some(Failure::SourceChanged { before, after }),
        Some(_) => None,
    }
}

/// What a failed encode was, given what was measured after it: a full disk first (it explains
/// a changed source too), then a changed source, else ffmpeg's own failure.
pub fn classify(
    ffmpeg: Failure,
    before: FileId,
    now: Option<FileId>,
    free: Option<u64>,
) -> Failure {
    if let Some(free) = free.filter(|f| *f < DISK_FULL_FREE_BYTES) {
        return Failure::DiskFilled {
            free,
            cause: Box::new(ffmpeg),
        };
    }
    source_check(before, now).unwrap_or(ffmpeg)
}

/// `Some` when there is clearly not room for the output: it may be as large as the source less
/// the minimum saving (bigger outputs are abandoned), plus a reserve.
pub fn space_guard(free_bytes: u64, source_size: u64, min_saving_percent: u8) -> Option<Failure> {
    let keep = 100u64.saturating_sub(u64::from(min_saving_percent.min(100)));
    let needed = source_size * keep / 100 + SPACE_RESERVE_BYTES;
    (free_bytes < needed).then_some(Failure::NoRoom {
        free: free_bytes,
        needed,
        source: source_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::run::RunError;

    const ID: FileId = FileId {
        size: 100,
        mtime_ns: 5,
        inode: 7,
    };

    fn ffmpeg(signal: Option<i32>) -> Failure {
        Failure::Encoder(RunError::Failed {
            exit_code: signal.is_none().then_some(1),
            signal,
            stderr_tail: vec!["ffmpeg said no".into()],
        })
    }

    #[test]
    fn unchanged_source_keeps_ffmpegs_failure() {
        let f = classify(ffmpeg(None), ID, Some(ID), Some(1 << 30));
        assert_eq!(f.code(), "encoder_failed");
        assert_eq!(
            classify(ffmpeg(None), ID, Some(ID), None).code(),
            "encoder_failed"
        );
    }

    #[test]
    fn full_disk_wins_and_keeps_ffmpegs_numbers() {
        let e = classify(ffmpeg(None), ID, Some(ID), Some(4096)).explain();
        assert_eq!(e.code, "disk_full");
        assert_eq!(e.measured["free_bytes"], 4096);
        assert_eq!(e.measured["exit_code"], 1);
    }

    #[test]
    fn vanished_and_changed_sources() {
        assert_eq!(
            classify(ffmpeg(None), ID, None, None).code(),
            "source_missing"
        );
        for changed in [
            FileId { size: 101, ..ID },
            FileId { mtime_ns: 6, ..ID },
            FileId { inode: 8, ..ID },
        ] {
            assert_eq!(
                classify(ffmpeg(None), ID, Some(changed), None).code(),
                "source_changed"
            );
            assert!(source_check(ID, Some(changed)).is_some());
        }
        assert!(source_check(ID, Some(ID)).is_none());
    }

    #[test]
    fn space_guard_uses_the_minimum_saving() {
        let mb = 1024 * 1024;
        assert!(
            space_guard(10 * mb, 10 * mb, 10).is_none(),
            "9 + 1 MiB fits in 10"
        );
        let e = space_guard(9 * mb, 10 * mb, 10).unwrap().explain();
        assert_eq!(e.code, "disk_full");
        assert_eq!(e.measured["needed_bytes"], 10 * mb);
    }
}
