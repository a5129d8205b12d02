//! How many password hashes run at once, and how many logins may wait for one. Argon2 takes
//! about 19 MiB and a core for a few hundred milliseconds per login; unbounded, a flood of
//! wrong passwords from many addresses took the box to gigabytes of memory and seconds of
//! latency. Logins from a known device (see `devices`) have a lane of their own, so a flood
//! from elsewhere never makes the owner wait; its queue is as short, so a stolen device cookie
//! cannot flood it either.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a queued login waits for a hash before it is told to come back.
const QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Retry-After for a login turned away.
const RETRY_AFTER_SECS: u64 = 5;

struct Lane {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// The two lanes. Cheap to clone.
#[derive(Clone)]
pub struct HashGate {
    untrusted: Arc<Lane>,
    trusted: Arc<Lane>,
}

/// A turned-away login: come back after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy(pub u64);

/// Counts a queued login until it gets its turn or gives up (dropped with its request).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HashGate {
    /// `concurrent` hashes for unknown devices with `queue` waiting; one more for known ones.
    pub fn new(concurrent: usize, queue: usize) -> HashGate {
        let lane = |n: usize, q: usize| {
            Arc::new(Lane {
                permits: Arc::new(Semaphore::new(n.max(1))),
                waiting: AtomicUsize::new(0),
                max_waiting: q,
            })
        };
        HashGate {
            untrusted: lane(concurrent, queue),
            trusted: lane(1, queue.clamp(1, 4)),
        }
    }

    /// Wait for a turn to hash, in the lane of a known device or of everyone else.
    pub async fn enter(&self, known_device: bool) -> Result<OwnedSemaphorePermit, Busy> {
        let lane = if known_device {
            &self.trusted
        } else {
            &self.untrusted
        };
        if let Ok(permit) = lane.permits.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if lane.waiting.fetch_add(1, Ordering::SeqCst) >= lane.max_waiting {
            lane.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Busy(RETRY_AFTER_SECS));
        }
        let _waiting = Waiting(&lane.waiting);
        match tokio::time::timeout(QUEUE_WAIT, lane.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Busy(RETRY_AFTER_SECS)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn at_most_n_at_once_a_bounded_queue_and_a_lane_for_known_devices() {
        let gate = HashGate::new(1, 2);
        let first = gate.enter(false).await.unwrap();
        // Two may wait; the third is turned away at once.
        let g1 = gate.clone();
        let w1 = tokio::spawn(async move { g1.enter(false).await.is_ok() });
        let g2 = gate.clone();
        let w2 = tokio::spawn(async move { g2.enter(false).await.is_ok() });
        while gate.untrusted.waiting.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.enter(false).await.unwrap_err(), Busy(RETRY_AFTER_SECS));
        // The owner's known device does not wait behind the queue.
        let owner = tokio::time::timeout(Duration::from_secs(1), gate.enter(true)).await;
        assert!(
            matches!(owner, Ok(Ok(_))),
            "known devices have their own lane"
        );
        drop(first);
        assert!(
            w1.await.unwrap() && w2.await.unwrap(),
            "the queued ones get their turn"
        );
        assert_eq!(gate.untrusted.waiting.load(Ordering::SeqCst), 0);
    }
}
