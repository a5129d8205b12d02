//! Deliveries under way: each message is sent in a task of its own (sending never waits in
//! the worker), tracked with the notices it was made of, so a stop can give them a short
//! grace and hold again what did not land (see the worker's module comment).

use tokio::task::{Id, JoinError};

use super::{IN_FLIGHT_GRACE, Notifier};
use crate::engine::notify::deliver;
use crate::engine::notify::render::{Message, Notice};
use crate::engine::notify::target::Target;
use crate::model::{now_ms, rfc3339};

/// The task a finished delivery was, delivered or stopped.
fn task_id(done: Result<(Id, ()), JoinError>) -> Id {
    match done {
        Ok((id, ())) => id,
        Err(e) => e.id(),
    }
}

impl Notifier {
    /// Send `message` to `target` in a task of its own; `notices` (what it was made of) are
    /// held again should a stop come before it lands.
    pub(super) fn deliver(&mut self, target: Target, message: Message, notices: Vec<Notice>) {
        self.landed();
        let handle = self.handle.clone();
        let flight = (target.id, notices);
        let task = self.flying.spawn(async move {
            let sent_at = rfc3339(now_ms());
            let ok = deliver::send(&handle, &target, &message, &sent_at).await;
            tracing::debug!(target = %target.name, ok, event = message.event.code(), "notification done");
        });
        self.flights.insert(task.id(), flight);
        self.sent += 1;
    }

    /// Forget the deliveries that ended (delivered, or given up after their retries).
    fn landed(&mut self) {
        while let Some(done) = self.flying.try_join_next_with_id() {
            self.flights.remove(&task_id(done));
        }
    }

    /// At a stop: give the deliveries under way [`IN_FLIGHT_GRACE`] to end, then stop the
    /// rest and hold their notices again, in the order they were sent (sent after the
    /// restart). The HTTP attempt of a stopped delivery runs on until its own timeout and may
    /// still reach a slow target: then that message arrives twice, rather than not at all.
    /// Returns how many notices were held again.
    pub(super) async fn ground_flights(&mut self) -> usize {
        let (flying, flights) = (&mut self.flying, &mut self.flights);
        let ended = tokio::time::timeout(IN_FLIGHT_GRACE, async {
            while let Some(done) = flying.join_next_with_id().await {
                flights.remove(&task_id(done));
            }
        })
        .await;
        if ended.is_ok() {
            return 0;
        }
        self.flying.abort_all();
        // Each task's end is collected, so what landed meanwhile is not sent twice and the
        // stopped ones (which hold the store) are gone before the stop returns.
        let mut grounded = Vec::new();
        while let Some(done) = self.flying.join_next_with_id().await {
            match done {
                Ok((id, ())) => {
                    self.flights.remove(&id);
                }
                Err(e) => {
                    if let Some(flight) = self.flights.remove(&e.id()) {
                        grounded.push((e.id(), flight));
                    }
                }
            }
        }
        grounded.sort_by_key(|(id, _)| *id);
        let mut again = 0;
        for (_, (target, notices)) in grounded {
            let batcher = self.batchers.entry(target).or_default();
            for n in notices {
                batcher.push(n);
                again += 1;
            }
        }
        if again > 0 {
            tracing::info!(
                count = again,
                "notifications still being sent at the stop are held for the restart"
            );
        }
        again
    }
}
