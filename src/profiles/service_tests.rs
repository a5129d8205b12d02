use super::*;

#[test]
fn folders_refer_to_profiles_by_kind() {
    assert_eq!(folder_ref(None).unwrap(), None);
    assert_eq!(folder_ref(Some("default")).unwrap(), None);
    assert_eq!(
        folder_ref(Some("balanced")).unwrap(),
        Some(FolderProfile::Reserved("balanced"))
    );
    assert_eq!(
        folder_ref(Some("mine")).unwrap(),
        Some(FolderProfile::Stored("mine"))
    );
    assert!(matches!(
        folder_ref(Some("Not OK")),
        Err(ProfileError::UnknownForFolder(_))
    ));
}

#[test]
fn the_most_specific_folder_holds_a_file() {
    let folders = [
        ("/media", true),
        ("/media/kids", true),
        ("/media/kids/flat", false),
        ("/media2", true),
    ];
    let pick =
        |p: &str| most_specific(&folders, Path::new(p), |f| (Path::new(f.0), f.1)).map(|f| f.0);
    assert_eq!(pick("/media/film.mkv"), Some("/media"));
    assert_eq!(pick("/media/kids/cartoon.mkv"), Some("/media/kids"));
    assert_eq!(pick("/media/kids/a/b/deep.mkv"), Some("/media/kids"));
    assert_eq!(pick("/media/kids/flat/x.mkv"), Some("/media/kids/flat"));
    // Not recursive: a file in a sub-folder belongs to the next folder up.
    assert_eq!(pick("/media/kids/flat/sub/y.mkv"), Some("/media/kids"));
    // A prefix of the name is not a parent folder.
    assert_eq!(pick("/media2/z.mkv"), Some("/media2"));
    assert_eq!(pick("/mediafile.mkv"), None);
    assert_eq!(pick("/other/z.mkv"), None);
}
