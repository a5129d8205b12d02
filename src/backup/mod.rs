//! Backups of the appliance's state: the store and the config file in one tar archive with a
//! manifest. A backup is taken while the server runs: the store is copied from one read
//! transaction into a fresh redb file (`store::snapshot`), a temp file in the data directory
//! that is removed once the archive holds it, so a backup is the state of one commit. Tar (the
//! `tar` crate) because it streams both ways without seeking, every system can open it, and
//! a redb file does not compress much.
//!
//! Archive layout, in this order: `manifest.json`, `alchemist.redb`, `alchemist.toml` (when the
//! server has a config file). The manifest's `format_version` is bumped only when the layout
//! changes; a release restores every format from 1 to its own ([`FORMAT_VERSION`]), so a
//! backup from an older release restores into a newer one (the store upgrades its records on
//! read, as it does after a firmware update).

mod pending;
mod restore;

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use pending::{PENDING_FILE, apply_pending, pending_path, stage};
pub use restore::{RestoreOutcome, restore, validate};

use crate::store::snapshot::TableCount;
use crate::store::{DB_FILE, Store, StoreError};

/// Layout version of the archive this release writes.
pub const FORMAT_VERSION: u32 = 1;
/// `product` in every manifest: a tar from another program is refused.
pub const PRODUCT: &str = "alchemist";
/// Archive entry names.
pub const MANIFEST_ENTRY: &str = "manifest.json";
pub const STORE_ENTRY: &str = DB_FILE;
pub const CONFIG_ENTRY: &str = crate::config::CONFIG_FILE_NAME;
/// Automatic backups and the safety copy taken before a restore live here, in the data dir.
pub const BACKUPS_DIR: &str = "backups";
/// File name suffix of every archive.
pub const EXTENSION: &str = ".tar";

/// What an archive holds, written first in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Manifest {
    pub format_version: u32,
    pub product: String,
    /// The release that wrote it.
    pub product_version: String,
    /// RFC 3339 UTC.
    pub created: String,
    /// Every store table with its row count at the snapshot.
    pub tables: Vec<TableCount>,
    /// Whether `alchemist.toml` is in the archive.
    pub config: bool,
}

/// Why a backup could not be made or restored; `code()` is the API's stable error code.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("the store could not be copied: {0}")]
    Store(#[from] StoreError),
    #[error("backup I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a valid backup: {0}")]
    Invalid(String),
}

impl BackupError {
    pub fn code(&self) -> &'static str {
        match self {
            BackupError::Store(_) | BackupError::Io(_) => "BACKUP_FAILED",
            BackupError::Invalid(_) => "BACKUP_INVALID",
        }
    }
}

pub type Result<T> = std::result::Result<T, BackupError>;

/// `alchemist-backup-20261205T234000.123Z.tar` for a backup taken at `ms` (UTC; the
/// milliseconds keep two backups in one second apart, and the names sort by time).
pub fn file_name(ms: i64) -> String {
    let whole = crate::model::rfc3339(ms - ms.rem_euclid(1000));
    let stamp: String = whole
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!(
        "alchemist-backup-{stamp}.{:03}Z{EXTENSION}",
        ms.rem_euclid(1000)
    )
}

/// Write an archive of the running store (and `config_file`, when given and present) to
/// `out`. The store snapshot is a temp file in `data_dir` (the same filesystem as the store,
/// which has the room), removed before this returns.
pub fn write_archive(
    store: &Store,
    config_file: Option<&Path>,
    data_dir: &Path,
    out: impl Write,
) -> Result<Manifest> {
    let temp = tempfile::Builder::new()
        .prefix(".backup-")
        .suffix(".redb")
        .tempfile_in(data_dir)?;
    // redb creates the file itself: hand it the path of one that does not exist yet.
    let snapshot_path = temp.path().to_path_buf();
    drop(temp);
    let removed = RemoveOnDrop(snapshot_path.clone());
    let tables = store.snapshot_to(&snapshot_path)?;
    let config = config_file.filter(|p| p.is_file());
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        product: PRODUCT.to_string(),
        product_version: env!("CARGO_PKG_VERSION").to_string(),
        created: crate::model::rfc3339(crate::model::now_ms()),
        tables,
        config: config.is_some(),
    };
    let mut tar = tar::Builder::new(out);
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Invalid(format!("manifest: {e}")))?;
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    header.set_mtime((crate::model::now_ms() / 1000).max(0) as u64);
    header.set_cksum();
    tar.append_data(&mut header, MANIFEST_ENTRY, json.as_slice())?;
    tar.append_path_with_name(&snapshot_path, STORE_ENTRY)?;
    if let Some(config) = config {
        tar.append_path_with_name(config, CONFIG_ENTRY)?;
    }
    tar.into_inner()?.flush()?;
    drop(removed);
    Ok(manifest)
}

/// An archive in an anonymous temp file in `data_dir` (unlinked at once, so nothing is left
/// behind however the download ends), rewound for reading.
pub fn archive_to_temp(
    store: &Store,
    config_file: Option<&Path>,
    data_dir: &Path,
) -> Result<(std::fs::File, Manifest)> {
    let mut file = tempfile::tempfile_in(data_dir)?;
    let manifest = write_archive(store, config_file, data_dir, std::io::BufWriter::new(&file))?;
    file.rewind()?;
    Ok((file, manifest))
}

/// Write an archive into `dir` under its dated name, atomically (a `.partial` file renamed
/// when complete), and return its path.
pub fn archive_into(
    store: &Store,
    config_file: Option<&Path>,
    data_dir: &Path,
    dir: &Path,
    prefix: &str,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = format!("{prefix}{}", file_name(crate::model::now_ms()));
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}.partial"));
    let guard = RemoveOnDrop(partial.clone());
    let file = std::fs::File::create(&partial)?;
    write_archive(store, config_file, data_dir, std::io::BufWriter::new(&file))?;
    file.sync_all()?;
    std::fs::rename(&partial, &path)?;
    std::mem::forget(guard);
    Ok(path)
}

/// The archives in `dir` written by [`archive_into`] with `prefix`, oldest first (the names
/// sort by time).
pub fn list(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("{prefix}alchemist-backup-")) && name.ends_with(EXTENSION) {
            found.push(dir.join(name));
        }
    }
    found.sort();
    Ok(found)
}

/// Removes a path when dropped (temp files on every exit path).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
