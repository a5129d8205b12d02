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
///
/// This is the restore over the network, so beyond `validate` the archive may not change the
/// settings that bind the box ([`super::restore::host_settings_changed`], against
/// `running_config`: the file the server was started with, `<data>/alchemist.toml` when none)
/// nor bring library folders the running policy refuses (`refuses`, the `[security]
/// library_roots` check of adding a folder): a full-access token is not root on the box. The
/// console's `alchemist restore` has neither limit.
pub fn stage(
    data_dir: &Path,
    upload: &Path,
    running_config: &Path,
    refuses: &dyn Fn(&Path) -> Option<String>,
) -> Result<Manifest> {
    let check = data_dir.join(CHECK_DIR);
    let checked = validate(upload, &check).and_then(|m| {
        within_bounds(running_config, &check, &m, refuses)?;
        Ok(m)
    });
    let _ = std::fs::remove_dir_all(&check);
    let manifest = checked?;
    std::fs::rename(upload, pending_path(data_dir))?;
    Ok(manifest)
}

/// The checked archive unpacked in `check` keeps this box's host settings and folder policy.
fn within_bounds(
    running_config: &Path,
    check: &Path,
    manifest: &Manifest,
    refuses: &dyn Fn(&Path) -> Option<String>,
) -> Result<()> {
    let invalid = |why: String| super::BackupError::Invalid(why);
    if manifest.config {
        let changed = super::restore::host_settings_changed(
            &check.join(super::CONFIG_ENTRY),
            running_config,
        )?;
        if !changed.is_empty() {
            return Err(invalid(format!(
                "its configuration changes settings a restore over the network may not change \
                 ({}); restore it on the box with `alchemist restore`, or make a backup whose \
                 configuration has this box's values",
                changed.join(", ")
            )));
        }
    }
    let folders = crate::store::snapshot::folder_paths(&check.join(super::STORE_ENTRY))
        .map_err(|e| invalid(format!("its library folders cannot be read: {e}")))?;
    for folder in folders {
        if let Some(why) = refuses(&folder) {
            return Err(invalid(format!(
                "it holds a library folder this box does not allow: {why}"
            )));
        }
    }
    Ok(())
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
