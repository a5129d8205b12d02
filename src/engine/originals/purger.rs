//! The trash purger: a worker that removes replaced originals once they are older than
//! `trash_days` (they are also purged at every start). It wakes on a timer.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::purge_expired;
use crate::config::LiveSettings;
use crate::engine::worker::Worker;
use crate::model::count;
use crate::store::{Store, StoreError};

/// How often expired trash is purged while running.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

pub(crate) struct Purger {
    pub store: Store,
    pub settings: LiveSettings,
    pub purged: usize,
    /// The start already purged (boot recovery); the first step only waits.
    pub first: bool,
}

impl Worker for Purger {
    fn name(&self) -> &'static str {
        "trash purger"
    }

    async fn work(&mut self, _stop: &CancellationToken) {
        if std::mem::take(&mut self.first) {
            return;
        }
        let days = self.settings.get().trash_days;
        let result = self
            .store
            .call(move |s| purge_expired(s, days).map_err(|e| StoreError::Task(e.to_string())))
            .await;
        match result {
            Ok(0) => {}
            Ok(n) => {
                self.purged += n;
                tracing::info!(purged = n, "purged expired originals from the trash");
            }
            Err(e) => tracing::warn!(error = %e, "trash purge failed"),
        }
    }

    async fn wait(&mut self) {
        tokio::time::sleep(PURGE_INTERVAL).await;
    }

    fn status(&self) -> String {
        format!(
            "purges originals older than {} every hour; {} purged since start",
            count(self.settings.get().trash_days, "day", "days"),
            self.purged
        )
    }
}
