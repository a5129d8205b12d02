//! Probe benchmark: the native header parser against ffprobe, per file, over a generated
//! library of tiny MKV/WebM/MP4/MOV clips (h264, HEVC 8/10-bit HDR, AV1, VP9; AAC, Opus, FLAC;
//! subtitles), warm page cache, one file at a time and then on every core. The figure that
//! matters for a first analysis is files per second; the load average is printed beside each.
//!
//! Run: `cargo bench --bench probe --target x86_64-unknown-linux-musl` (the static build the
//! appliance ships). FILES (default 2000) library size; FFPROBE_FILES (default 200) how many of
//! them ffprobe reads (Debian's takes ~150 ms each); FFPROBE the binary (default `ffprobe`).

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use alchemist::media::native;
use alchemist::media::probe::probe_ffprobe;
use common::report::{Report, load_average};

/// (file name, ffmpeg arguments after the lavfi video and audio inputs)
const KINDS: [(&str, &str); 8] = [
    ("h264_aac.mkv", "-c:v libx264 -preset ultrafast -c:a aac"),
    ("h264_aac.mp4", "-c:v libx264 -preset ultrafast -c:a aac"),
    ("h264_aac.mov", "-c:v libx264 -preset ultrafast -c:a aac"),
    (
        "hevc_opus.mkv",
        "-c:v libx265 -preset ultrafast -x265-params log-level=error -c:a libopus",
    ),
    (
        "hevc10_hdr.mp4",
        "-c:v libx265 -preset ultrafast -x265-params log-level=error -pix_fmt yuv420p10le \
         -color_trc smpte2084 -color_primaries bt2020 -colorspace bt2020nc -tag:v hvc1 -c:a aac",
    ),
    ("av1_opus.mkv", "-c:v libsvtav1 -preset 12 -c:a libopus"),
    (
        "vp9_opus.webm",
        "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -c:a libopus",
    ),
    ("h264_flac.mkv", "-c:v libx264 -preset ultrafast -c:a flac"),
];

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn make_library(root: &Path, files: usize) -> Vec<PathBuf> {
    let mut clips = Vec::new();
    for (name, args) in KINDS {
        let path = root.join(name);
        let ok = common::media::ffmpeg_lavfi("testsrc2=size=320x240:rate=25:duration=1")
            .args(["-f", "lavfi", "-i", "sine=duration=1"])
            .args(args.split_whitespace())
            .arg(&path)
            .status()
            .expect("ffmpeg")
            .success();
        assert!(ok, "ffmpeg could not make {name}");
        clips.push(path);
    }
    (0..files)
        .map(|i| {
            let clip = &clips[i % clips.len()];
            let ext = clip.extension().unwrap().to_string_lossy();
            let path = root.join(format!("file{i:05}.{ext}"));
            std::fs::copy(clip, &path).unwrap();
            path
        })
        .collect()
}

/// Native probes of `files` on `threads` threads: (elapsed s, read natively).
fn native_run(files: &[PathBuf], threads: usize) -> (f64, usize) {
    let start = Instant::now();
    let chunk = files.len().div_ceil(threads.max(1));
    let read: usize = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk.max(1))
            .map(|part| s.spawn(move || part.iter().filter(|f| native::probe(f).is_ok()).count()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    (start.elapsed().as_secs_f64(), read)
}

fn main() {
    let files = env_usize("FILES", 2000);
    let ff_files = env_usize("FFPROBE_FILES", 200).min(files);
    let ffprobe = PathBuf::from(std::env::var("FFPROBE").unwrap_or_else(|_| "ffprobe".into()));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let root = tempfile::tempdir().unwrap();
    let lib = make_library(root.path(), files);
    // Warm the page cache: the figures are for parsing, not for the disk.
    native_run(&lib, 1);

    let mut r = Report::new("probe", "Probe: native header parser vs ffprobe");
    r.line(&format!(
        "{files} generated files ({} kinds: MKV/WebM/MP4/MOV, h264, HEVC 8/10-bit HDR10, AV1, VP9; \
         AAC, Opus, FLAC), warm cache.",
        KINDS.len()
    ));
    r.line("");
    r.line("| path | files | per file | files/s | load (1/5/15 min) |");
    r.line("|---|---|---|---|---|");
    let (t, read) = native_run(&lib, 1);
    r.line(&format!(
        "| native, serial | {files} ({read} read natively) | {:.3} ms | {:.0} | {} |",
        t * 1000.0 / files as f64,
        files as f64 / t,
        load_average()
    ));
    let native_per_file = t / files as f64;
    let (t, _) = native_run(&lib, cores);
    r.line(&format!(
        "| native, {cores} threads | {files} | {:.3} ms | {:.0} | {} |",
        t * 1000.0 / files as f64,
        files as f64 / t,
        load_average()
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    runtime.block_on(async {
        for f in &lib[..ff_files] {
            probe_ffprobe(&ffprobe, f).await.expect("ffprobe");
        }
    });
    let t = start.elapsed().as_secs_f64();
    let ff_per_file = t / ff_files as f64;
    r.line(&format!(
        "| ffprobe ({}), serial | {ff_files} | {:.2} ms | {:.0} | {} |",
        ffprobe.display(),
        ff_per_file * 1000.0,
        ff_files as f64 / t,
        load_average()
    ));
    r.line("");
    r.line(&format!(
        "Native is {:.0}× faster per file than ffprobe, serial.",
        ff_per_file / native_per_file
    ));
    r.finish();
}
