//! Automatic backups: a worker that writes a backup archive (`crate::backup`) into
//! `<data>/backups/` every `[backup] interval_hours` and keeps the newest `keep`. The next one
//! is due an interval after the newest archive there (or after the server started, when there
//! is none), so restarts neither skip nor repeat a day, and a fresh install does not write one
//! at its first start. Only automatic archives count for retention: the safety copies a
//! restore takes (`pre-restore-…`) are never pruned.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use super::worker::Worker;
use crate::backup::{self, BACKUPS_DIR};
use crate::config::BackupSettings;
use crate::store::Store;

/// Prefix of automatic archives (none: they are the plain dated name).
const AUTO_PREFIX: &str = "";

pub(crate) struct AutoBackup {
    pub store: Store,
    pub data_dir: PathBuf,
    pub config_file: Option<PathBuf>,
    pub settings: BackupSettings,
    started: SystemTime,
    status: String,
}

impl AutoBackup {
    pub fn new(
        store: Store,
        data_dir: PathBuf,
        config_file: Option<PathBuf>,
        settings: BackupSettings,
    ) -> AutoBackup {
        AutoBackup {
            store,
            data_dir,
            config_file,
            settings,
            started: SystemTime::now(),
            status: "no backup taken yet".into(),
        }
    }

    fn dir(&self) -> PathBuf {
        self.data_dir.join(BACKUPS_DIR)
    }

    /// When the next backup is due.
    fn due(&self) -> SystemTime {
        let newest = backup::list(&self.dir(), AUTO_PREFIX)
            .ok()
            .and_then(|l| l.last().cloned())
            .and_then(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        newest.unwrap_or(self.started) + self.settings.interval
    }

    fn take(&self) -> Result<String, backup::BackupError> {
        let path = backup::archive_into(
            &self.store,
            self.config_file.as_deref(),
            &self.data_dir,
            &self.dir(),
            AUTO_PREFIX,
        )?;
        let all = backup::list(&self.dir(), AUTO_PREFIX)?;
        let extra = all.len().saturating_sub(self.settings.keep);
        for old in &all[..extra] {
            std::fs::remove_file(old)?;
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        Ok(format!(
            "last backup {name}; keeping {} of the last {}",
            all.len() - extra,
            self.settings.keep
        ))
    }
}

impl Worker for AutoBackup {
    fn name(&self) -> &'static str {
        "backups"
    }

    async fn work(&mut self, _stop: &CancellationToken) {
        if self.settings.keep == 0 {
            self.status = "automatic backups are off ([backup] keep = 0)".into();
            return;
        }
        if self.due() > SystemTime::now() {
            return;
        }
        let this = AutoBackup {
            store: self.store.clone(),
            data_dir: self.data_dir.clone(),
            config_file: self.config_file.clone(),
            settings: self.settings.clone(),
            started: self.started,
            status: String::new(),
        };
        self.status = match tokio::task::spawn_blocking(move || this.take()).await {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "automatic backup failed");
                format!("the last backup failed: {e}")
            }
            Err(e) => format!("the last backup failed: {e}"),
        };
    }

    async fn wait(&mut self) {
        let wait = if self.settings.keep == 0 {
            Duration::from_secs(86_400)
        } else {
            self.due()
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        };
        tokio::time::sleep(wait).await;
    }

    fn status(&self) -> String {
        self.status.clone()
    }
}
