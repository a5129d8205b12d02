//! Waiting on facts, never on time: `wait_until` polls a check until it holds and, when the
//! time is up, says what it waited for and what it saw last. The bounds below are generous
//! upper limits for a busy 2-core CI machine; a passing test never waits them out.

use std::fmt::Display;
use std::time::Duration;

use tokio::time::Instant;

/// Things that should happen at once (a signal, a state change, an answer).
pub const PROMPT: Duration = Duration::from_secs(10);
/// A job on a 2-second clip.
pub const SHORT_JOB: Duration = Duration::from_secs(60);
/// A job on the 20-second clip (about 7 s of libx265 on an idle machine).
pub const LONG_JOB: Duration = Duration::from_secs(180);
/// Hardware detection in the background (a test encode with every encoder ffmpeg lists).
pub const DETECTION: Duration = Duration::from_secs(120);
/// Longer than the dispatcher's idle tick (2 s, `engine::dispatch`): a job that nothing
/// touches within this window is not picked up again by a tick. Absence can only be shown over
/// a window; `SseReader::assert_quiet` fails at the first event instead of sleeping it out.
pub const DISPATCH_TICK: Duration = Duration::from_millis(2500);

/// The first pause between two checks; it doubles up to `POLL_MAX`, so a prompt fact is seen
/// within milliseconds and a long wait does not load the machine.
const POLL_FIRST: Duration = Duration::from_millis(20);
const POLL_MAX: Duration = Duration::from_millis(250);
/// How long a single check may run past the deadline before it counts as hung.
const CHECK_GRACE: Duration = Duration::from_secs(5);

/// What a check returns: `true`/`Some`/`Ok` ends the wait with the value; for `Err`, the
/// error describes the state seen, for the timeout message.
pub trait Outcome {
    type Value;
    fn into_result(self) -> Result<Self::Value, Option<String>>;
}

impl Outcome for bool {
    type Value = ();
    fn into_result(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Display> Outcome for Result<T, E> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(seen.to_string()))
    }
}

/// Run `check` until it holds and return its value; panic after `timeout` naming `what` (the
/// fact waited for, e.g. "the job to complete") and the last state the check reported. The
/// check may assert: a state that can never turn into the fact should fail at once. A check
/// that never returns (a request to a server that accepted the connection and never answers)
/// is cut off `CHECK_GRACE` after the deadline, so a hung server fails the test instead of
/// hanging it.
pub async fn wait_until<O: Outcome>(
    timeout: Duration,
    what: impl Display,
    mut check: impl AsyncFnMut() -> O,
) -> O::Value {
    let deadline = Instant::now() + timeout;
    let mut pause = POLL_FIRST;
    loop {
        let bound = deadline.saturating_duration_since(Instant::now()) + CHECK_GRACE;
        let Ok(outcome) = tokio::time::timeout(bound, check()).await else {
            panic!(
                "timed out after {timeout:?} waiting for {what}: the check itself did not return"
            )
        };
        let last = match outcome.into_result() {
            Ok(value) => return value,
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            match last {
                Some(seen) => {
                    panic!("timed out after {timeout:?} waiting for {what}; last seen: {seen}")
                }
                None => panic!("timed out after {timeout:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(POLL_MAX);
    }
}
