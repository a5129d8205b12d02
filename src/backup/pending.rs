//! A restore requested while the server runs (the system page, `POST /api/system/restore`).
//! The running server cannot replace its own open store, so the restore is split in two: the
//! server checks the uploaded archive completely ([`stage`]: the same `validate` as
//! `alchemist restore`) and keeps it as `<data>/restore-pending.tar`, then shuts down; the
//! next start, before the store opens, applies it ([`apply_pending`]: the CLI's `restore`,
//! which first backs the current state up into `<data>/backups/`). The `serve` command
//! starts itself again at once (it re-executes itself); a crash or power cut in between
//! leaves the staged archive, which the next start applies. An archive that fails at apply
//! time is moved aside, never retried in a loop: the server starts on the state it had.

use std::path::{Path, PathBuf};

use super::{BACKUPS_DIR, Manifest, RestoreOutcome, Result, restore, validate};

/// The checked archive waiting for the next start.
pub const PENDING_FILE: &str = "restore-pending.tar";
/// Where [`stage`] unpacks an upload to check it (emptied afterwards).
const CHECK_DIR: &str = ".restore-check";

/// `<data_dir>/restore-pending.tar`.
pub fn pending_path(data_dir: &Path) -> PathBuf {
    data_dir.join(PENDING_FILE)
}

/// Check `upload` (a complete archive in `data_dir`) and, when it is valid, move it to the
/// pending path. A refused archive is left where it is (the caller's temp file) and nothing
/// in the data directory changes.
pub fn stage(data_dir: &Path, upload: &Path) -> Result<Manifest> {
    let check = data_dir.join(CHECK_DIR);
    let checked = validate(upload, &check);
    let _ = std::fs::remove_dir_all(&check);
    let manifest = checked?;
    std::fs::rename(upload, pending_path(data_dir))?;
    Ok(manifest)
}

/// Apply a staged restore, if there is one (at start, before the store opens). When it
/// cannot be applied, the archive is moved to `<data>/backups/restore-refused-<name>` and
/// the error returned; the data directory is as it was.
pub fn apply_pending(data_dir: &Path) -> Result<Option<RestoreOutcome>> {
    let pending = pending_path(data_dir);
    if !pending.is_file() {
        return Ok(None);
    }
    match restore(data_dir, &pending) {
        Ok(done) => {
            std::fs::remove_file(&pending)?;
            Ok(Some(done))
        }
        Err(e) => {
            let aside = data_dir.join(BACKUPS_DIR);
            std::fs::create_dir_all(&aside)?;
            let name = format!(
                "restore-refused-{}",
                super::file_name(crate::model::now_ms())
            );
            std::fs::rename(&pending, aside.join(name))?;
            Err(e)
        }
    }
}
