//! Whether a failed job is tried again by itself, and when. Pure: the failure's stable code
//! (plus, for a killed ffmpeg, the signal it measured) says whether another attempt can
//! succeed; faults that would fail the same way again (an unreadable or corrupt file, a
//! missing source, a refused permission, a failed verification, an encoder error exit) are
//! never retried, so a broken file cannot loop. Transient faults are retried with exponential
//! backoff up to [`MAX_ATTEMPTS`] runs in a row; unknown codes count as permanent.

use std::time::Duration;

use crate::model::Explanation;

/// Runs in a row of one job, the first included, before the engine stops retrying: the
/// first run and three retries, one per delay of the schedule below.
pub const MAX_ATTEMPTS: u32 = 4;
/// Wait before the first retry. A minute lets a copy in progress or a disk being cleared move
/// on without leaving a recoverable job waiting long. Tests shorten it (`ALCHEMIST_RETRY_BASE_MS`).
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_secs(60);
/// Each further retry waits this many times longer (1, 5, 25 minutes): half an hour in
/// all, enough for a large copy over the network to finish or for space to be freed, while
/// a fault that persists stops costing encodes soon.
pub const BACKOFF_FACTOR: u32 = 5;

/// Failure codes another attempt may get past, and why.
const TRANSIENT: &[&str] = &[
    // Space may be freed (a filler removed, the trash purged, another encode finished).
    "disk_full",
    // The file was still being copied or written; later it is complete.
    "source_changed",
    // fsync or rename of a verified output failed: an I/O hiccup of the moment.
    "promote_failed",
    // The store could not record the job (a full disk under the data dir, a failed task).
    "internal_error",
];

/// Signals that kill an ffmpeg from outside rather than from a bug on this input: SIGKILL is
/// what the kernel's OOM killer sends, SIGTERM an operator or a service manager. A crash
/// (SIGSEGV, SIGABRT, SIGBUS...) would repeat on the same input, so it is permanent.
const TRANSIENT_SIGNALS: &[i64] = &[libc::SIGKILL as i64, libc::SIGTERM as i64];

/// Whether a failure is worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Transient,
    Permanent,
}

/// Classify a failure by its code (and measured signal), never by its text.
pub fn classify(failure: &Explanation) -> Fault {
    if TRANSIENT.contains(&failure.code.as_str()) {
        return Fault::Transient;
    }
    let killed_from_outside = failure.code == "encoder_failed"
        && failure
            .measured
            .get("signal")
            .and_then(|s| s.as_i64())
            .is_some_and(|s| TRANSIENT_SIGNALS.contains(&s));
    if killed_from_outside {
        Fault::Transient
    } else {
        Fault::Permanent
    }
}

/// What happens after a failed run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Run again after `delay`; that run is number `attempt` of at most `of` in a row.
    Retry {
        delay: Duration,
        attempt: u32,
        of: u32,
    },
    /// Stay failed until a user (or a rescan of a changed file) queues it again.
    Stop(StopWhy),
}

/// Why no retry is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWhy {
    /// Another attempt would fail the same way.
    Permanent,
    /// The last of [`MAX_ATTEMPTS`] runs in a row failed.
    Exhausted { attempts: u32 },
}

impl StopWhy {
    /// A sentence for the job log.
    pub fn sentence(self) -> String {
        match self {
            StopWhy::Permanent => {
                "not retried automatically: another attempt would fail the same way".into()
            }
            StopWhy::Exhausted { attempts } => format!(
                "not retried automatically: {attempts} attempts in a row failed; restart it by hand once the cause is fixed"
            ),
        }
    }
}

/// Wait before retry number `retry` (1-based): `base × 5^(retry−1)`, saturating.
pub fn delay(retry: u32, base: Duration) -> Duration {
    let factor = BACKOFF_FACTOR.saturating_pow(retry.saturating_sub(1));
    base.saturating_mul(factor)
}

/// Decide after a failed run, given how many automatic retries the job already had since it
/// was last queued by a user or a scan.
pub fn next(failure: &Explanation, auto_retries: u32, base: Duration) -> Next {
    if classify(failure) == Fault::Permanent {
        return Next::Stop(StopWhy::Permanent);
    }
    let ran = auto_retries.saturating_add(1);
    if ran >= MAX_ATTEMPTS {
        return Next::Stop(StopWhy::Exhausted { attempts: ran });
    }
    Next::Retry {
        delay: delay(auto_retries + 1, base),
        attempt: ran + 1,
        of: MAX_ATTEMPTS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str) -> Explanation {
        Explanation::new(code, "s", "d")
    }

    #[test]
    fn transient_codes_are_retried() {
        for code in [
            "disk_full",
            "source_changed",
            "promote_failed",
            "internal_error",
        ] {
            assert_eq!(classify(&failure(code)), Fault::Transient, "{code}");
        }
    }

    #[test]
    fn broken_files_and_refusals_are_permanent() {
        for code in [
            "probe_failed",
            "verify_failed",
            "source_missing",
            "source_unreadable",
            "permission_denied",
            "not_a_file",
            "no_video_stream",
            "encoder_failed",
            "cancelled",
            "some_code_from_a_later_release",
        ] {
            assert_eq!(classify(&failure(code)), Fault::Permanent, "{code}");
            assert_eq!(
                next(&failure(code), 0, DEFAULT_BASE_DELAY),
                Next::Stop(StopWhy::Permanent),
                "{code}"
            );
        }
    }

    #[test]
    fn a_killed_ffmpeg_is_transient_only_when_killed_from_outside() {
        let with = |k: &str, v: i64| failure("encoder_failed").with(k, v);
        assert_eq!(classify(&with("signal", 9)), Fault::Transient, "OOM killer");
        assert_eq!(classify(&with("signal", 15)), Fault::Transient);
        assert_eq!(classify(&with("signal", 11)), Fault::Permanent, "SIGSEGV");
        assert_eq!(classify(&with("signal", 6)), Fault::Permanent, "SIGABRT");
        assert_eq!(classify(&with("exit_code", 1)), Fault::Permanent);
        assert_eq!(classify(&with("exit_code", 9)), Fault::Permanent);
        // The signal only counts for ffmpeg's own failure.
        assert_eq!(
            classify(&failure("verify_failed").with("signal", 9)),
            Fault::Permanent
        );
    }

    #[test]
    fn backoff_is_one_five_twenty_five_minutes() {
        let b = DEFAULT_BASE_DELAY;
        let mins = |n: u64| Duration::from_secs(60 * n);
        assert_eq!(delay(1, b), mins(1));
        assert_eq!(delay(2, b), mins(5));
        assert_eq!(delay(3, b), mins(25));
        assert_eq!(
            delay(1, Duration::from_millis(500)),
            Duration::from_millis(500)
        );
        // Never overflows (the policy never asks for it, but a bad count must not panic).
        assert!(delay(u32::MAX, b) > Duration::from_secs(365 * 86_400));
        assert_eq!(delay(9, Duration::MAX), Duration::MAX, "saturates");
    }

    #[test]
    fn at_most_max_attempts_in_a_row() {
        let f = failure("disk_full");
        let b = Duration::from_secs(1);
        let mut runs = Vec::new();
        for done in 0..10 {
            match next(&f, done, b) {
                Next::Retry { delay, attempt, of } => {
                    assert_eq!(of, MAX_ATTEMPTS);
                    assert_eq!(attempt, done + 2, "the run after this one");
                    runs.push(delay.as_secs());
                }
                Next::Stop(why) => {
                    assert_eq!(why, StopWhy::Exhausted { attempts: done + 1 });
                    assert_eq!(done + 1, MAX_ATTEMPTS);
                    break;
                }
            }
        }
        assert_eq!(runs, vec![1, 5, 25], "three retries after the first run");
        assert!(matches!(
            next(&f, u32::MAX, b),
            Next::Stop(StopWhy::Exhausted { .. })
        ));
    }
}
