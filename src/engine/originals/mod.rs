//! Replacing originals (`original = "replace"` or `"delete"`), restoring them, and finishing or
//! undoing either after a crash. ORIGINALS ARE SACRED: nothing here runs before the verified
//! output is durable at `<stem>.alchemist.<ext>`, no step overwrites a file (moves are
//! `link` + `unlink`, which fail if the target exists), every step checks the inode it was
//! planned for in a folder held open for the step (the trash folder opened from the
//! original's, never through a link: `at`), and each state is recorded in the store before
//! its step runs.
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

mod at;
mod purger;
mod recovery;
mod views;

use super::ledger::Ledger;
use crate::media::paths::{self, TRASH_DIR};
use crate::model::{JobId, LogLevel, OriginalPolicy, now_ms};
use crate::store::{Store, StoreError, TrashEntry, TrashState};

use at::Named;
pub(crate) use purger::Purger;
pub(crate) use recovery::recover_at_start;
pub use recovery::{purge_expired, recover};
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

/// The original's folder and its name in it, opened once for a step, and the job's trash
/// folder beside it (`create`: made if missing). Refused when the entry's trash path is not
/// where `plan_entry` puts it: every step goes from the original's folder.
fn original_and_trash(
    entry: &TrashEntry,
    create: bool,
) -> Result<(Named, Option<Named>), ReplaceError> {
    let beside = entry.original_path.parent().and_then(|dir| {
        let name = entry.original_path.file_name()?;
        Some(
            dir.join(TRASH_DIR)
                .join(entry.job_id.to_string())
                .join(name),
        )
    });
    if beside.as_deref() != Some(entry.trash_path.as_path()) {
        return Err(ReplaceError::Refused(format!(
            "the trash of {} is not beside it",
            paths::shown(&entry.original_path)
        )));
    }
    let Some(original) = Named::open(&entry.original_path)? else {
        return Err(ReplaceError::Refused(format!(
            "the folder of {} is gone",
            paths::shown(&entry.original_path)
        )));
    };
    let trash = original.trash(entry.job_id, create)?;
    Ok((original, trash))
}

/// Move the output between its `.alchemist.` name and its final name (`back`: to the
/// `.alchemist.` one), in the folder they share. Whether the destination name now names the
/// output.
fn move_output(entry: &TrashEntry, back: bool) -> io::Result<bool> {
    let (from, to) = if back {
        (&entry.final_path, &entry.output_path)
    } else {
        (&entry.output_path, &entry.final_path)
    };
    match Named::open_pair(from, to)? {
        (Some(from), Some(to)) => {
            at::move_no_replace(&from, &to, entry.output_inode)?;
            Ok(to.ino()? == Some(entry.output_inode))
        }
        _ => Ok(false),
    }
}

fn save(store: &Store, entry: &mut TrashEntry, state: TrashState) -> Result<(), StoreError> {
    entry.state = state;
    entry.updated_at = now_ms();
    store.trash_put(entry)
}

/// The forward steps; `entry` must already be stored in state `moving`.
pub fn forward(store: &Store, entry: &mut TrashEntry) -> Result<(), ReplaceError> {
    let ino = entry.original_inode;
    // The original's name must still name it before anything is made beside it (a folder
    // replaced by a link since the encode would have the trash folder made at the link's end);
    // a rerun after a crash finds it in the trash already.
    let (original, trash) = original_and_trash(entry, false)?;
    let trashed_already = match &trash {
        Some(t) => t.ino()? == Some(ino),
        None => false,
    };
    if original.ino()? != Some(ino) && !trashed_already {
        return Err(ReplaceError::Refused(format!(
            "{} is no longer the file that was encoded",
            paths::shown(&entry.original_path)
        )));
    }
    let trash = match trash {
        Some(t) => t,
        None => original
            .trash(entry.job_id, true)?
            .ok_or_else(|| ReplaceError::Refused("the trash folder could not be made".into()))?,
    };
    at::move_no_replace(&original, &trash, ino)?;
    if trash.ino()? != Some(ino) {
        return Err(ReplaceError::Refused(
            "the original could not be moved to the trash".into(),
        ));
    }
    // The final name taken by something else: the output keeps its `.alchemist.` name.
    if entry.final_path != entry.output_path && !move_output(entry, false)? {
        entry.final_path = entry.output_path.clone();
    }
    save(store, entry, TrashState::Trashed)?;
    Ok(())
}

/// Undo a replacement: output back to its `.alchemist.` name, original back in place.
pub fn undo(store: &Store, entry: &mut TrashEntry) -> Result<(), ReplaceError> {
    save(store, entry, TrashState::Restoring)?;
    if entry.final_path != entry.output_path {
        move_output(entry, true)?;
    }
    let ino = entry.original_inode;
    let Some(original) = Named::open(&entry.original_path)? else {
        return Err(ReplaceError::Refused(format!(
            "the folder of {} is gone; the original is still at {}",
            paths::shown(&entry.original_path),
            paths::shown(&entry.trash_path)
        )));
    };
    // The original still in place (the move never happened, or stopped after the link):
    // a second name of it in the trash is dropped, and anything else found there, even a
    // trash folder that cannot be opened, does not matter.
    if original.ino()? == Some(ino) {
        if let Ok(Some(trash)) = original.trash(entry.job_id, false)
            && trash.remove_if(ino)?
        {
            trash.sync()?;
        }
    } else {
        let (original, trash) = original_and_trash(entry, false)?;
        if let Some(trash) = &trash {
            at::move_no_replace(trash, &original, ino)?;
        }
        if original.ino()? != Some(ino) {
            return Err(ReplaceError::Refused(format!(
                "the original could not be put back at {} (the name is taken?); it is still at {}",
                paths::shown(&entry.original_path),
                paths::shown(&entry.trash_path)
            )));
        }
    }
    original.remove_empty_trash(entry.job_id);
    save(store, entry, TrashState::Restored)?;
    Ok(())
}

/// Remove the trashed original for good (purge after N days, or policy `delete`). What
/// cannot be looked at any more (the folder gone or renamed by the owner, the trash folder
/// replaced by a link or unreadable) has nothing of ours left to remove there: the entry is
/// purged with a warning, as the file is no longer where the box can reach it safely.
pub fn purge(store: &Store, entry: &mut TrashEntry) -> Result<(), ReplaceError> {
    if entry.state != TrashState::Trashed {
        return Err(ReplaceError::Refused(format!(
            "only a trashed original can be purged (state {:?})",
            entry.state
        )));
    }
    let removed = original_and_trash(entry, false).and_then(|(original, trash)| {
        if let Some(trash) = trash
            && trash.remove_if(entry.original_inode)?
        {
            trash.sync()?;
        }
        original.remove_empty_trash(entry.job_id);
        Ok(())
    });
    match removed {
        Ok(()) => {}
        Err(ReplaceError::Store(e)) => return Err(e.into()),
        Err(why) => tracing::warn!(
            job = entry.job_id,
            path = ?entry.trash_path,
            %why,
            "the trashed original could not be looked at; its entry is purged"
        ),
    }
    save(store, entry, TrashState::Purged)?;
    Ok(())
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
    let result =
        tokio::task::spawn_blocking(move || -> Result<(PathBuf, OriginalPolicy), ReplaceError> {
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
            // The output has the original's place now: a purge that fails leaves the original
            // in the trash, as `replace` would.
            if policy == OriginalPolicy::Delete
                && let Err(e) = purge(&store, &mut entry)
            {
                tracing::warn!(job = id.0, error = %e, "the trashed original could not be deleted");
                return Ok((entry.final_path, OriginalPolicy::Replace));
            }
            Ok((entry.final_path, policy))
        })
        .await
        .map_err(|e| ReplaceError::Refused(e.to_string()))
        .and_then(|r| r);
    match result {
        Ok((final_path, policy)) => {
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

/// Remove the encoded output after a restore (the owner undid the encode), if it is still the
/// file this replacement made. The original is back in place before this runs.
fn remove_output_of(store: &Store, entry: &mut TrashEntry) -> Result<(), ReplaceError> {
    if let Some(output) = Named::open(&entry.output_path)?
        && output.remove_if(entry.output_inode)?
    {
        output.sync()?;
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
