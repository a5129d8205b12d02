//! A backup restored into the running server: the archive is written to a temp file in the
//! data directory (at most [`MAX_ARCHIVE_BYTES`]), checked completely (`backup::stage`, the
//! CLI's validation), and only then kept for the next start; the server then shuts down
//! gracefully and `serve` starts itself again, applying it (`backup::pending`). On any error
//! nothing changes. `POST /api/system/restore` and the system page's upload form both go
//! through [`receive`].

use std::io::Write;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::http::StatusCode;
use futures_util::{Stream, StreamExt};

use crate::backup::{BackupError, Manifest};
use crate::web::AppState;
use crate::web::error::ApiError;

/// Largest archive accepted: a store of a very large library with years of history stays
/// well below this; the temp file lives in the data directory, so this bounds what an
/// upload can fill there.
pub const MAX_ARCHIVE_BYTES: u64 = 4 << 30;

/// Why an upload was not staged.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("a restore is already under way; the server is restarting")]
    Busy,
    #[error("the archive is larger than {} GiB", MAX_ARCHIVE_BYTES >> 30)]
    TooLarge,
    #[error("the upload was cut off: {0}")]
    Interrupted(String),
    #[error(transparent)]
    Backup(#[from] BackupError),
}

impl From<RestoreError> for ApiError {
    fn from(e: RestoreError) -> Self {
        let (status, code) = match &e {
            RestoreError::Busy => (StatusCode::CONFLICT, "RESTORE_UNDER_WAY"),
            RestoreError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "BODY_TOO_LARGE"),
            RestoreError::Interrupted(_) => (StatusCode::BAD_REQUEST, "UPLOAD_INTERRUPTED"),
            RestoreError::Backup(BackupError::Invalid(_)) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "BACKUP_INVALID")
            }
            RestoreError::Backup(_) => return ApiError::internal(e),
        };
        ApiError::new(status, code, format!("Nothing was restored: {e}."))
    }
}

/// Receive an archive from `chunks`, check it, keep it for the next start and shut the
/// server down (it starts again by itself). On any error nothing changes.
pub async fn receive<S, E>(state: &AppState, mut chunks: S) -> Result<Manifest, RestoreError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let m = &state.maintenance;
    if m.restoring.load(Ordering::SeqCst) {
        return Err(RestoreError::Busy);
    }
    let data_dir = state
        .store
        .path()
        .parent()
        .map(|p| p.to_path_buf())
        .ok_or_else(|| BackupError::Invalid("the store has no data directory".into()))?;
    let upload = tempfile::Builder::new()
        .prefix(".restore-upload-")
        .tempfile_in(&data_dir)
        .map_err(BackupError::Io)?;
    let (file, path) = upload.into_parts();
    let mut file = std::io::BufWriter::new(file);
    let mut written = 0u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| RestoreError::Interrupted(e.to_string()))?;
        written += chunk.len() as u64;
        if written > MAX_ARCHIVE_BYTES {
            return Err(RestoreError::TooLarge);
        }
        // Small blocking writes into the page cache; a chunk is at most a few tens of KiB.
        file.write_all(&chunk).map_err(BackupError::Io)?;
    }
    file.flush().map_err(BackupError::Io)?;
    drop(file);
    // Only one restore may be staged: a second one waits here and is refused below.
    if m.restoring.swap(true, Ordering::SeqCst) {
        return Err(RestoreError::Busy);
    }
    // Checked and acted on in a task of its own: if this request is dropped meanwhile (the
    // client gave up), the check still ends in a restart or in `restoring` cleared, never in
    // an archive staged for some later start with no one told.
    let (dir, restoring, shutdown, folders) = (
        data_dir.clone(),
        m.restoring.clone(),
        state.shutdown.clone(),
        state.engine.folders.clone(),
    );
    let running_config = state
        .config_file
        .clone()
        .unwrap_or_else(|| data_dir.join(crate::config::CONFIG_FILE_NAME));
    let decided = tokio::spawn(async move {
        let staged = tokio::task::spawn_blocking(move || {
            // `path` (a TempPath) removes the upload when dropped: after a refusal, and
            // harmlessly after `stage` moved it.
            crate::backup::stage(&dir, &path, &running_config, &|p| folders.refuses(p))
        })
        .await
        .map_err(|e| BackupError::Io(std::io::Error::other(e)))
        .and_then(|staged| staged);
        match &staged {
            Ok(manifest) => {
                tracing::warn!(
                    created = %manifest.created,
                    version = %manifest.product_version,
                    "backup staged for restore: shutting down to apply it"
                );
                // Graceful: open connections finish their responses (this one included)
                // before the server stops; `serve` then starts itself again and applies the
                // archive first.
                tokio::spawn(async move { shutdown.cancel() });
            }
            Err(e) => {
                restoring.store(false, Ordering::SeqCst);
                tracing::warn!(error = %e, "restore refused");
            }
        }
        staged
    });
    let staged = decided
        .await
        .map_err(|e| BackupError::Io(std::io::Error::other(e)))
        .and_then(|staged| staged);
    Ok(staged?)
}
