//! Test media generated at test time with ffmpeg's `testsrc2`/`sine` sources, once per test
//! process, into one directory that lives for the whole run (directories left by earlier runs
//! whose process is gone are removed). Tests copy clips into their own temp dirs before
//! writing anything next to them.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Debian ffmpeg the tests run against.
pub const FFMPEG: &str = "/usr/bin/ffmpeg";
pub const FFPROBE: &str = "/usr/bin/ffprobe";

const DIR_PREFIX: &str = "alchemist-clips-";

pub fn ffmpeg() -> &'static Path {
    Path::new(FFMPEG)
}

pub fn ffprobe() -> &'static Path {
    Path::new(FFPROBE)
}

/// 2 s, 320x240, 25 fps H.264 + AAC in MP4.
pub fn h264_clip() -> &'static Path {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        generate(
            "h264.mp4",
            "-f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
             -f lavfi -i sine=frequency=440:sample_rate=48000:duration=2 \
             -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -shortest -f mp4",
        )
    })
}

/// 2 s, 320x240, 25 fps HEVC (libx265) + AAC in Matroska.
pub fn hevc_clip() -> &'static Path {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        generate(
            "hevc.mkv",
            "-f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
             -f lavfi -i sine=frequency=440:sample_rate=48000:duration=2 \
             -c:v libx265 -preset ultrafast -x265-params log-level=error \
             -c:a aac -shortest -f matroska",
        )
    })
}

/// 2 s, 320x240 MPEG-4 Part 2 at near-lossless quality + AAC in Matroska: a source that any
/// modern encoder makes much smaller, so a transcode of it passes every savings check.
pub fn mpeg4_clip() -> &'static Path {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        generate(
            "mpeg4.mkv",
            "-f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
             -f lavfi -i sine=frequency=440:sample_rate=48000:duration=2 \
             -c:v mpeg4 -q:v 1 -c:a aac -shortest -f matroska",
        )
    })
}

/// 20 s, 640x360 H.264 + AAC in MP4: several seconds of libx265 work, for pause and cancel.
pub fn long_h264_clip() -> &'static Path {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        generate(
            "long-h264.mp4",
            "-f lavfi -i testsrc2=size=640x360:rate=25:duration=20 \
             -f lavfi -i sine=frequency=440:sample_rate=48000:duration=20 \
             -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest -f mp4",
        )
    })
}

/// Copy `clip` into `dir` under `name` (any bytes) and return the new path.
pub fn copy_into(dir: &Path, clip: &Path, name: &OsStr) -> PathBuf {
    let target = dir.join(name);
    std::fs::copy(clip, &target).unwrap_or_else(|e| panic!("copy to {target:?}: {e}"));
    target
}

/// The per-process clip directory.
fn clip_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = std::env::temp_dir();
        remove_stale_dirs(&base);
        let dir = base.join(format!("{DIR_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// Remove clip directories of earlier test processes that no longer run.
fn remove_stale_dirs(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(DIR_PREFIX)) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Run ffmpeg with `args` (whitespace-separated, no paths) writing `name` in the clip dir.
pub fn generate(name: &str, args: &str) -> PathBuf {
    let out = clip_dir().join(name);
    let result = Command::new(FFMPEG)
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(args.split_whitespace())
        .arg(&out)
        .output()
        .expect("run ffmpeg");
    assert!(
        result.status.success(),
        "generating {name} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    out
}
