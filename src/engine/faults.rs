//! Classifying what went wrong around an encode, from measurements rather than ffmpeg's text:
//! the source's identity (size, mtime, inode) before and after, and the free space left where
//! the temp file lives. Pure functions; the pipeline gathers the numbers. Also the free-space
//! guard run before an encode starts.

use std::os::unix::fs::MetadataExt;

use crate::model::Explanation;

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
pub fn source_check(before: FileId, now: Option<FileId>) -> Option<Explanation> {
    match now {
        None => Some(Explanation::new(
            "source_missing",
            "The source disappeared during the encode.",
            "The file was moved or deleted while it was being encoded; the output was \
             discarded.",
        )),
        Some(now) if now != before => Some(
            Explanation::new(
                "source_changed",
                "The source changed during the encode.",
                "The file's size, modification time or inode changed while it was being \
                 encoded (it is probably still being copied or written); the output was \
                 discarded. Scan again once the file is complete.",
            )
            .with("size_before", before.size)
            .with("size_after", now.size)
            .with("inode_before", before.inode)
            .with("inode_after", now.inode),
        ),
        Some(_) => None,
    }
}

/// The explanation for a failed encode, given what was measured after it.
pub fn classify_failure(
    ffmpeg: Explanation,
    before: FileId,
    now: Option<FileId>,
    free_bytes: Option<u64>,
) -> Explanation {
    if let Some(free) = free_bytes.filter(|f| *f < DISK_FULL_FREE_BYTES) {
        let mut e = Explanation::new(
            "disk_full",
            "The disk filled up during the encode.",
            format!(
                "Only {free} bytes were free beside the source when ffmpeg stopped; the partial \
                 output was removed and the source is untouched. {}",
                ffmpeg.detail
            ),
        )
        .with("free_bytes", free);
        for (k, v) in ffmpeg.measured {
            e.measured.entry(k).or_insert(v);
        }
        return e;
    }
    source_check(before, now).unwrap_or(ffmpeg)
}

/// The explanation when the source cannot be opened for reading.
pub fn open_failure(e: &std::io::Error) -> Explanation {
    let (code, summary) = match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            ("permission_denied", "The server may not read this file.")
        }
        std::io::ErrorKind::NotFound => ("source_missing", "The source file could not be found."),
        _ => ("source_unreadable", "The source file could not be opened."),
    };
    Explanation::new(
        code,
        summary,
        format!("Opening it for reading failed: {e}. Nothing was done; fix the file's permissions or ownership and restart the job."),
    )
    .with("os_error", e.raw_os_error().unwrap_or(0))
}

/// `Some` when there is clearly not room for the output: it may be as large as the source less
/// the minimum saving (bigger outputs are abandoned), plus a reserve.
pub fn space_guard(
    free_bytes: u64,
    source_size: u64,
    min_saving_percent: u8,
) -> Option<Explanation> {
    let keep = 100u64.saturating_sub(u64::from(min_saving_percent.min(100)));
    let need = source_size * keep / 100 + SPACE_RESERVE_BYTES;
    (free_bytes < need).then(|| {
        Explanation::new(
            "disk_full",
            "There is not enough free space to encode this file.",
            format!(
                "{free_bytes} bytes are free beside the source; the encode may need up to \
                 {need} bytes. Nothing was started and the source is untouched."
            ),
        )
        .with("free_bytes", free_bytes)
        .with("needed_bytes", need)
        .with("source_bytes", source_size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: FileId = FileId {
        size: 100,
        mtime_ns: 5,
        inode: 7,
    };

    fn ffmpeg() -> Explanation {
        Explanation::new("encoder_failed", "s", "ffmpeg said no").with("exit_code", 1)
    }

    #[test]
    fn unchanged_source_keeps_ffmpegs_explanation() {
        assert_eq!(
            classify_failure(ffmpeg(), ID, Some(ID), Some(1 << 30)).code,
            "encoder_failed"
        );
        assert_eq!(
            classify_failure(ffmpeg(), ID, Some(ID), None).code,
            "encoder_failed"
        );
    }

    #[test]
    fn full_disk_wins_and_keeps_ffmpegs_numbers() {
        let e = classify_failure(ffmpeg(), ID, Some(ID), Some(4096));
        assert_eq!(e.code, "disk_full");
        assert_eq!(e.measured["free_bytes"], 4096);
        assert_eq!(e.measured["exit_code"], 1);
    }

    #[test]
    fn vanished_and_changed_sources() {
        assert_eq!(
            classify_failure(ffmpeg(), ID, None, None).code,
            "source_missing"
        );
        for changed in [
            FileId { size: 101, ..ID },
            FileId { mtime_ns: 6, ..ID },
            FileId { inode: 8, ..ID },
        ] {
            assert_eq!(
                classify_failure(ffmpeg(), ID, Some(changed), None).code,
                "source_changed"
            );
            assert!(source_check(ID, Some(changed)).is_some());
        }
        assert!(source_check(ID, Some(ID)).is_none());
    }

    #[test]
    fn open_failures_are_told_apart() {
        let denied = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(open_failure(&denied).code, "permission_denied");
        assert_eq!(open_failure(&denied).measured["os_error"], libc::EACCES);
        let gone = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(open_failure(&gone).code, "source_missing");
        let io = std::io::Error::from_raw_os_error(libc::EIO);
        assert_eq!(open_failure(&io).code, "source_unreadable");
    }

    #[test]
    fn space_guard_uses_the_minimum_saving() {
        let mb = 1024 * 1024;
        assert!(
            space_guard(10 * mb, 10 * mb, 10).is_none(),
            "9 + 1 MiB fits in 10"
        );
        let e = space_guard(9 * mb, 10 * mb, 10).unwrap();
        assert_eq!(e.code, "disk_full");
        assert_eq!(e.measured["needed_bytes"], 10 * mb);
    }
}
