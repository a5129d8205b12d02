//! Library scan benchmark: generated libraries (2,000 and 10,000 files by default) of real,
//! tiny video files in 100 folders; the server in-process on a loopback port with the engine
//! paused. Prints the first scan (every file new), unchanged rescans (one index lookup per
//! file, no ffprobe), and, for the largest library, the first analysis: every file probed and
//! planned through `alchemist plan`'s parallel prober (bounded by cores; the native MKV/MP4
//! parser, ffprobe for what it declines), beside ffprobe alone over its first 300 files (Debian's
//! ffprobe, about 150 ms per file, would take minutes over all of them) as files per second and
//! the ratio, extrapolated to 100k files. Half the library is MP4, half Matroska. Warm page
//! cache: the library was just written.
//!
//! Run: `cargo bench --bench scan --target x86_64-unknown-linux-musl` (FILES=2000,10000 to
//! change the library sizes).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alchemist::media::plan::{EncodeSettings, Profile};
use alchemist::model::CpuEncoder;
use alchemist::store::Store;
use common::report::{Report, verdict};

const PASSWORD: &str = "benchmark password";

/// One 0.2 s 64×64 H.264 clip in MP4 and one in Matroska, copied in turn into every slot of
/// the library.
fn make_library(root: &Path, files: usize) -> Vec<PathBuf> {
    let mut clips = Vec::new();
    for ext in ["mp4", "mkv"] {
        let clip = root.join(format!("clip.{ext}"));
        let ok = common::media::ffmpeg_lavfi("testsrc2=size=64x64:rate=25:duration=0.2")
            .args(["-c:v", "libx264", "-preset", "ultrafast"])
            .arg(&clip)
            .status()
            .expect("ffmpeg")
            .success();
        assert!(ok, "ffmpeg could not make the {ext} clip");
        clips.push((clip, ext));
    }
    let lib = root.join("lib");
    let mut paths = Vec::with_capacity(files);
    for i in 0..files {
        let dir = lib.join(format!("Show {:03}", i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        let (clip, ext) = &clips[i % 2];
        let path = dir.join(format!("Episode {i:05}.{ext}"));
        std::fs::copy(clip, &path).unwrap();
        paths.push(path);
    }
    paths
}

async fn scan(http: &reqwest::Client, base: &str, token: &str) -> Duration {
    let started = Instant::now();
    let r = http
        .post(format!("{base}/api/library/scan"))
        .bearer_auth(token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let s: serde_json::Value = http
            .get(format!("{base}/api/library/scan"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if s["running"] == false {
            return started.elapsed();
        }
    }
}

/// ffprobe alone spawns a process per file (about 150 ms each for Debian's): it reads this many
/// files of the largest library, to keep the whole bench within minutes on two cores.
const PROBE_FILES: usize = 300;

/// The first analysis of the largest library.
struct Analysis {
    files: usize,
    native_files: usize,
    took: Duration,
    ffprobe_files: usize,
    ffprobe_took: Duration,
    load_before: String,
}

/// Probe and plan `files` with ffprobe alone, bounded by cores like `plan_paths`.
async fn ffprobe_only(profile: &Profile, files: Vec<PathBuf>) -> Duration {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(cores));
    let caps = alchemist::media::plan::Capabilities::all_cpu();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for file in files {
        let (limit, profile, caps) = (limit.clone(), profile.clone(), caps.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let info = alchemist::media::probe::probe_ffprobe(Path::new("ffprobe"), &file)
                .await
                .unwrap_or_else(|e| panic!("ffprobe {file:?}: {e}"));
            let _ = alchemist::media::plan::plan(&info, &profile, &caps);
        }));
    }
    for t in tasks {
        t.await.expect("ffprobe task");
    }
    started.elapsed()
}

fn main() {
    let sizes: Vec<usize> = std::env::var("FILES")
        .unwrap_or_else(|_| "2000,10000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let mut report = Report::new("scan", "Library scan");
    report.line("| files | first scan s | unchanged rescan s | rescan again s | rescan files/s | rescan of 10k ≤ 2 s |");
    report.line("|---|---|---|---|---|---|");
    let mut analysis = None;
    let largest = sizes.iter().copied().max().unwrap_or(0);
    for &files in &sizes {
        let (first, again, third, probe) = run(files, files == largest);
        let target = if files >= 10_000 {
            verdict(again.as_secs_f64() * 10_000.0 / files as f64, 2.0)
        } else {
            "-"
        };
        report.line(&format!(
            "| {files} | {:.3} | {:.3} | {:.3} | {:.0} | {target} |",
            first.as_secs_f64(),
            again.as_secs_f64(),
            third.as_secs_f64(),
            files as f64 / again.as_secs_f64()
        ));
        if probe.is_some() {
            analysis = probe;
        }
    }
    if let Some(a) = analysis {
        let native_rate = a.files as f64 / a.took.as_secs_f64();
        let ffprobe_rate = a.ffprobe_files as f64 / a.ffprobe_took.as_secs_f64();
        let target = verdict(a.took.as_secs_f64() * 10_000.0 / a.files as f64, 10.0);
        report.line("");
        report.line(&format!(
            "First analysis (probe + plan) of {} files through `alchemist plan`'s prober ({} \
             cores, load before {}): {:.2} s, {native_rate:.0} files/s, {} read natively, {} by \
             ffprobe; 10k files ≤ 10 s: {target}; 100k files extrapolated: {:.0} s. ffprobe \
             alone over {} of them: {:.2} s, {ffprobe_rate:.1} files/s (100k: {:.0} s); native \
             first is {:.0}× faster. Load after: {}.",
            a.files,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            a.load_before,
            a.took.as_secs_f64(),
            a.native_files,
            a.files - a.native_files,
            100_000.0 / native_rate,
            a.ffprobe_files,
            a.ffprobe_took.as_secs_f64(),
            100_000.0 / ffprobe_rate,
            native_rate / ffprobe_rate,
            common::report::load_average(),
        ));
    }
    report.finish();
}

/// One library of `files`: first scan, two unchanged rescans and, if `probe`, the first
/// analysis.
fn run(files: usize, probe: bool) -> (Duration, Duration, Duration, Option<Analysis>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut paths = make_library(tmp.path(), files);
    println!(
        "generated {files} files in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let data = tmp.path().join("data");
    {
        let store = Store::open(&data).expect("open");
        alchemist::Auth::new(store, 30)
            .create_user_blocking("admin", PASSWORD)
            .expect("admin");
    }
    let lib = std::fs::canonicalize(tmp.path().join("lib")).unwrap();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let server = common::BenchServer::start(&data, PASSWORD).await;
        let (http, base, token) = (&server.http, server.base.as_str(), server.token.as_str());
        let r = http
            .post(format!("{base}/api/library/folders"))
            .bearer_auth(token)
            .json(&serde_json::json!({"path": lib}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let first = scan(http, base, token).await;
        let again = scan(http, base, token).await;
        let third = scan(http, base, token).await;
        let probed = if probe {
            let profile = Profile::from_settings(&EncodeSettings {
                encoder: CpuEncoder::Libx265,
                crf: None,
                preset: None,
                threads: 0,
            });
            let load_before = common::report::load_average();
            let n = paths.len();
            let t = Instant::now();
            let reports =
                alchemist::media::report::plan_paths(Path::new("ffprobe"), &profile, paths.clone())
                    .await;
            let took = t.elapsed();
            assert_eq!(reports.len(), n);
            assert!(reports.iter().all(|r| r.action != "error"));
            let native_files = reports
                .iter()
                .filter(|r| r.probe_source == Some(alchemist::media::ProbeSource::Native))
                .count();
            paths.truncate(PROBE_FILES);
            let ffprobe_files = paths.len();
            let ffprobe_took = ffprobe_only(&profile, paths).await;
            Some(Analysis {
                files: n,
                native_files,
                took,
                ffprobe_files,
                ffprobe_took,
                load_before,
            })
        } else {
            None
        };
        server.stop().await;
        (first, again, third, probed)
    })
}
