//! Tests of the output target: the temp file made, promoted and removed only through the folder held.

use super::*;

fn open_dir(path: &Path) -> OwnedFd {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .unwrap()
}

/// A library folder `shows` and a folder `outside` it, with job 7's output and temp
/// file paths in `shows`.
fn folders() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let shows = tmp.path().join("shows");
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&shows).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let output = shows.join("film.alchemist.mkv");
    let temp = shows.join(".film.alchemist.mkv.alchemist-tmp-7");
    (tmp, shows, outside, output, temp)
}

#[test]
fn writes_stay_in_the_folder_opened_when_its_path_is_swapped_for_a_link() {
    let (tmp, shows, outside, output, temp) = folders();
    // A stale temp of ours is replaced.
    std::fs::write(&temp, b"stale").unwrap();
    let target = Target::create(open_dir(&shows), output.clone(), temp.clone()).unwrap();
    assert_eq!(std::fs::metadata(&temp).unwrap().len(), 0);
    assert!(target.folder_in_place().unwrap());

    // The folder is renamed and a link to elsewhere takes its name.
    let moved = tmp.path().join("shows.moved");
    std::fs::rename(&shows, &moved).unwrap();
    std::os::unix::fs::symlink(&outside, &shows).unwrap();
    std::fs::write(target.temp_path(), b"encoded").unwrap();
    assert_eq!(
        std::fs::read(moved.join(temp.file_name().unwrap())).unwrap(),
        b"encoded"
    );
    assert!(!target.folder_in_place().unwrap());
    assert_eq!(target.promote(0o640, 0, 0).unwrap(), Promoted::FolderMoved);
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    // Removed where it really is, not through the link.
    target.remove();
    assert_eq!(std::fs::read_dir(&moved).unwrap().count(), 0);
}

#[test]
fn a_promoted_temp_file_takes_the_output_name_and_mode() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lib");
    std::fs::create_dir_all(&dir).unwrap();
    let output = dir.join("a.alchemist.mkv");
    // An earlier output of the same name is replaced, as a rename does.
    std::fs::write(&output, b"older").unwrap();
    let temp = dir.join(".a.alchemist.mkv.alchemist-tmp-4");
    let target = Target::create(open_dir(&dir), output.clone(), temp.clone()).unwrap();
    std::fs::write(target.temp_path(), b"encoded").unwrap();
    assert_eq!(target.promote(0o640, 0, 0).unwrap(), Promoted::Done(7));
    assert_eq!(std::fs::read(&output).unwrap(), b"encoded");
    let mode = std::fs::metadata(&output).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    assert!(!temp.exists());
}

/// The output gets the source's owner and group: as root (the appliance) it is given
/// away; as anyone else that is refused by the kernel and the output stays ours.
#[test]
fn a_promoted_output_takes_the_sources_owner_where_it_may() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lib");
    std::fs::create_dir_all(&dir).unwrap();
    let output = dir.join("b.alchemist.mkv");
    let temp = dir.join(".b.alchemist.mkv.alchemist-tmp-5");
    let target = Target::create(open_dir(&dir), output.clone(), temp).unwrap();
    std::fs::write(target.temp_path(), b"encoded").unwrap();
    let (uid, gid) = (4321, 8765);
    assert_eq!(target.promote(0o600, uid, gid).unwrap(), Promoted::Done(7));
    let meta = std::fs::metadata(&output).unwrap();
    if rustix::process::geteuid().is_root() {
        assert_eq!((meta.uid(), meta.gid()), (uid, gid));
    } else {
        let me = rustix::process::geteuid().as_raw();
        assert_eq!(meta.uid(), me, "not root: the output stays ours");
    }
    assert_eq!(meta.mode() & 0o777, 0o600);
}

#[test]
fn a_temp_name_taken_over_is_neither_promoted_nor_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("lib");
    std::fs::create_dir_all(&dir).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, b"keep me").unwrap();
    let temp = dir.join(".a.alchemist.mkv.alchemist-tmp-3");
    let target = Target::create(open_dir(&dir), dir.join("a.alchemist.mkv"), temp.clone()).unwrap();
    std::fs::write(target.temp_path(), b"out").unwrap();
    // Someone with write access to the folder puts a link where the temp file was.
    std::fs::remove_file(&temp).unwrap();
    std::os::unix::fs::symlink(&victim, &temp).unwrap();
    assert_eq!(target.promote(0o644, 0, 0).unwrap(), Promoted::NameTaken);
    assert!(!dir.join("a.alchemist.mkv").exists());
    target.remove();
    assert!(std::fs::symlink_metadata(&temp).unwrap().is_symlink());
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
}

#[test]
fn a_left_temp_is_removed_only_while_its_path_names_the_file_the_run_made() {
    let (tmp, shows, outside, output, temp) = folders();
    let name = temp.file_name().unwrap();
    let target = Target::create(open_dir(&shows), output.clone(), temp.clone()).unwrap();
    let made = target.temp_id().unwrap();
    drop(target); // the crash: the file stays, the record keeps its path and identity

    // The folder is swapped for a link to a folder holding a file of that name.
    let moved = tmp.path().join("shows.moved");
    std::fs::rename(&shows, &moved).unwrap();
    std::os::unix::fs::symlink(&outside, &shows).unwrap();
    std::fs::write(outside.join(name), b"someone else's").unwrap();
    remove_left(&temp, Some(made));
    assert_eq!(
        std::fs::read(outside.join(name)).unwrap(),
        b"someone else's"
    );
    assert!(moved.join(name).exists());

    // The name in the real folder replaced by another file: kept as well.
    std::fs::remove_file(&shows).unwrap();
    std::fs::rename(&moved, &shows).unwrap();
    // (the run's file still exists elsewhere, so the new one cannot reuse its inode)
    std::fs::rename(&temp, shows.join("kept")).unwrap();
    std::fs::write(&temp, b"another").unwrap();
    remove_left(&temp, Some(made));
    assert_eq!(std::fs::read(&temp).unwrap(), b"another");

    // The file the run made is removed; a record without the identity (an older
    // release's) removes a regular file of our name; a link of our name is left.
    std::fs::remove_file(&temp).unwrap();
    let target = Target::create(open_dir(&shows), output, temp.clone()).unwrap();
    let made = target.temp_id().unwrap();
    drop(target);
    remove_left(&temp, Some(made));
    assert!(!temp.exists());
    std::fs::write(&temp, b"old").unwrap();
    remove_left(&temp, None);
    assert!(!temp.exists());
    std::os::unix::fs::symlink(outside.join(name), &temp).unwrap();
    remove_left(&temp, None);
    assert!(temp.symlink_metadata().is_ok());
    assert!(outside.join(name).exists());
    // Gone already, or its folder gone: nothing to do.
    std::fs::remove_file(&temp).unwrap();
    remove_left(&temp, Some(made));
    remove_left(&tmp.path().join("gone").join(name), None);
}
