//! Tests of the failure causes: which are transient, their words, and the wire codes pinned.

use super::*;

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
fn open_failures_are_told_apart() {
    let open = |errno| Failure::Unopenable(io::Error::from_raw_os_error(errno));
    let denied = open(libc::EACCES).explain();
    assert_eq!(denied.code, "permission_denied");
    assert_eq!(denied.measured["os_error"], libc::EACCES);
    assert_eq!(open(libc::ENOENT).code(), "source_missing");
    assert_eq!(open(libc::EIO).code(), "source_unreadable");
}

#[test]
fn passing_faults_are_transient_and_broken_files_are_not() {
    let enospc = Failure::Promote(io::Error::from_raw_os_error(libc::ENOSPC));
    assert_eq!(enospc.code(), "disk_full");
    let transient = [
        space_guard(0, 10, 0).unwrap(),
        classify(ffmpeg(None), ID, Some(ID), Some(0)),
        Failure::SourceChanged {
            before: ID,
            after: FileId { size: 1, ..ID },
        },
        Failure::Promote(io::Error::from_raw_os_error(libc::EIO)),
        enospc,
        Failure::Internal {
            summary: "s",
            detail: "d".into(),
        },
        ffmpeg(Some(libc::SIGKILL)),
        ffmpeg(Some(libc::SIGTERM)),
        Failure::Stalled {
            seconds: 120,
            percent: 40.0,
        },
    ];
    for f in &transient {
        assert!(f.is_transient(), "{f:?}");
    }
    let permanent = [
        Failure::NotAFile,
        Failure::Empty,
        Failure::SourceVanished,
        Failure::SourceGone(io::Error::from_raw_os_error(libc::ENOENT)),
        Failure::Unopenable(io::Error::from_raw_os_error(libc::EACCES)),
        Failure::Probe(ProbeError::NoFormat),
        Failure::Verify(VerifyError::DecodeNotRun("x".into())),
        ffmpeg(None),
        ffmpeg(Some(libc::SIGSEGV)),
        ffmpeg(Some(libc::SIGABRT)),
        Failure::Encoder(RunError::Spawn(io::Error::from(io::ErrorKind::NotFound))),
    ];
    for f in &permanent {
        assert!(!f.is_transient(), "{f:?}");
    }
}

/// One failure of each code `wire_codes_are_unchanged` pins.
fn pinned() -> [Failure; 8] {
    [
        Failure::NotAFile,
        Failure::SourceVanished,
        Failure::Probe(ProbeError::NoFormat),
        Failure::Verify(VerifyError::DecodeNotRun("x".into())),
        ffmpeg(None),
        Failure::Promote(io::Error::from_raw_os_error(libc::EIO)),
        Failure::Internal {
            summary: "s",
            detail: "d".into(),
        },
        Failure::Stalled {
            seconds: 1,
            percent: 0.0,
        },
    ]
}

#[test]
fn every_code_has_words() {
    let all = [
        space_guard(0, 10, 0).unwrap(),
        Failure::SourceSwapped { why: "w".into() },
        Failure::NameTooLong { bytes: 5000 },
        Failure::OutputLocation { why: "w".into() },
        Failure::Empty,
        Failure::Unopenable(io::Error::from_raw_os_error(libc::EACCES)),
        Failure::Unopenable(io::Error::from_raw_os_error(libc::EIO)),
        Failure::Promote(io::Error::from_raw_os_error(libc::ENOSPC)),
    ];
    for f in all.iter().chain(&pinned()) {
        let words = code_in_words(f.code());
        assert!(!words.contains('_') && words != f.code(), "{f:?}: {words}");
    }
    assert_eq!(code_in_words("a_new_code"), "a new code");
}

/// The codes are API: every variant keeps the one it had as a string literal.
#[test]
fn wire_codes_are_unchanged() {
    let codes: Vec<&str> = pinned().iter().map(Failure::code).collect();
    assert_eq!(
        codes,
        [
            "not_a_file",
            "source_missing",
            "probe_failed",
            "verify_failed",
            "encoder_failed",
            "promote_failed",
            "internal_error",
            "encoder_stalled"
        ]
    );
}
