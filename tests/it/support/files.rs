//! Files as the tests see them: library folders in a test's temp dir, checksums, the codec of
//! a file (ffprobe), directory listings and the engine's temp files.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::clips::ffprobe;
use super::server::TestServer;

/// A fresh library folder inside the server's temp dir (canonical, as the engine stores it).
pub fn library(tmp: &Path) -> PathBuf {
    let dir = tmp.join("lib");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::canonicalize(dir).unwrap()
}

/// A canonical directory `name` in the server's temp dir.
pub fn folder(server: &TestServer, name: &str) -> PathBuf {
    let dir = server.tmp.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::canonicalize(dir).unwrap()
}

pub fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// The codec of the first video stream, as ffprobe reports it.
pub fn video_codec(path: &Path) -> String {
    let out = std::process::Command::new(ffprobe())
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=codec_name", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {path:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Sorted names of the entries of `dir`.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Our temp files (`.*.alchemist-tmp-<id>`) in `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    dir_names(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.contains(".alchemist-tmp-"))
        .collect()
}

/// The temp file the engine writes for job `id` on `input` (an MP4 source, MP4 output).
pub fn mp4_temp_path(input: &Path, id: u64) -> PathBuf {
    let stem = input.file_stem().unwrap().to_string_lossy();
    input.with_file_name(format!(".{stem}.alchemist.mp4.alchemist-tmp-{id}"))
}
