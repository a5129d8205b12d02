//! Receiving a bundle, checking it, installing it: `Upload` holds the one install slot of the
//! machine from the first byte received until RAUC is done. The bundle goes to a temporary
//! file (never /data); its signature (against the keyring in the image) and its board are
//! checked with `rauc info` before RAUC writes anything; `rauc install` then runs in the
//! background, its progress lines feeding the install state that the SSE stream follows.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::bytes::Bytes;

use super::rauc::{self, InstallLine};
use super::{InstallPhase, InstallState, MAX_BUNDLE_BYTES, UpdateError, Updater};

/// Longest an install may take: writing a few hundred megabytes to a slow SD card.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Chunks in flight to the writer thread: bounds the memory an upload takes.
const WRITE_QUEUE: usize = 16;

/// A bundle being received; dropping it before `finish` removes the file and, if nothing
/// else was recorded, marks the attempt failed (the client went away).
pub struct Upload {
    updater: &'static Updater,
    path: PathBuf,
    /// Chunks to the blocking thread that writes the file; None once finished.
    writer: Option<(mpsc::Sender<Bytes>, JoinHandle<std::io::Result<()>>)>,
    received: u64,
    /// The file and the install slot were handed to the install task.
    handed_over: bool,
    /// A failure was recorded in the install state.
    failed: bool,
}

impl Updater {
    /// Reserve the install slot for an upload of `announced` bytes (when the client said).
    /// Checked first, so a refused request writes nothing: updates are available, the size is
    /// within the limit and fits the temporary directory, no other update is under way.
    pub async fn begin_upload(
        &'static self,
        announced: Option<u64>,
    ) -> Result<Upload, UpdateError> {
        self.rauc_status().await?;
        if let Some(n) = announced {
            if n > MAX_BUNDLE_BYTES {
                return Err(UpdateError::TooLarge {
                    max: MAX_BUNDLE_BYTES,
                });
            }
            let free = crate::process::free_bytes(&self.upload_dir)?;
            if n > free {
                return Err(UpdateError::NoSpace { needed: n, free });
            }
        }
        let mut reserved = false;
        self.state.send_if_modified(|s| {
            if s.busy() {
                return false;
            }
            *s = InstallState {
                phase: InstallPhase::Receiving,
                ..InstallState::IDLE
            };
            reserved = true;
            true
        });
        if !reserved {
            return Err(UpdateError::Busy);
        }
        let mut upload = Upload {
            updater: self,
            path: self
                .upload_dir
                .join(format!("alchemist-update-{}.raucb", unique())),
            writer: None,
            received: 0,
            handed_over: false,
            failed: false,
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&upload.path);
        match file {
            Ok(f) => upload.writer = Some(spawn_writer(f)),
            Err(e) => return Err(upload.fail(e.into())),
        }
        Ok(upload)
    }

    fn set(&self, change: impl FnOnce(&mut InstallState)) {
        self.state.send_modify(change);
    }
}

impl Upload {
    /// Append a chunk of the bundle.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), UpdateError> {
        self.received += chunk.len() as u64;
        if self.received > MAX_BUNDLE_BYTES {
            return Err(UpdateError::TooLarge {
                max: MAX_BUNDLE_BYTES,
            });
        }
        let sent = match &self.writer {
            Some((tx, _)) => tx.send(chunk).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The writer stopped: its error says why.
        Err(self
            .close()
            .await
            .err()
            .unwrap_or_else(|| UpdateError::Interrupted("the upload file is closed".into())))
    }

    /// Let the writer finish the file (flushed to the disk).
    async fn close(&mut self) -> Result<(), UpdateError> {
        let Some((tx, handle)) = self.writer.take() else {
            return Ok(());
        };
        drop(tx);
        match handle.await {
            Ok(result) => Ok(result?),
            Err(e) => Err(UpdateError::Io(std::io::Error::other(e.to_string()))),
        }
    }

    /// The whole bundle is here: check it and start installing it in the background.
    /// Returns the install state as it starts.
    pub async fn finish(&mut self) -> Result<InstallState, UpdateError> {
        self.close().await?;
        let updater = self.updater;
        updater.set(|s| s.phase = InstallPhase::Verifying);
        let path = self.path.to_string_lossy().into_owned();
        let info = match updater.rauc(&["info", "--output-format=json", &path]).await {
            Ok(json) => {
                rauc::parse_info(&json).map_err(|e| UpdateError::Rejected(e.to_string()))?
            }
            // `rauc info` checks the signature against the keyring of system.conf.
            Err(UpdateError::Unavailable(said)) => return Err(UpdateError::Rejected(said)),
            Err(e) => return Err(e),
        };
        let system = updater.rauc_status().await?.compatible;
        if info.compatible != system {
            return Err(UpdateError::Incompatible {
                bundle: info.compatible,
                system,
            });
        }
        updater.set(|s| {
            s.phase = InstallPhase::Installing;
            s.version = info.version.clone();
            s.message = Some("Starting".into());
        });
        self.handed_over = true;
        let started = updater.state.borrow().clone();
        tokio::spawn(run_install(updater, self.path.clone()));
        Ok(started)
    }

    /// Record `err` as the outcome of this attempt (nothing was written) and return it.
    pub fn fail(&mut self, err: UpdateError) -> UpdateError {
        self.failed = true;
        let (message, code) = (err.to_string(), err.code());
        self.updater.set(|s| {
            s.phase = InstallPhase::Failed;
            s.error = Some(message);
            s.error_code = Some(code.to_string());
        });
        err
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.handed_over {
            return;
        }
        let _ = std::fs::remove_file(&self.path);
        if !self.failed {
            let err = UpdateError::Interrupted("the client went away".into());
            self.fail(err);
        }
    }
}

/// `rauc install PATH`, its progress into the install state; the file is removed after.
async fn run_install(updater: &'static Updater, path: PathBuf) {
    let args: Vec<OsString> = vec!["install".into(), path.clone().into()];
    let last_error = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen_error = last_error.clone();
    let result = crate::process::run_lines(&updater.rauc, &args, INSTALL_TIMEOUT, move |line| {
        match rauc::parse_install_line(line) {
            InstallLine::Progress {
                percentage,
                message,
            } => updater.set(|s| {
                s.percentage = percentage;
                s.message = Some(message);
            }),
            InstallLine::Error(e) => {
                if let Ok(mut last) = seen_error.lock() {
                    *last = Some(e);
                }
            }
            InstallLine::Other => {}
        }
    })
    .await;
    let last_error = last_error.lock().ok().and_then(|mut e| e.take());
    let _ = tokio::fs::remove_file(&path).await;
    let outcome = match result {
        Ok(exit) if exit.status.success() => Ok(()),
        Ok(exit) => Err(last_error.unwrap_or_else(|| exit.stderr.trim().to_string())),
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(()) => {
            tracing::info!("update installed; it runs after a reboot");
            updater.set(|s| {
                s.phase = InstallPhase::Installed;
                s.percentage = 100;
            });
        }
        Err(error) => {
            tracing::error!(%error, "update failed");
            updater.set(|s| {
                s.phase = InstallPhase::Failed;
                s.error = Some(error);
                s.error_code = Some("UPDATE_INSTALL_FAILED".into());
            });
        }
    }
}

/// The thread that writes an upload's chunks to its file, then syncs it.
fn spawn_writer(mut file: std::fs::File) -> (mpsc::Sender<Bytes>, JoinHandle<std::io::Result<()>>) {
    let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    let handle = tokio::task::spawn_blocking(move || {
        while let Some(chunk) = rx.blocking_recv() {
            file.write_all(&chunk)?;
        }
        file.sync_all()
    });
    (tx, handle)
}

/// A file name part no other upload uses.
fn unique() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return format!("{}", std::process::id());
    }
    hex::encode(bytes)
}
