//! The `prepare` stage: the output's name and folder (beside the source, or under the
//! profile's output root, checked and held open), room on its filesystem, the temp file, and
//! the job's move to encoding.

use std::path::{Path, PathBuf};

use super::stages::{Planned, Source};
use super::target::Target;
use super::{JobContext, Progress, Stop};
use crate::engine::failure::{self, Failure};
use crate::media::paths;

/// Name the output (beside the source, or under the profile's output root) and its temp file
/// beside it, create (and hold open) the output's folder, check there is room on its
/// filesystem, create the temp file (held in `run` from then on, so the clean-up removes it
/// however the run ends), and move the job to encoding (or remuxing). Returns the output's
/// path and the temp file's path as ffmpeg writes it.
pub(super) async fn prepare(
    ctx: &JobContext,
    source: &Source,
    planned: &Planned,
    run: &mut Progress,
) -> Result<(PathBuf, PathBuf), Stop> {
    let min_saving = planned.profile.min_saving_percent;
    let location = &planned.profile.output;
    let output = paths::output_path_for(
        &source.path,
        planned.plan.container,
        &location.output_suffix,
        location.output_root.as_deref(),
        planned.library.as_deref(),
    );
    if output == source.path {
        // Never reached with a validated profile (a suffix is required beside the source);
        // renaming over the source would destroy it, so this is refused whatever happened.
        return Err(Failure::OutputLocation {
            why: format!(
                "the output would replace the source {}",
                paths::shown(&source.path)
            ),
        }
        .into());
    }
    let dir = if location.output_root.is_some() {
        output_folder(ctx, location, &output).await?
    } else {
        source.dir.try_clone().map_err(Failure::Promote)?
    };
    if let Ok(free) = crate::process::free_bytes(&super::target::fd_path(&dir))
        && let Some(why) = failure::space_guard(free, source.size, min_saving)
    {
        return Err(why.into());
    }
    let temp = paths::temp_path(&output, ctx.id());
    let longest = output.as_os_str().len().max(temp.as_os_str().len());
    if longest >= libc::PATH_MAX as usize {
        return Err(Failure::NameTooLong { bytes: longest }.into());
    }
    run.segments = Some(paths::segments_dir(&output, ctx.id()));
    let (out, tmp) = (output.clone(), temp.clone());
    let target = tokio::task::spawn_blocking(move || Target::create(dir, out, tmp))
        .await
        .map_err(|e| Failure::Internal {
            summary: "The temp file could not be created.",
            detail: e.to_string(),
        })?
        .map_err(|e| match e.raw_os_error() {
            // What another attempt would meet again: the folder refuses the file.
            Some(
                libc::EACCES
                | libc::EPERM
                | libc::EROFS
                | libc::EISDIR
                | libc::ENOTDIR
                | libc::ELOOP
                | libc::EEXIST
                | libc::ENAMETOOLONG,
            ) => Failure::OutputLocation {
                why: format!("the temp file could not be created in its folder: {e}"),
            },
            // Space, a share's hiccup, too many open files: retried.
            _ => Failure::Promote(e),
        })?;
    let temp_path = target.temp_path();
    let temp_id = target.temp_id().ok();
    run.target = Some(target);
    let id = ctx.id();
    let (event, out, tmp) = (planned.event, output.clone(), temp.clone());
    let (metadata, why, action, profile) = (
        planned.metadata.clone(),
        planned.explanation.clone(),
        planned.action.clone(),
        planned.profile_name.clone(),
    );
    ctx.ledger
        .apply(move |s| {
            s.transition_job(id, event, |j| {
                j.metadata = metadata;
                j.decision = Some(why);
                j.decision_action = Some(action);
                j.profile = Some(profile);
                j.output_path = Some(out);
                j.temp_path = Some(tmp);
                j.temp_file = temp_id;
            })
        })
        .await?;
    Ok((output, temp_path))
}

/// An output root must still be outside every library folder (one may have been added since
/// the profile was saved: its outputs would be scanned and encoded again) and still allowed
/// by the library policy as it resolves now (a link put in place since the save must not
/// lead the output, written as root, elsewhere); the output's folder is created (mirroring
/// the library's layout), checked as made, and returned open as checked.
async fn output_folder(
    ctx: &JobContext,
    location: &crate::profiles::OutputLocation,
    output: &Path,
) -> Result<std::os::fd::OwnedFd, Failure> {
    let folders = ctx.ledger.store().call(|s| s.folders()).await?;
    // It resolves links: file system calls, off the runtime (a share may hang).
    let (loc, profiles) = (location.clone(), ctx.profiles.clone());
    let dir = output.parent().map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || {
        if let Some(root) = loc.output_root.as_deref() {
            // The root's form again (no `..`): a stored profile, a restored one among them,
            // is not checked on reading.
            loc.validate(crate::model::OriginalPolicy::Keep)
                .map_err(|e| e.to_string())?;
            if let Some(why) = profiles.output_refused(root) {
                return Err(why);
            }
        }
        loc.check_folders(folders.iter().map(|f| f.path.as_path()))
            .map_err(|e| e.to_string())?;
        let (Some(dir), Some(root)) = (dir, loc.output_root.as_deref()) else {
            return Err("it names no folder".to_string());
        };
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("its folder could not be created: {e}"))?;
        // The folder as made: a link below the root (a share's `Movies` turned into a link
        // to `/etc`) must not take the output elsewhere.
        let real = std::fs::canonicalize(&dir)
            .map_err(|e| format!("its folder could not be read back: {e}"))?;
        let real_root = crate::profiles::resolved(root);
        if !real.starts_with(&real_root) {
            return Err(format!(
                "its folder {} leads out of the output root to {}",
                dir.display(),
                real.display()
            ));
        }
        if let Some(why) = profiles.output_refused(&real) {
            return Err(why);
        }
        // Opened as checked: with links refused anywhere on the way, a link put in place
        // since the check fails here instead of leading the writes elsewhere.
        open_resolved_dir(&real)
            .map_err(|e| format!("its folder {} could not be opened: {e}", real.display()))
    })
    .await
    .map_err(|e| Failure::Promote(std::io::Error::other(e.to_string())))?
    .map_err(|why| Failure::OutputLocation { why })
}

/// Open the folder at `path`, a path with every link resolved, refusing any link on the way
/// (a kernel without `openat2` opens it as a plain folder).
fn open_resolved_dir(path: &Path) -> std::io::Result<std::os::fd::OwnedFd> {
    use rustix::fs::{CWD, Mode, OFlags, ResolveFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let resolve = ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    match rustix::fs::openat2(CWD, path, flags, Mode::empty(), resolve) {
        Err(rustix::io::Errno::NOSYS) => Ok(rustix::fs::open(path, flags, Mode::empty())?),
        other => Ok(other?),
    }
}
