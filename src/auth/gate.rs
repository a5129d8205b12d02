//! How many password hashes run at once, and how many logins may wait for one. Argon2 takes
//! about 19 MiB and a core for a few hundred milliseconds per login; unbounded, a flood of
//! wrong passwords from many addresses took the box to gigabytes of memory and seconds of
//! latency. Logins from a known device (see `devices`) have a lane of their own, so a flood
//! from elsewhere never makes the owner wait; its queue is as short, so a stolen device cookie
//! cannot flood it either. Each lane hashes on threads of its own, as many as it has turns: a
//! thread's allocator keeps the memory of the hashes it ran for the next one, so a fixed set of
//! threads bounds memory where the shared blocking pool (hundreds of threads, each keeping
//! some) did not.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

type Job = Box<dyn FnOnce() + Send>;

/// How long a queued login waits for a hash before it is told to come back.
const QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Retry-After for a login turned away.
const RETRY_AFTER_SECS: u64 = 5;

struct Lane {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// The lane's hashing threads, one per turn.
    jobs: mpsc::Sender<Job>,
}

/// `n` threads named `name` running the jobs sent to the returned channel; they end when the
/// channel does.
fn threads(n: usize, name: &str) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{name}-{i}"))
            .spawn(move || {
                loop {
                    let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a password hashing thread");
        }
    }
    tx
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
        let lane = |n: usize, q: usize, name: &str| {
            let n = n.max(1);
            Arc::new(Lane {
                permits: Arc::new(Semaphore::new(n)),
                waiting: AtomicUsize::new(0),
                max_waiting: q,
                jobs: threads(n, name),
            })
        };
        HashGate {
            untrusted: lane(concurrent, queue, "login-hash"),
            trusted: lane(1, queue.clamp(1, 4), "device-login-hash"),
        }
    }

    /// Run `work` (a password check) in its lane once it has a turn; `Busy` when the lane's
    /// queue is full or the turn did not come in time.
    pub async fn run<T, F>(&self, known_device: bool, work: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self.enter(known_device).await?;
        let lane = if known_device {
            &self.trusted
        } else {
            &self.untrusted
        };
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The turn is held until the hash is done, even if the client went away.
            let _permit = permit;
            let _ = tx.send(work());
        });
        lane.jobs.send(job).map_err(|_| Busy(RETRY_AFTER_SECS))?;
        rx.await.map_err(|_| Busy(RETRY_AFTER_SECS))
    }

    /// Wait for a turn to hash, in the lane of a known device or of everyone else.
    async fn enter(&self, known_device: bool) -> Result<OwnedSemaphorePermit, Busy> {
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

    #[tokio::test]
    async fn work_runs_on_the_lanes_own_threads() {
        let gate = HashGate::new(2, 4);
        let name = gate
            .run(false, || std::thread::current().name().map(str::to_string))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("login-hash-"));
        let name = gate
            .run(true, || std::thread::current().name().map(str::to_string))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("device-login-hash-0"));
    }
}
