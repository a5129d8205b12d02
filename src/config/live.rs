//! The `[transcode]` settings as they are now. The engine (verification, trash purging) and
//! the profiles service (the `default` profile) read them when they need them; the config file
//! watcher replaces them when the owner edits the file, so new jobs follow the edit.

use std::sync::{Arc, RwLock};

use super::TranscodeSettings;

/// Handle to the live settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveSettings(Arc<RwLock<TranscodeSettings>>);

impl LiveSettings {
    pub fn new(settings: TranscodeSettings) -> LiveSettings {
        LiveSettings(Arc::new(RwLock::new(settings)))
    }

    pub fn get(&self) -> TranscodeSettings {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set(&self, settings: TranscodeSettings) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = settings;
    }
}
