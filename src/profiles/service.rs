//! The profiles service. Three kinds of profile share one namespace: `default` (the
//! configuration's `[transcode]` section, so it follows config reloads), the built-in presets,
//! and custom profiles kept in the store. All are listed; only custom ones change. Each job
//! runs with the profile of the most specific library folder holding its file (folders may
//! nest: `/media` and `/media/kids` with a profile of its own), resolved when it starts.

use std::path::Path;

use super::catalog::{DEFAULT_PROFILE, ProfileFields, ProfileSource, check_name};
use super::entry::{ProfileEntry, ProfileError, blank, checked};
use super::output::OutputLocation;
use super::profile::{EncodeSettings, Profile};
use crate::config::LiveSettings;
use crate::store::{FolderProfile, Store, StoreError};

/// Every custom profile's output suffix and root, with the default suffix: what a scan must
/// not take for a source (the built-in profiles and `default` use the default suffix beside
/// the original). An unreadable stored profile is left out (it cannot run either).
pub fn own_outputs(store: &Store) -> Result<crate::media::paths::OwnOutputs, StoreError> {
    let mut own = crate::media::paths::OwnOutputs::default();
    for record in store.profiles()? {
        let Ok(profile) = serde_json::from_value::<Profile>(record.profile) else {
            continue;
        };
        let OutputLocation {
            output_root,
            output_suffix,
        } = profile.output;
        if !own.suffixes.contains(&output_suffix) {
            own.suffixes.push(output_suffix);
        }
        own.roots.extend(output_root);
    }
    Ok(own)
}

/// Refuse a library folder at `folder` when a profile's output root overlaps it (its outputs
/// would be scanned and encoded again).
pub fn check_folder_against_outputs(store: &Store, folder: &Path) -> Result<(), ProfileError> {
    for root in own_outputs(store)?.roots {
        let location = OutputLocation {
            output_root: Some(root),
            output_suffix: String::new(),
        };
        location
            .check_folders([folder])
            .map_err(|e| ProfileError::InvalidField("path", e.to_string()))?;
    }
    Ok(())
}

/// How a folder refers to `name` (`None` and `default` both mean the default profile).
pub fn folder_ref(name: Option<&str>) -> Result<Option<FolderProfile<'_>>, ProfileError> {
    match name {
        None | Some(DEFAULT_PROFILE) => Ok(None),
        Some(n) if ProfileSource::of_reserved(n).is_some() => Ok(Some(FolderProfile::Reserved(n))),
        Some(n) if check_name(n).is_ok() => Ok(Some(FolderProfile::Stored(n))),
        Some(n) => Err(ProfileError::UnknownForFolder(n.to_string())),
    }
}

/// Says why a folder may not receive outputs (`None`: it may); the engine gives the library
/// folders' policy (`[security] library_roots`, no system locations, not the data folder).
pub type OutputPolicy = std::sync::Arc<dyn Fn(&Path) -> Option<String> + Send + Sync>;

/// Handle to the profiles. Cheap to clone.
#[derive(Clone)]
pub struct Profiles {
    store: Store,
    settings: LiveSettings,
    output_policy: Option<OutputPolicy>,
}

impl Profiles {
    pub fn new(store: Store, settings: LiveSettings) -> Profiles {
        Profiles {
            store,
            settings,
            output_policy: None,
        }
    }

    /// `Some(why)` when the library policy refuses `root` as an output root, as written or as
    /// it resolves through links, including the links of folders not created yet (a link in a
    /// share to `/etc` must not make `/share/link/out` acceptable). Blocking: it resolves
    /// links, so call it off the runtime. Checked when a profile is saved and again before
    /// each output's folder is created (a link can be put in place after the save).
    pub fn output_refused(&self, root: &Path) -> Option<String> {
        let policy = self.output_policy.as_ref()?;
        policy(root).or_else(|| policy(&super::output::resolved(root)))
    }

    /// Output roots must also pass `policy` (where library folders may be): an output root
    /// is where the server creates folders and writes files.
    pub fn with_output_policy(mut self, policy: OutputPolicy) -> Profiles {
        self.output_policy = Some(policy);
        self
    }

    /// `default`: the current `[transcode]` configuration.
    pub fn default_profile(&self) -> Profile {
        let s = self.settings.get();
        Profile::from_config(
            &EncodeSettings {
                encoder: s.encoder,
                crf: s.crf,
                preset: s.preset,
                threads: 0,
            },
            s.original,
        )
    }

    fn reserved_entry(&self, name: &str) -> Option<ProfileEntry> {
        match ProfileSource::of_reserved(name)? {
            ProfileSource::Config => Some(ProfileEntry::reserved(
                name,
                ProfileSource::Config,
                self.default_profile(),
            )),
            source => Profile::preset(name).map(|p| ProfileEntry::reserved(name, source, p)),
        }
    }

    /// Every profile: `default`, the presets, then custom ones by name.
    pub async fn list(&self) -> Result<Vec<ProfileEntry>, ProfileError> {
        let stored = self.store.call(|s| s.profiles()).await?;
        let mut out: Vec<ProfileEntry> = std::iter::once(DEFAULT_PROFILE)
            .chain(Profile::PRESETS)
            .filter_map(|n| self.reserved_entry(n))
            .collect();
        for record in stored {
            out.push(ProfileEntry::stored(record)?);
        }
        Ok(out)
    }

    pub async fn get(&self, name: &str) -> Result<ProfileEntry, ProfileError> {
        if let Some(entry) = self.reserved_entry(name) {
            return Ok(entry);
        }
        let key = name.to_string();
        match self.store.call(move |s| s.profile(&key)).await? {
            Some(record) => ProfileEntry::stored(record),
            None => Err(ProfileError::NotFound(name.to_string())),
        }
    }

    /// Create a custom profile from `base` (any profile) or from scratch, with `fields` over it.
    pub async fn create(
        &self,
        name: String,
        base: Option<String>,
        fields: ProfileFields,
    ) -> Result<ProfileEntry, ProfileError> {
        check_name(&name).map_err(|e| ProfileError::Invalid(e.to_string()))?;
        if ProfileSource::of_reserved(&name).is_some() {
            return Err(ProfileError::Exists(name));
        }
        let profile = match base {
            Some(base) => match self.get(&base).await {
                Ok(entry) => fields.apply(entry.profile),
                Err(ProfileError::NotFound(_)) => {
                    return Err(ProfileError::Invalid(format!(
                        "base profile `{base}` does not exist"
                    )));
                }
                Err(e) => return Err(e),
            },
            None => blank(&fields)?,
        };
        let value = checked(profile.clone())?;
        self.outside_library(&profile).await?;
        let record = self
            .store
            .call(move |s| s.insert_profile(&name, value))
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => ProfileError::Exists(e.to_string()),
                other => other.into(),
            })?;
        ProfileEntry::stored(record)
    }

    /// Replace every field of a custom profile (fields not given take their defaults).
    pub async fn replace(
        &self,
        name: String,
        fields: ProfileFields,
    ) -> Result<ProfileEntry, ProfileError> {
        if ProfileSource::of_reserved(&name).is_some() {
            return Err(ProfileError::ReadOnly(name));
        }
        if check_name(&name).is_err() {
            return Err(ProfileError::NotFound(name));
        }
        let profile = blank(&fields)?;
        let value = checked(profile.clone())?;
        self.outside_library(&profile).await?;
        let key = name.clone();
        let record = self
            .store
            .call(move |s| s.replace_profile(&key, value))
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ProfileError::NotFound(name),
                other => other.into(),
            })?;
        ProfileEntry::stored(record)
    }

    /// Refuse an output root that overlaps one of the library folders (its outputs would be
    /// scanned). The library folders' side: `check_folder_against_outputs`.
    async fn outside_library(&self, profile: &Profile) -> Result<(), ProfileError> {
        let Some(root) = &profile.output.output_root else {
            return Ok(());
        };
        let folders = self.store.call(|s| s.folders()).await?;
        let (profiles, root, output) = (self.clone(), root.clone(), profile.output.clone());
        // Links are resolved: file system calls, off the runtime (a share may hang).
        tokio::task::spawn_blocking(move || {
            if let Some(why) = profiles.output_refused(&root) {
                return Err(ProfileError::InvalidField(
                    "output_root",
                    format!("output_root cannot be used: {why}"),
                ));
            }
            output
                .check_folders(folders.iter().map(|f| f.path.as_path()))
                .map_err(|e| ProfileError::InvalidField(e.field(), e.to_string()))
        })
        .await
        .map_err(|e| ProfileError::InvalidField("output_root", e.to_string()))?
    }

    /// Delete a custom profile no folder uses.
    pub async fn delete(&self, name: String) -> Result<(), ProfileError> {
        if ProfileSource::of_reserved(&name).is_some() {
            return Err(ProfileError::ReadOnly(name));
        }
        let key = name.clone();
        self.store
            .call(move |s| s.delete_profile(&key))
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ProfileError::NotFound(name),
                StoreError::Conflict(msg) => ProfileError::InUse(msg),
                other => other.into(),
            })
    }

    /// The profile for a job of `path`, with its name: the profile of the most specific
    /// library folder holding the file (`/media/kids` before `/media`), else of the job's own
    /// folder. Falls back to `default` (with a warning) when the folder or its profile vanished
    /// since the job was queued.
    pub async fn for_path(&self, path: &Path, folder_id: Option<u64>) -> (String, Profile) {
        let (name, profile, _) = self.for_path_in(path, folder_id).await;
        (name, profile)
    }

    /// [`Profiles::for_path`], with the path of the library folder holding the file (what an
    /// `output_root` mirrors the layout of).
    pub async fn for_path_in(
        &self,
        path: &Path,
        folder_id: Option<u64>,
    ) -> (String, Profile, Option<std::path::PathBuf>) {
        let default = || (DEFAULT_PROFILE.to_string(), self.default_profile());
        let path = path.to_path_buf();
        let folder = self
            .store
            .call(move |s| {
                let folders = s.folders()?;
                let holder = most_specific(&folders, &path, |f| (&f.path, f.recursive))
                    .or_else(|| folders.iter().find(|f| Some(f.id) == folder_id));
                Ok(holder.cloned())
            })
            .await;
        let folder = match folder {
            Ok(Some(f)) => f,
            Ok(None) => {
                let (n, p) = default();
                return (n, p, None);
            }
            Err(e) => {
                tracing::warn!(error = %e, "folders unreadable; default profile");
                let (n, p) = default();
                return (n, p, None);
            }
        };
        let Some(name) = folder.profile else {
            let (n, p) = default();
            return (n, p, Some(folder.path));
        };
        match self.get(&name).await {
            Ok(entry) => (entry.name, entry.profile, Some(folder.path)),
            Err(e) => {
                tracing::warn!(folder = folder.id, profile = %name, error = %e, "default profile used");
                let (n, p) = default();
                (n, p, Some(folder.path))
            }
        }
    }
}

/// The most specific of `folders` that holds `path`: the deepest one whose path is a prefix of
/// it, counting a folder without sub-folders only for the files directly in it. `parts` gives
/// a folder's path and whether it includes sub-folders.
pub fn most_specific<'a, F>(
    folders: &'a [F],
    path: &Path,
    parts: impl Fn(&F) -> (&Path, bool),
) -> Option<&'a F> {
    folders
        .iter()
        .filter(|f| {
            let (dir, recursive) = parts(f);
            path != dir && path.starts_with(dir) && (recursive || path.parent() == Some(dir))
        })
        .max_by_key(|f| parts(f).0.components().count())
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
