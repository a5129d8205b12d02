//! The path map between the other services' view of the files (`remote`, e.g. `/tv` inside a
//! Sonarr container) and ours (`local`, e.g. `/data/media/tv`). A path maps through the entry
//! with the longest prefix that matches whole path components (so `/tv` does not match
//! `/tvshows/x`); a path no entry covers maps to nothing (the webhook refuses it) and, toward
//! the services, is sent unchanged (a service that sees the same paths needs no map). Pure.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One prefix pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PathMap {
    /// The prefix as the other service sees it.
    #[schema(example = "/tv")]
    pub remote: String,
    /// The same folder here.
    #[schema(example = "/data/media/tv")]
    pub local: String,
}

impl PathMap {
    /// Normalised in place; `Err((field, why))`.
    pub(super) fn check(&mut self) -> Result<(), (&'static str, &'static str)> {
        self.remote = trim(self.remote.trim()).to_string();
        self.local = trim(self.local.trim()).to_string();
        if self.remote.is_empty() || self.remote.len() > 1024 {
            return Err((
                "remote",
                "is required (a folder as the other service sees it)",
            ));
        }
        if !self.local.starts_with('/') || self.local.len() > 1024 {
            return Err(("local", "must be an absolute path on this box"));
        }
        if self.local.split('/').any(|c| c == "..")
            || self.remote.split(['/', '\\']).any(|c| c == "..")
        {
            return Err(("local", "may not contain `..`"));
        }
        Ok(())
    }
}

/// Without trailing separators, except a lone root.
fn trim(p: &str) -> &str {
    let t = p.trim_end_matches(['/', '\\']);
    if t.is_empty() && !p.is_empty() {
        &p[..1]
    } else {
        t
    }
}

/// The rest of `path` after `prefix` when the prefix covers whole components (`Some("")` for
/// the prefix itself).
fn rest<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let tail = path.strip_prefix(prefix)?;
    if tail.is_empty() || prefix.ends_with(['/', '\\']) || tail.starts_with(['/', '\\']) {
        Some(tail.trim_start_matches(['/', '\\']))
    } else {
        None
    }
}

/// Our path for a service's path, through the longest matching `remote` prefix.
pub fn to_local(map: &[PathMap], remote: &str) -> Option<PathBuf> {
    let (entry, tail) = map
        .iter()
        .filter_map(|m| rest(remote, &m.remote).map(|t| (m, t)))
        .max_by_key(|(m, _)| m.remote.len())?;
    let mut out = PathBuf::from(&entry.local);
    for part in tail.split(['/', '\\']).filter(|p| !p.is_empty()) {
        if part == ".." {
            return None;
        }
        out.push(part);
    }
    Some(out)
}

/// The service's path for ours, through the longest matching `local` prefix (unchanged when
/// none matches). Joined with the separator the remote prefix uses.
pub fn to_remote(map: &[PathMap], local: &Path) -> String {
    let local = local.to_string_lossy();
    let Some((entry, tail)) = map
        .iter()
        .filter_map(|m| rest(&local, &m.local).map(|t| (m, t)))
        .max_by_key(|(m, _)| m.local.len())
    else {
        return local.into_owned();
    };
    if tail.is_empty() {
        return entry.remote.clone();
    }
    let sep = if entry.remote.contains('\\') {
        "\\"
    } else {
        "/"
    };
    let base = entry.remote.trim_end_matches(['/', '\\']);
    let tail = if sep == "\\" {
        tail.replace('/', "\\")
    } else {
        tail.to_string()
    };
    format!("{base}{sep}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> Vec<PathMap> {
        vec![
            PathMap {
                remote: "/tv".into(),
                local: "/data/media/tv".into(),
            },
            PathMap {
                remote: "/tv/kids".into(),
                local: "/data/kids".into(),
            },
            PathMap {
                remote: "D:\\Movies".into(),
                local: "/data/media/movies".into(),
            },
        ]
    }

    #[test]
    fn maps_both_ways_by_longest_whole_prefix() {
        let m = map();
        assert_eq!(
            to_local(&m, "/tv/Show/S01/e1.mkv"),
            Some("/data/media/tv/Show/S01/e1.mkv".into())
        );
        assert_eq!(
            to_local(&m, "/tv/kids/a.mkv"),
            Some("/data/kids/a.mkv".into())
        );
        assert_eq!(to_local(&m, "/tvshows/a.mkv"), None);
        assert_eq!(to_local(&m, "/tv/../etc/passwd"), None);
        assert_eq!(
            to_local(&m, "D:\\Movies\\Film (2020)\\f.mkv"),
            Some("/data/media/movies/Film (2020)/f.mkv".into())
        );
        assert_eq!(
            to_remote(&m, Path::new("/data/media/tv/Show/e1.mkv")),
            "/tv/Show/e1.mkv"
        );
        assert_eq!(
            to_remote(&m, Path::new("/data/media/movies/F/f.mkv")),
            "D:\\Movies\\F\\f.mkv"
        );
        assert_eq!(
            to_remote(&m, Path::new("/elsewhere/x.mkv")),
            "/elsewhere/x.mkv"
        );
        assert_eq!(
            to_remote(&m, Path::new("/data/media/tvx/a")),
            "/data/media/tvx/a"
        );
    }
}
