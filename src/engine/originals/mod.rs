//! Replacing originals (`original = "replace"` or `"delete"`), restoring them, and finishing or
//! undoing either after a crash. ORIGINALS ARE SACRED: nothing here runs before the verified
//! output is durable at `<stem>.alchemist.<ext>`, no step overwrites a file (moves are
//! `link` + `unlink`, which fail if the target exists), every step checks the inode it was
//! planned for, and each state is recorded in the store before its step runs.
//!
//! Forward (state `moving`): original → `.alchemist-trash/<job>/<name>` beside it (same
//! filesystem), then output → `<stem>.<ext>` when that name is free (an output under the
//! profile's `output_root` stays where it is: `delete` only); state `trashed`; the job
//! commits `completed`. Undo/restore (state `restoring`): output back to its `.alchemist.`
//! name, original back from the trash; state `restored`. At boot, a replacement whose job did
//! not reach `completed` (state `moving`, or `trashed` with the job still active) and any
//! `restoring` entry are undone, so the interrupted job simply runs again. Every step is
//! idempotent, so a crash inside recovery is recovered by the next boot.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

mod purger;
mod views;

use super::ledger::Ledger;
use crate::media::paths::{self, TRASH_DIR};
use crate::model::{JobId, LogLevel, OriginalPolicy, now_ms};
use crate::store::{Store, StoreError, TrashEntry, TrashState};

pub(crate) use purger::Purger;
pub use views::{RestoreError, TrashView, restore_view, view_of, views};

/// Errors of a replacement or restore.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error("file system: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Refused(String),
}

/// The entry for replacing `original` by the promoted `output` of job `id`.
pub fn plan_entry(
    id: JobId,
    attempt: u32,
    original: &Path,
    output: &Path,
) -> io::Result<TrashEntry> {
    let dir = original.parent().unwrap_or(Path::new("."));
    let name = original
        .file_name()
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let trash_path = dir.join(TRASH_DIR).join(id.0.to_string()).join(name);
    // `<stem>.<output ext>`: the original's own name when the container is unchanged. An
    // output under the profile's output root stays where it is (only `delete` gets here with
    // one: `replace` with an output root is refused when the profile is saved).
    let mut final_path = original.to_path_buf();
    if output.parent() != original.parent() {
        final_path = output.to_path_buf();
    } else if let Some(ext) = output.extension() {
        final_path.set_extension(ext);
    }
    let now = now_ms();
    Ok(TrashEntry {
        job_id: id.0,
        attempt,
        original_inode: std::fs::metadata(original)?.ino(),
        output_inode: std::fs::metadata(output)?.ino(),
        original_path: original.to_path_buf(),
        trash_path,
        output_path: output.to_path_buf(),
        final_path,
        state: TrashState::Moving,
        created_at: now,
        updated_at: now,
        output_removed: false,
    })
}

fn inode(path: &Path) -> Option<u64> {
    std::fs::symlink_metadata(path).ok().map(|m| m.ino())
}

fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// Move `from` to `to` without ever replacing `to`, if `from` is still file `ino`. Idempotent:
/// a crash between link and unlink leaves two names of one inode, which the rerun resolves.
fn move_no_replace(from: &Path, to: &Path, ino: u64) -> io::Result<()> {
    match (inode(from), inode(to)) {
        (Some(f), None) if f == ino => {
            std::fs::hard_link(from, to)?;
            sync_dir(to)?;
            std::fs::remove_file(from)?;
            sync_dir(from)
        }
        (Some(f), Some(t)) if f == ino && t == ino => {
            std::fs::remove_file(from)?;
            sync_dir(from)
        }
        // Already moved, or not ours to move: leave everything as it is.
        _ => Ok(()),
    }
}

fn save(store: &Store, entry: &mut TrashEntry, state: TrashState) -> Result<(), StoreError> {
    entry.state = state;
    entry.updated_at = now_ms();
    store.trash_put(entry)
}

/// The forward steps; `entry` must already be stored in state `moving`.
pub fn forward(store: &Store, entry: &mut TrashEntry) -> Result<(), ReplaceError> {
    // The original's name must still name it before anything is made beside it (a folder
    // replaced by a link since the encode would have the trash folder made at the link's end).
    if inode(&entry.original_path) != Some(entry.original_inode)
        && inode(&entry.trash_path) != Some(entry.original_inode)
    {
        return Err(ReplaceError::Refused(format!(
            "{} is no longer the file that was encoded",
            paths::shown(&entry.original_path)
        )));
    }
    if let Some(dir) = entry.trash_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    move_no_replace(
        &entry.original_path,
        &entry.trash_path,
        entry.original_inode,
    )?;
    if inode(&entry.trash_path) != Some(entry.original_inode) {
        return Err(ReplaceError::Refused(
            "the original could not be moved to the trash".into(),
        ));
    }
    if entry.final_path != entry.output_path {
        move_no_replace(&entry.output_path, &entry.final_path, entry.output_inode)?;
        if inode(&entry.final_path) != Some(entry.output_inode) {
            // The name is taken by something else: the output keeps its `.alchemist.` name.
            entry.final_path = entry.output_path.clone();
        }
    }
    save(store, entry, TrashState::Trashed)?;
    Ok(())
}

/// Undo a replacement: output back to its `.alchemist.` name, original back in place.
pub fn undo(store: &Store, entry: &mut TrashEntry) -> Result<(), ReplaceError> {
    save(store, entry, TrashState::Restoring)?;
    if entry.final_path != entry.output_path {
        move_no_replace(&entry.final_path, &entry.output_path, entry.output_inode)?;
    }
    move_no_replace(
        &entry.trash_path,
        &entry.original_path,
        entry.original_inode,
    )?;
    if inode(&entry.original_path) != Some(entry.original_inode) {
        return Err(ReplaceError::Refused(format!(
            "the original could not be put back at {} (the name is taken?); it is still at {}",
            paths::shown(&entry.original_path),
            paths::shown(&entry.trash_path)
        )));
    }
    if let Some(dir) = entry.trash_path.parent() {
        let _ = std::fs::remove_dir(dir);
        if let Some(top) = dir.parent() {
            let _ = std::fs::remove_dir(top);
        }
    }
    save(store, entry, TrashState::Restored)?;
    Ok(())
}

/// Remove the trashed original for good (purge after N days, or policy `delete`).
pub fn purge(store: &Store, entry: &mut TrashEntry) -> Result<(), ReplaceError> {
    if entry.state != TrashState::Trashed {
        return Err(ReplaceError::Refused(format!(
            "only a trashed original can be purged (state {:?})",
            entry.state
        )));
    }
    if inode(&entry.trash_path) == Some(entry.original_inode) {
        std::fs::remove_file(&entry.trash_path)?;
        sync_dir(&entry.trash_path)?;
    }
    if let Some(dir) = entry.trash_path.parent() {
        let _ = std::fs::remove_dir(dir);
        if let Some(top) = dir.parent() {
            let _ = std::fs::remove_dir(top);
        }
    }
    save(store, entry, TrashState::Purged)?;
    Ok(())
}

/// Purge trashed originals older than `trash_days` whose job is not running. Safe while the
/// engine runs (an in-flight replacement's job is active, so it is never purged).
pub fn purge_expired(store: &Store, trash_days: u32) -> Result<usize, ReplaceError> {
    let expiry = i64::from(trash_days) * 86_400_000;
    let mut purged = 0;
    for mut entry in store.trash_list()? {
        let running = store
            .get_job(JobId(entry.job_id))
            .is_ok_and(|j| j.status.is_active());
        if entry.state == TrashState::Trashed && !running && now_ms() - entry.updated_at >= expiry {
            purge(store, &mut entry)?;
            purged += 1;
        }
    }
    Ok(purged)
}

/// Boot recovery: undo every replacement whose job did not complete; purge expired entries.
/// Returns the paths restored.
pub fn recover(store: &Store, trash_days: u32) -> Result<Vec<PathBuf>, ReplaceError> {
    let mut restored = Vec::new();
    let expiry = i64::from(trash_days) * 86_400_000;
    for mut entry in store.trash_list()? {
        // Interrupted: the run that made this replacement was still active at the crash.
        let interrupted = store
            .get_job(JobId(entry.job_id))
            .is_ok_and(|j| j.status.is_active() && j.attempt_count == entry.attempt);
        let incomplete = match entry.state {
            TrashState::Moving | TrashState::Restoring => true,
            TrashState::Trashed => interrupted,
            TrashState::Restored | TrashState::Purged => false,
        };
        if incomplete {
            undo(store, &mut entry)?;
            restored.push(entry.original_path.clone());
        } else if entry.state == TrashState::Trashed && now_ms() - entry.updated_at >= expiry {
            purge(store, &mut entry)?;
        }
    }
    Ok(restored)
}

/// After promotion: keep, replace or delete the original as the job's profile says. Returns
/// where the output ends up and what was done with the original. A replacement that cannot be
/// completed is undone and the job completes as `keep`, with the reason in its log.
///
/// `encoded` is the (device, inode) of the file the run opened and encoded: the original's
/// name must still name it, or nothing is moved (a folder replaced by a link since the
/// encode leads to another file).
pub(crate) async fn apply_policy(
    ledger: &Ledger,
    id: JobId,
    attempt: u32,
    input: &Path,
    encoded: (u64, u64),
    output: PathBuf,
    policy: OriginalPolicy,
) -> (PathBuf, OriginalPolicy) {
    if policy == OriginalPolicy::Keep {
        return (output, OriginalPolicy::Keep);
    }
    let (input2, output2) = (input.to_path_buf(), output.clone());
    let store = ledger.store().clone();
    let result = tokio::task::spawn_blocking(move || -> Result<PathBuf, ReplaceError> {
        let there = std::fs::symlink_metadata(&input2)?;
        if (there.dev(), there.ino()) != encoded {
            return Err(ReplaceError::Refused(format!(
                "{} is no longer the file that was encoded",
                paths::shown(&input2)
            )));
        }
        let mut entry = plan_entry(id, attempt, &input2, &output2)?;
        store.trash_put(&entry)?;
        if let Err(e) = forward(&store, &mut entry) {
            undo(&store, &mut entry)?;
            return Err(e);
        }
        if policy == OriginalPolicy::Delete {
            purge(&store, &mut entry)?;
        }
        Ok(entry.final_path)
    })
    .await
    .map_err(|e| ReplaceError::Refused(e.to_string()))
    .and_then(|r| r);
    match result {
        Ok(final_path) => {
            let what = if policy == OriginalPolicy::Delete {
                "deleted"
            } else {
                "moved to the trash"
            };
            let line = format!(
                "original {what} ({}); output now {}",
                paths::shown(input),
                paths::shown(&final_path)
            );
            ledger.log(id, LogLevel::Info, line).await;
            (final_path, policy)
        }
        Err(e) => {
            let line = format!("the original was kept: replacing it failed ({e})");
            ledger.log(id, LogLevel::Warning, line).await;
            (output, OriginalPolicy::Keep)
        }
    }
}

/// Undo interrupted replacements and purge expired ones; runs at boot before jobs are
/// re-queued.
pub(crate) async fn recover_at_start(store: &Store, trash_days: u32) -> Result<(), StoreError> {
    let restored = store
        .call(move |s| {
            recover(s, trash_days).map_err(|e| match e {
                ReplaceError::Store(e) => e,
                other => StoreError::Task(other.to_string()),
            })
        })
        .await?;
    for path in restored {
        tracing::warn!(path = ?path, "undid a replacement interrupted by a crash");
    }
    Ok(())
}

/// Remove the encoded output after a restore (the owner undid the encode), if it is still the
/// file this replacement made. The original is back in place before this runs.
fn remove_output_of(store: &Store, entry: &mut TrashEntry) -> Result<(), ReplaceError> {
    if inode(&entry.output_path) == Some(entry.output_inode) {
        std::fs::remove_file(&entry.output_path)?;
        sync_dir(&entry.output_path)?;
    }
    entry.output_removed = true;
    save(store, entry, TrashState::Restored)?;
    Ok(())
}

/// Put a trashed original back (`POST /api/trash/{job}/restore`); with `remove_output` the
/// encoded output is removed too, otherwise it stays beside the original under its
/// `.alchemist.` name. `Ok(None)`: no entry; `Ok(Some(Err(why)))`: the entry cannot be
/// restored.
pub(crate) async fn restore(
    store: &Store,
    job: u64,
    remove_output: bool,
) -> Result<Option<Result<TrashEntry, String>>, StoreError> {
    store
        .call(move |s| {
            let Some(mut e) = s.trash_get(job)? else {
                return Ok(None);
            };
            if e.state != TrashState::Trashed {
                let why = match e.state {
                    TrashState::Restored => "the original was restored already",
                    TrashState::Purged => "the original was purged from the trash",
                    _ => "a replacement or restore of it is under way",
                };
                return Ok(Some(Err(format!("Nothing to restore: {why}."))));
            }
            let done = undo(s, &mut e).and_then(|()| {
                if remove_output {
                    remove_output_of(s, &mut e)?;
                }
                Ok(())
            });
            let what = if remove_output {
                "original restored from the trash; the encoded copy was removed"
            } else {
                "original restored from the trash; the encoded copy stays beside it"
            };
            Ok(Some(match done {
                Ok(()) => {
                    s.append_log(JobId(job), LogLevel::Info, what)?;
                    Ok(e)
                }
                Err(ReplaceError::Store(e)) => return Err(e),
                Err(other) => Err(other.to_string()),
            }))
        })
        .await
}
