//! The one shape of background work (garage's `Worker` is the model). A worker is a value that
//! owns its state and has a name, a `work` step that does what is due now, a `wait` that sleeps
//! until its one wake-up (a channel, a timer, an event-bus subscription) says there may be more,
//! and a one-line status for the system page. [`Workers`] runs each in a task of its own,
//! records its status after every step, and stops them all at shutdown: a stop ends `wait` at
//! once, while `work` is told through the token and ends at its next safe point; then
//! `on_stop` keeps what must outlive the process.
//!
//! Workers talk to each other only through the store, the event bus and the handles they were
//! given; adding one touches no other.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa::ToSchema;

use crate::model::{now_ms, rfc3339};

/// Background work in the engine's one shape.
pub(crate) trait Worker: Send + 'static {
    /// Stable name, shown on the system page.
    fn name(&self) -> &'static str;
    /// Do what is due now. Long work checks `stop` and returns early once it is cancelled.
    fn work(&mut self, stop: &CancellationToken) -> impl Future<Output = ()> + Send;
    /// Sleep until there may be work again.
    fn wait(&mut self) -> impl Future<Output = ()> + Send;
    /// What the worker is doing or waiting for, in one line.
    fn status(&self) -> String;
    /// Runs once at shutdown, after the last step (not when stopped before the first): keep
    /// what must outlive the process. Nothing by default.
    fn on_stop(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Whether a worker is working, waiting, or has stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    Busy,
    Idle,
    Stopped,
}

/// One worker as the system page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WorkerStatus {
    pub name: String,
    pub state: WorkerState,
    /// The worker's own one-line status.
    pub detail: String,
    /// RFC 3339 UTC time the state last changed.
    pub since: String,
    /// Work steps done since the server started.
    pub steps: u64,
}

type Board = Arc<Mutex<BTreeMap<&'static str, WorkerStatus>>>;

/// Runs workers and the engine's other tracked tasks (job runs), and stops them together.
#[derive(Clone)]
pub(crate) struct Workers {
    tasks: TaskTracker,
    stop: CancellationToken,
    /// Cancelled when workers may take their first step (see [`Workers::held`]).
    go: CancellationToken,
    board: Board,
}

impl Workers {
    pub fn new(stop: CancellationToken) -> Workers {
        let go = CancellationToken::new();
        go.cancel();
        Workers::held(stop, go)
    }

    /// Workers that take their first step once `go` is cancelled: the server holds them until
    /// it listens, so hardware detection's ffmpeg runs and the first jobs do not compete with
    /// its start for the cores.
    pub fn held(stop: CancellationToken, go: CancellationToken) -> Workers {
        Workers {
            tasks: TaskTracker::new(),
            stop,
            go,
            board: Board::default(),
        }
    }

    /// Run `worker` until shutdown.
    pub fn spawn<W: Worker>(&self, mut worker: W) {
        let (board, stop, go) = (self.board.clone(), self.stop.clone(), self.go.clone());
        let name = worker.name();
        self.tasks.spawn(async move {
            let mut steps = 0u64;
            if !go.is_cancelled() {
                set(&board, name, WorkerState::Idle, "starting".into(), steps);
                tokio::select! {
                    _ = go.cancelled() => {}
                    _ = stop.cancelled() => {
                        set(&board, name, WorkerState::Stopped, worker.status(), steps);
                        return;
                    }
                }
            }
            loop {
                set(&board, name, WorkerState::Busy, worker.status(), steps);
                worker.work(&stop).await;
                steps += 1;
                if stop.is_cancelled() {
                    break;
                }
                set(&board, name, WorkerState::Idle, worker.status(), steps);
                tokio::select! {
                    _ = worker.wait() => {}
                    _ = stop.cancelled() => break,
                }
            }
            worker.on_stop().await;
            set(&board, name, WorkerState::Stopped, worker.status(), steps);
        });
    }

    /// Run a task that shutdown waits for (a job's run).
    pub fn track<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(task);
    }

    /// Cancelled at shutdown.
    pub fn stop_token(&self) -> &CancellationToken {
        &self.stop
    }

    /// Every worker's status, by name.
    pub fn statuses(&self) -> Vec<WorkerStatus> {
        lock(&self.board).values().cloned().collect()
    }

    /// Tell everything to stop and wait up to `limit` for it; `false` when something is left.
    pub async fn shutdown(&self, limit: std::time::Duration) -> bool {
        self.stop.cancel();
        self.tasks.close();
        tokio::time::timeout(limit, self.tasks.wait()).await.is_ok()
    }
}

fn lock(board: &Board) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, WorkerStatus>> {
    board.lock().unwrap_or_else(|p| p.into_inner())
}

fn set(board: &Board, name: &'static str, state: WorkerState, detail: String, steps: u64) {
    let mut board = lock(board);
    let since = match board.get(name) {
        Some(old) if old.state == state => old.since.clone(),
        _ => rfc3339(now_ms()),
    };
    board.insert(
        name,
        WorkerStatus {
            name: name.to_string(),
            state,
            detail,
            since,
            steps,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::mpsc;

    /// Counts its steps and its stops; wakes on a channel.
    struct Counter {
        wake: mpsc::Receiver<()>,
        done: u32,
        stops: Arc<std::sync::atomic::AtomicU32>,
    }

    impl Counter {
        fn new(wake: mpsc::Receiver<()>) -> Counter {
            Counter {
                wake,
                done: 0,
                stops: Arc::default(),
            }
        }
    }

    impl Worker for Counter {
        fn name(&self) -> &'static str {
            "counter"
        }
        async fn work(&mut self, _stop: &CancellationToken) {
            self.done += 1;
        }
        async fn wait(&mut self) {
            if self.wake.recv().await.is_none() {
                std::future::pending::<()>().await;
            }
        }
        fn status(&self) -> String {
            format!("{} step(s)", self.done)
        }
        async fn on_stop(&mut self) {
            self.stops.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    async fn status_until(workers: &Workers, want: impl Fn(&WorkerStatus) -> bool) {
        for _ in 0..500 {
            if workers.statuses().iter().any(&want) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("no such status: {:?}", workers.statuses());
    }

    #[tokio::test]
    async fn held_workers_wait_for_go_and_stop_while_held() {
        let go = CancellationToken::new();
        let workers = Workers::held(CancellationToken::new(), go.clone());
        let (_tx, rx) = mpsc::channel(4);
        let counter = Counter::new(rx);
        let stops = counter.stops.clone();
        workers.spawn(counter);
        status_until(&workers, |s| s.detail == "starting").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(workers.statuses()[0].steps, 0, "no step before go");
        go.cancel();
        status_until(&workers, |s| s.state == WorkerState::Idle && s.steps == 1).await;
        assert!(workers.shutdown(Duration::from_secs(5)).await);
        assert_eq!(stops.load(std::sync::atomic::Ordering::SeqCst), 1);

        let held = Workers::held(CancellationToken::new(), CancellationToken::new());
        let (_tx, rx) = mpsc::channel(4);
        let counter = Counter::new(rx);
        let stops = counter.stops.clone();
        held.spawn(counter);
        status_until(&held, |s| s.detail == "starting").await;
        assert!(
            held.shutdown(Duration::from_secs(5)).await,
            "stops while held"
        );
        assert_eq!(held.statuses()[0].state, WorkerState::Stopped);
        assert_eq!(
            stops.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "no stop hook without a first step"
        );
    }

    #[tokio::test]
    async fn works_at_start_and_on_each_wake_then_stops() {
        let workers = Workers::new(CancellationToken::new());
        let (tx, rx) = mpsc::channel(4);
        workers.spawn(Counter::new(rx));
        status_until(&workers, |s| s.state == WorkerState::Idle && s.steps == 1).await;
        tx.send(()).await.unwrap();
        status_until(&workers, |s| s.steps == 2 && s.detail == "2 step(s)").await;
        assert!(workers.shutdown(Duration::from_secs(5)).await);
        let s = &workers.statuses()[0];
        assert_eq!(
            (s.name.as_str(), s.state),
            ("counter", WorkerState::Stopped)
        );
    }
}
