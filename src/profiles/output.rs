//! What a profile says about its output beyond the encode: whether HDR stays HDR or is
//! tonemapped to SDR ([`HdrMode`]), and where the output goes ([`OutputLocation`]: beside the
//! original as `<stem>.<suffix>.<ext>`, or under an `output_root` mirroring the library
//! folder's layout). Plain data and validation; `media::paths` names the files, the engine
//! writes them.

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::profile::OriginalPolicy;

/// What happens to HDR video (PQ or HLG transfer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HdrMode {
    /// Keep HDR: 10-bit output with the source's colour tags; never tonemapped.
    #[default]
    Preserve,
    /// Tonemap HDR sources to SDR (BT.709, 8-bit unless `ten_bit`) with the tonemapping
    /// filters the ffmpeg build has (zscale + tonemap, else libplacebo), on the CPU.
    Sdr,
}

impl HdrMode {
    pub fn as_str(self) -> &'static str {
        match self {
            HdrMode::Preserve => "preserve",
            HdrMode::Sdr => "sdr",
        }
    }
}

/// The suffix outputs carry when the profile sets none: `<stem>.alchemist.<ext>`.
pub const DEFAULT_OUTPUT_SUFFIX: &str = crate::media::paths::DEFAULT_SUFFIX;
/// Longest output suffix (it sits in every output's name, which must fit 255 bytes).
pub const MAX_SUFFIX_LEN: usize = 32;

/// Where a profile's outputs go (flattened into the profile's JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct OutputLocation {
    /// `null`: beside the original. Otherwise an absolute folder outside every library
    /// folder; the output of `<library folder>/a/b.mkv` is `<output_root>/a/b.<suffix>.<ext>`.
    #[schema(value_type = Option<String>)]
    pub output_root: Option<PathBuf>,
    /// Marks outputs: `<stem>.<suffix>.<ext>`; 1 to 32 of `a-z`, `0-9`, `_`, `-`. Empty only
    /// with an `output_root` (the output then has the original's stem).
    pub output_suffix: String,
}

impl Default for OutputLocation {
    fn default() -> OutputLocation {
        OutputLocation {
            output_root: None,
            output_suffix: DEFAULT_OUTPUT_SUFFIX.to_string(),
        }
    }
}

/// An output location the profile cannot have; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidOutput {
    #[error(
        "output_suffix `{0}` is not valid: use up to 32 of a-z, 0-9, `_` or `-` (empty only \
         with an output_root)"
    )]
    Suffix(String),
    #[error(
        "output_root `{0}` is not valid: give an absolute folder without `..` parts, \
         not `/`"
    )]
    Root(String),
    #[error(
        "original `replace` cannot be used with an output_root: the output lives outside the \
         library, so there is no place to put it under the original's name; use `keep`, or \
         `delete` (the original goes to the trash once the verified output is in place)"
    )]
    ReplaceWithRoot,
    #[error(
        "output_root `{root}` overlaps the library folder `{folder}`: outputs would be scanned \
         and encoded again; choose a folder outside every library folder"
    )]
    InsideLibrary { root: String, folder: String },
}

impl InvalidOutput {
    /// The profile field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            InvalidOutput::Suffix(_) => "output_suffix",
            InvalidOutput::Root(_) | InvalidOutput::InsideLibrary { .. } => "output_root",
            InvalidOutput::ReplaceWithRoot => "original",
        }
    }
}

impl OutputLocation {
    /// Check the suffix, the root's form and that the original policy fits the location.
    pub fn validate(&self, original: OriginalPolicy) -> Result<(), InvalidOutput> {
        let s = &self.output_suffix;
        let chars_ok = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !chars_ok || s.len() > MAX_SUFFIX_LEN || (s.is_empty() && self.output_root.is_none()) {
            return Err(InvalidOutput::Suffix(s.clone()));
        }
        if let Some(root) = &self.output_root {
            let clean = root.is_absolute()
                && root.components().count() > 1
                && root
                    .components()
                    .all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
            if !clean {
                return Err(InvalidOutput::Root(root.display().to_string()));
            }
            if original == OriginalPolicy::Replace {
                return Err(InvalidOutput::ReplaceWithRoot);
            }
        }
        Ok(())
    }

    /// Refuse a root inside (or holding) one of `folders`: its outputs would be scanned. Paths
    /// are compared as written and as they resolve through symbolic links (a root `/data/out`
    /// linked to `/data/media/out` is inside `/data/media`), so this reads the filesystem.
    pub fn check_folders<'a>(
        &self,
        folders: impl IntoIterator<Item = &'a Path>,
    ) -> Result<(), InvalidOutput> {
        let Some(root) = &self.output_root else {
            return Ok(());
        };
        let resolved_root = resolved(root);
        for folder in folders {
            let resolved_folder = resolved(folder);
            let overlap = |a: &Path, b: &Path| a.starts_with(b) || b.starts_with(a);
            if overlap(root, folder) || overlap(&resolved_root, &resolved_folder) {
                return Err(InvalidOutput::InsideLibrary {
                    root: root.display().to_string(),
                    folder: folder.display().to_string(),
                });
            }
        }
        Ok(())
    }
}

/// `path` with its symbolic links resolved: its longest existing ancestor canonicalised, the
/// rest (folders not made yet) appended as written.
pub(crate) fn resolved(path: &Path) -> PathBuf {
    let mut rest = Vec::new();
    let mut at = path;
    loop {
        if let Ok(real) = std::fs::canonicalize(at) {
            return rest.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(root: Option<&str>, suffix: &str) -> OutputLocation {
        OutputLocation {
            output_root: root.map(PathBuf::from),
            output_suffix: suffix.into(),
        }
    }

    #[test]
    fn suffix_and_root_rules() {
        let keep = OriginalPolicy::Keep;
        assert!(OutputLocation::default().validate(keep).is_ok());
        assert!(loc(None, "hevc-2").validate(keep).is_ok());
        for bad in ["", "A", "a.b", "a/b", &"x".repeat(33)] {
            let e = loc(None, bad).validate(keep).unwrap_err();
            assert_eq!(e.field(), "output_suffix", "{bad}");
        }
        assert!(loc(Some("/out"), "").validate(keep).is_ok());
        for bad in ["out", "/", "/a/../b", "./a"] {
            let e = loc(Some(bad), "x").validate(keep).unwrap_err();
            assert_eq!(e.field(), "output_root", "{bad}");
        }
        let e = loc(Some("/out"), "x")
            .validate(OriginalPolicy::Replace)
            .unwrap_err();
        assert_eq!(e, InvalidOutput::ReplaceWithRoot);
        assert_eq!(e.field(), "original");
        assert!(
            loc(Some("/out"), "x")
                .validate(OriginalPolicy::Delete)
                .is_ok()
        );
        assert!(loc(None, "x").validate(OriginalPolicy::Replace).is_ok());
    }

    #[test]
    fn roots_must_stay_out_of_library_folders() {
        let folders = [Path::new("/media/films"), Path::new("/media/tv")];
        assert!(loc(Some("/out"), "x").check_folders(folders).is_ok());
        assert!(
            loc(Some("/media/filmsx"), "x")
                .check_folders(folders)
                .is_ok()
        );
        for bad in ["/media/films/out", "/media/tv", "/media", "/"] {
            let l = loc(Some(bad), "x");
            // `/` fails validate; check_folders alone must still refuse it.
            assert!(l.check_folders(folders).is_err(), "{bad}");
        }
        assert!(loc(None, "x").check_folders(folders).is_ok());
    }

    /// A root that leads into a library folder through a link, now or once its missing
    /// folders are made, is refused like one written inside it; so is a link to the root.
    #[test]
    fn roots_are_compared_through_symbolic_links() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("media");
        std::fs::create_dir_all(lib.join("sub")).unwrap();
        std::fs::create_dir(dir.path().join("elsewhere")).unwrap();
        let link = |name: &str, to: &Path| {
            let at = dir.path().join(name);
            std::os::unix::fs::symlink(to, &at).unwrap();
            at
        };
        let into_lib = link("out", &lib.join("sub"));
        let to_lib = link("media-link", &lib);
        let outside = link("spare", &dir.path().join("elsewhere"));
        let folders = [lib.as_path()];
        for bad in [
            into_lib.clone(),
            to_lib.join("not-yet/made"),
            into_lib.join("x"),
        ] {
            let l = loc(Some(bad.to_str().unwrap()), "x");
            assert!(l.check_folders(folders).is_err(), "{}", bad.display());
        }
        // The library folder given through a link, and a root holding it.
        let l = loc(Some(dir.path().join("media").to_str().unwrap()), "x");
        assert!(l.check_folders([to_lib.as_path()]).is_err());
        for good in [
            outside.clone(),
            outside.join("new"),
            dir.path().join("new/deeper"),
        ] {
            let l = loc(Some(good.to_str().unwrap()), "x");
            assert!(l.check_folders(folders).is_ok(), "{}", good.display());
        }
    }
}
