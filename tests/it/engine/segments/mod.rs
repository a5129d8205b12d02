//! Resume after restart (issue 19): long encodes run in segments that survive the server.
//! `kill` SIGKILLs the real binary 20 times during one segmented encode and measures what is
//! encoded again; `folder` checks the segment folder's life: kept for a job that resumes (after
//! a crash or a graceful stop), removed on cancel and, at boot, for a job that will not;
//! `mp4` encodes an MP4 source in MP4 segments and joins them with the MP4 muxer. The clip
//! and the folder checks are shared here.

mod folder;
mod kill;
mod mp4;

use std::path::{Path, PathBuf};

use crate::support::clips::generate;

/// `[transcode] segment_seconds` of the tests: 40 segments of the 80-second source.
const SEGMENT: f64 = 2.0;
const SOURCE_SECONDS: u32 = 80;
const FPS: u32 = 25;

/// 80 s of 320x180 at 25 fps, MPEG-4 Part 2 at high quality + AAC in Matroska: any HEVC
/// encode of it saves plenty. Its video starts 21 ms after the audio (AAC priming), off the
/// frame grid, as real files' often does.
pub(super) fn segment_clip() -> &'static Path {
    static CLIP: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CLIP.get_or_init(|| {
        generate(
            "segments-src.mkv",
            &format!(
                "-f lavfi -i testsrc2=size=320x180:rate={FPS}:duration={SOURCE_SECONDS} \
                 -f lavfi -i sine=frequency=440:sample_rate=48000:duration={SOURCE_SECONDS} \
                 -c:v mpeg4 -q:v 2 -c:a aac -shortest -f matroska"
            ),
        )
    })
}

/// The segment folder in `lib`, if there is one.
pub(super) fn segment_dir(lib: &Path) -> Option<PathBuf> {
    std::fs::read_dir(lib)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains(".alchemist-seg-"))
}

/// What a crash may leave in a segment folder: the manifest, complete segments from the
/// first on without a gap, and at most one part file, the next one; or, once every segment is
/// complete, the join's list (a crash during the join).
pub(super) fn check_segment_folder(dir: &Path) -> usize {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let complete: Vec<&String> = names.iter().filter(|n| n.ends_with(".mkv")).collect();
    for (i, n) in complete.iter().enumerate() {
        assert_eq!(
            **n,
            format!("{i:05}.mkv"),
            "complete segments without a gap: {names:?}"
        );
    }
    let parts: Vec<&String> = names.iter().filter(|n| n.ends_with(".part")).collect();
    assert!(parts.len() <= 1, "{names:?}");
    if let Some(p) = parts.first() {
        assert_eq!(**p, format!("{:05}.part", complete.len()), "{names:?}");
    }
    for n in &names {
        assert!(
            n == "manifest.json"
                || n.ends_with(".mkv")
                || n.ends_with(".part")
                || (n == "join.ffconcat" && parts.is_empty()),
            "unexpected {n} in {names:?}"
        );
    }
    complete.len()
}
