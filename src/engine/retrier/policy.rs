//! Whether a failed job is tried again by itself, and when. Pure: the typed failure says
//! whether another attempt can succeed ([`Failure::is_transient`]); faults that would fail the
//! same way again (an unreadable or corrupt file, a missing source, a refused permission, a
//! failed verification, an encoder error exit) are never retried, so a broken file cannot
//! loop. Transient faults are retried with exponential backoff up to [`MAX_ATTEMPTS`] runs in
//! a row.

use std::time::Duration;

use crate::engine::failure::Failure;

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
pub fn next(failure: &Failure, auto_retries: u32, base: Duration) -> Next {
    if !failure.is_transient() {
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

    fn disk_full() -> Failure {
        Failure::NoRoom {
            free: 0,
            needed: 1,
            source: 1,
        }
    }

    #[test]
    fn permanent_failures_are_never_retried() {
        let broken = Failure::Probe(crate::media::probe::ProbeError::NoFormat);
        assert_eq!(
            next(&broken, 0, DEFAULT_BASE_DELAY),
            Next::Stop(StopWhy::Permanent)
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
        let f = disk_full();
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
