//! Restore: check an archive completely before anything is replaced, keep a backup of the
//! current state, then put the archive's store and config in place by rename (each file is
//! replaced atomically: a crash leaves either the old or the new file, never a torn one).
//! The server must not be running on the data directory: the store's lock is taken to back
//! the current state up, which refuses a directory in use.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{
    BACKUPS_DIR, BackupError, CONFIG_ENTRY, FORMAT_VERSION, MANIFEST_ENTRY, Manifest, PRODUCT,
    Result, STORE_ENTRY, archive_into,
};
use crate::store::{DB_FILE, Store, snapshot};

/// Largest manifest read: a manifest is a few hundred bytes; this refuses a foreign archive
/// with a huge first entry before it is read into memory.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// Largest store file taken from an archive: far beyond a store of a million jobs, and a bound
/// on what a sparse entry (holes filled in on reading) can write into the data folder.
const MAX_STORE_BYTES: u64 = 8 << 30;
/// Largest config file taken from an archive (ours are a few KiB).
const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Settings that tie the server to this machine and set its boundaries: the programs it runs
/// as root (`ffmpeg`, `ffprobe`), where it listens and keeps its data, its TLS key, the
/// `[security]` limits (library roots among them), the board's GPIO and the trusted proxies.
/// A restore over the network (a full-access token, not the console) may not change them:
/// otherwise a token would be a way to run any program as root. `alchemist restore` on the
/// box may.
const HOST_KEYS: &[&str] = &[
    "data_dir",
    "listen",
    "libraries",
    "ffmpeg",
    "ffprobe",
    "tls",
    "security",
    "board",
    "proxy",
];
/// Name of the staging directory inside the data directory.
const STAGING_DIR: &str = ".restore-staging";
/// Prefix of the safety backup taken before a restore.
pub const PRE_RESTORE_PREFIX: &str = "pre-restore-";

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreOutcome {
    pub manifest: Manifest,
    /// The backup of the state that was replaced (none for an empty data directory).
    pub previous: Option<PathBuf>,
}

fn invalid(why: impl std::fmt::Display) -> BackupError {
    BackupError::Invalid(why.to_string())
}

/// Unpack `archive` into `staging` (which is emptied first) and check it: a manifest of
/// this product in a format this release reads, a store file that opens with the required
/// tables and the row counts the manifest lists, and a config file that parses.
pub fn validate(archive: &Path, staging: &Path) -> Result<Manifest> {
    let _ = std::fs::remove_dir_all(staging);
    std::fs::create_dir_all(staging)?;
    let file = std::fs::File::open(archive)?;
    let mut tar = tar::Archive::new(file);
    let mut manifest: Option<Manifest> = None;
    let mut has_store = false;
    let mut has_config = false;
    for entry in tar.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        let name = entry
            .path()
            .map_err(invalid)?
            .to_string_lossy()
            .into_owned();
        match name.as_str() {
            MANIFEST_ENTRY if manifest.is_none() => {
                regular(&entry, MANIFEST_ENTRY)?;
                let mut json = Vec::new();
                (&mut entry)
                    .take(MAX_MANIFEST_BYTES)
                    .read_to_end(&mut json)?;
                let m: Manifest = serde_json::from_slice(&json)
                    .map_err(|e| invalid(format!("the manifest is unreadable: {e}")))?;
                check_manifest(&m)?;
                manifest = Some(m);
            }
            // Only the two known files, as regular files written under fixed names: nothing
            // in an archive chooses a path on this system (no link, no device, no mode).
            STORE_ENTRY if manifest.is_some() && !has_store => {
                copy_out(&mut entry, &staging.join(STORE_ENTRY), MAX_STORE_BYTES)?;
                has_store = true;
            }
            CONFIG_ENTRY if manifest.is_some() && !has_config => {
                copy_out(&mut entry, &staging.join(CONFIG_ENTRY), MAX_CONFIG_BYTES)?;
                has_config = true;
            }
            other => return Err(invalid(format!("unexpected entry `{other}`"))),
        }
    }
    let manifest = manifest.ok_or_else(|| invalid("no manifest"))?;
    if !has_store {
        return Err(invalid("no store file"));
    }
    if has_config != manifest.config {
        return Err(invalid("the config file does not match the manifest"));
    }
    let tables = snapshot::inspect_file(&staging.join(STORE_ENTRY))
        .map_err(|e| invalid(format!("the store does not open: {e}")))?;
    for listed in &manifest.tables {
        let found = tables.iter().find(|t| t.name == listed.name);
        if found.map(|t| t.rows) != Some(listed.rows) {
            return Err(invalid(format!(
                "table `{}` does not hold the {} rows the manifest lists",
                listed.name, listed.rows
            )));
        }
    }
    if has_config {
        let text = std::fs::read_to_string(staging.join(CONFIG_ENTRY))?;
        toml::from_str::<crate::config::FileConfig>(&text)
            .map_err(|e| invalid(format!("the config file does not parse: {e}")))?;
    }
    Ok(manifest)
}

/// Refuse an entry that is not a regular file (a symbolic or hard link, a device, a FIFO). A
/// GNU sparse entry is a regular file whose holes are not stored: the `tar` crate's builder
/// writes the store that way when it has holes, and reading it fills them in.
fn regular<R: Read>(entry: &tar::Entry<'_, R>, name: &str) -> Result<()> {
    let kind = entry.header().entry_type();
    if kind.is_file() || kind.is_gnu_sparse() {
        Ok(())
    } else {
        Err(invalid(format!(
            "`{name}` is not a regular file in the archive (a link or a device)"
        )))
    }
}

/// Write a regular-file entry to `to` (a new file, mode 0600: the store holds password hashes
/// and secrets), at most `limit` bytes.
fn copy_out<R: Read>(entry: &mut tar::Entry<'_, R>, to: &Path, limit: u64) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = to
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    regular(entry, &name)?;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)?;
    let copied = std::io::copy(&mut entry.take(limit.saturating_add(1)), &mut out)?;
    if copied > limit {
        return Err(invalid(format!("`{name}` is larger than {limit} bytes")));
    }
    out.sync_all()?;
    Ok(())
}

/// The [`HOST_KEYS`] whose values differ between the config file `staged` (from an archive)
/// and `current` (this box's; a missing one counts as empty).
pub fn host_settings_changed(staged: &Path, current: &Path) -> Result<Vec<&'static str>> {
    let table = |path: &Path| -> Result<toml::Table> {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e.into()),
        };
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        toml::from_str(&text).map_err(|e| invalid(format!("{name} does not parse: {e}")))
    };
    let (new, old) = (table(staged)?, table(current)?);
    Ok(HOST_KEYS
        .iter()
        .copied()
        .filter(|k| new.get(*k) != old.get(*k))
        .collect())
}

fn check_manifest(m: &Manifest) -> Result<()> {
    if m.product != PRODUCT {
        return Err(invalid(format!("made by `{}`, not {PRODUCT}", m.product)));
    }
    if m.format_version == 0 || m.format_version > FORMAT_VERSION {
        return Err(invalid(format!(
            "format {} is not one this release reads (1 to {FORMAT_VERSION}); a newer release wrote it",
            m.format_version
        )));
    }
    Ok(())
}

/// Restore `archive` into `data_dir` (the server stopped): validate it, back up the current
/// state into `<data_dir>/backups/`, then rename the new store and config into place.
pub fn restore(data_dir: &Path, archive: &Path) -> Result<RestoreOutcome> {
    std::fs::create_dir_all(data_dir)?;
    let staging = data_dir.join(STAGING_DIR);
    let outcome = restore_staged(data_dir, archive, &staging);
    let _ = std::fs::remove_dir_all(&staging);
    outcome
}

fn restore_staged(data_dir: &Path, archive: &Path, staging: &Path) -> Result<RestoreOutcome> {
    let manifest = validate(archive, staging)?;
    let config_path = data_dir.join(CONFIG_ENTRY);
    let previous = if data_dir.join(DB_FILE).exists() {
        let store = Store::open(data_dir)?;
        let path = archive_into(
            &store,
            Some(&config_path),
            data_dir,
            &data_dir.join(BACKUPS_DIR),
            PRE_RESTORE_PREFIX,
        )?;
        drop(store);
        Some(path)
    } else {
        None
    };
    std::fs::rename(staging.join(STORE_ENTRY), data_dir.join(DB_FILE))?;
    if manifest.config {
        std::fs::rename(staging.join(CONFIG_ENTRY), &config_path)?;
    }
    Ok(RestoreOutcome { manifest, previous })
}
