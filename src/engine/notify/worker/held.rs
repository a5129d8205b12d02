//! The notices the batchers hold, kept in the store and held again after a restart (see the
//! worker's module comment).

use std::collections::BTreeMap;
use std::time::Instant;

use super::{HELD_SETTING, KEEP_HELD_EVERY, Notifier};
use crate::engine::notify::render::Notice;

impl Notifier {
    /// Hold again what a previous run's batchers held.
    pub(super) async fn hold_again(&mut self) {
        let stored = self.handle.store().call(|s| s.setting(HELD_SETTING)).await;
        let held: BTreeMap<u64, Vec<Notice>> = match stored {
            Ok(Some(v)) => serde_json::from_value(v).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "unreadable held notifications dropped");
                BTreeMap::new()
            }),
            Ok(None) => BTreeMap::new(),
            Err(e) => {
                // Tried again at the next step; until then nothing is written over them.
                tracing::warn!(error = %e, "held notifications not readable");
                return;
            }
        };
        let count: usize = held.values().map(Vec::len).sum();
        if count > 0 {
            tracing::info!(
                count,
                "notifications held before the restart are held again"
            );
        }
        for (id, notices) in &held {
            let batcher = self.batchers.entry(*id).or_default();
            for n in notices {
                batcher.push(n.clone());
            }
        }
        self.held = Some(held);
    }

    /// Keep what the batchers hold in the store, when it changed; `at_once` at shutdown, else at
    /// most every KEEP_HELD_EVERY while it grows.
    pub(super) async fn keep_held(&mut self, at_once: bool) {
        if self.held.is_none() {
            // What the store holds was not read yet: writing would replace it.
            return;
        }
        let now: BTreeMap<u64, Vec<Notice>> = self
            .batchers
            .iter()
            .map(|(id, b)| (*id, b.held()))
            .filter(|(_, n)| !n.is_empty())
            .collect();
        if self.held.as_ref() == Some(&now) {
            return;
        }
        // Emptied: written at once (cheap, and nothing is sent twice after a restart).
        // Otherwise at most every KEEP_HELD_EVERY; the worker steps at least every minute.
        let recent = self
            .held_kept_at
            .is_some_and(|at| at.elapsed() < KEEP_HELD_EVERY);
        if !now.is_empty() && recent && !at_once {
            return;
        }
        let value = match serde_json::to_value(&now) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "held notifications not kept");
                return;
            }
        };
        match self
            .handle
            .store()
            .call(move |s| s.set_setting(HELD_SETTING, &value))
            .await
        {
            Ok(()) => {
                self.held = Some(now);
                self.held_kept_at = Some(Instant::now());
            }
            Err(e) => tracing::warn!(error = %e, "held notifications not kept"),
        }
    }
}
