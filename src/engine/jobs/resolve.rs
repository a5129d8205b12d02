//! Where an enqueued path really leads, decided the way the kernel would resolve it (every
//! symbolic link followed, `..` after a link applied to the link's target), but without needing
//! the file to exist. The answer to an enqueue then depends only on where the path leads: a
//! path that leads outside every library folder is refused whether or not anything is there,
//! so the answer never tells whether a file outside the library exists.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Links followed before giving up (the kernel's own limit).
const MAX_LINKS: u32 = 40;

/// Where `path` leads: an absolute path with no symbolic link left in its existing part, or
/// `None` for a link loop.
pub(crate) fn resolve(path: &Path) -> Option<PathBuf> {
    let mut queue: VecDeque<OsString> = VecDeque::new();
    let mut out = PathBuf::from("/");
    let push_all = |queue: &mut VecDeque<OsString>, p: &Path, out: &mut PathBuf| {
        let mut parts: Vec<OsString> = Vec::new();
        for c in p.components() {
            match c {
                Component::RootDir => {
                    *out = PathBuf::from("/");
                    parts.clear();
                }
                Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => parts.push("..".into()),
                Component::Normal(n) => parts.push(n.to_owned()),
            }
        }
        for part in parts.into_iter().rev() {
            queue.push_front(part);
        }
    };
    push_all(&mut queue, path, &mut out);
    let mut links = 0;
    while let Some(part) = queue.pop_front() {
        if part == ".." {
            out.pop();
            continue;
        }
        let candidate = out.join(&part);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return None;
                }
                let target = std::fs::read_link(&candidate).ok()?;
                // A relative target is relative to the link's folder (`out`); an absolute one
                // starts again at the root.
                push_all(&mut queue, &target, &mut out);
            }
            // An existing folder or file, or nothing: the rest is followed by name.
            _ => out = candidate,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_are_followed_whether_or_not_their_target_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let lib = root.join("lib");
        let outside = root.join("outside");
        std::fs::create_dir_all(lib.join("sub")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.mkv"), b"x").unwrap();
        std::fs::write(lib.join("real.mkv"), b"x").unwrap();
        symlink(&outside, lib.join("linkdir")).unwrap();
        symlink(lib.join("real.mkv"), lib.join("alias.mkv")).unwrap();
        symlink(&lib, lib.join("sub/loop")).unwrap();
        symlink("/nonexistent/x.mkv", lib.join("dangling.mkv")).unwrap();
        symlink("../../outside/secret.mkv", lib.join("sub/relative.mkv")).unwrap();
        symlink("self", lib.join("self")).unwrap();

        let r = |p: &str| resolve(&lib.join(p));
        // Outside, existing or not: both lead outside.
        assert_eq!(r("linkdir/secret.mkv"), Some(outside.join("secret.mkv")));
        assert_eq!(r("linkdir/missing.mkv"), Some(outside.join("missing.mkv")));
        assert_eq!(r("dangling.mkv"), Some(PathBuf::from("/nonexistent/x.mkv")));
        assert_eq!(r("sub/relative.mkv"), Some(outside.join("secret.mkv")));
        // `..` after a link applies to the link's target, as the kernel does it.
        assert_eq!(r("linkdir/../lib/real.mkv"), Some(lib.join("real.mkv")));
        // Inside: aliases lead to the real file; a missing one stays inside.
        assert_eq!(r("alias.mkv"), Some(lib.join("real.mkv")));
        assert_eq!(r("sub/loop/sub/loop/real.mkv"), Some(lib.join("real.mkv")));
        assert_eq!(r("missing.mkv"), Some(lib.join("missing.mkv")));
        assert_eq!(r("sub/../../lib/real.mkv"), Some(lib.join("real.mkv")));
        assert_eq!(r("self"), None, "a loop");
    }
}
