//! Library scan benchmark: generated libraries (2,000 and 10,000 files by default) of real,
//! tiny video files in 100 folders; the server in-process on a loopback port with the engine
//! paused. Prints the first scan (every file new), unchanged rescans (one index lookup per
//! file, no ffprobe), and, for the first library, the cold probe of its first 300 files through
//! `alchemist plan`'s parallel prober (bounded by cores).
//!
//! Run: `cargo bench --bench scan` (FILES=2000,10000 to change the library sizes).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alchemist::media::plan::{EncodeSettings, Profile};
use alchemist::model::CpuEncoder;
use alchemist::store::Store;
use common::report::{Report, verdict};

const PASSWORD: &str = "benchmark password";

/// One 0.2 s 64×64 H.264 clip, copied into every slot of the library.
fn make_library(root: &Path, files: usize) -> Vec<PathBuf> {
    let clip = root.join("clip.mp4");
    let ok = common::media::ffmpeg_lavfi("testsrc2=size=64x64:rate=25:duration=0.2")
        .args(["-c:v", "libx264", "-preset", "ultrafast"])
        .arg(&clip)
        .status()
        .expect("ffmpeg")
        .success();
    assert!(ok, "ffmpeg could not make the clip");
    let lib = root.join("lib");
    let mut paths = Vec::with_capacity(files);
    for i in 0..files {
        let dir = lib.join(format!("Show {:03}", i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("Episode {i:05}.mp4"));
        std::fs::copy(&clip, &path).unwrap();
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

/// The cold probe spawns ffprobe per file (about 50 ms of CPU each): it runs on the first
/// library only, on this many files, to keep the whole bench within minutes on two cores.
const PROBE_FILES: usize = 300;

fn main() {
    let sizes: Vec<usize> = std::env::var("FILES")
        .unwrap_or_else(|_| "2000,10000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let mut report = Report::new("scan", "Library scan");
    report.line("| files | first scan s | unchanged rescan s | rescan again s | rescan files/s | rescan of 10k ≤ 2 s |");
    report.line("|---|---|---|---|---|---|");
    let mut probe_line = None;
    for (k, &files) in sizes.iter().enumerate() {
        let (first, again, third, probe) = run(files, k == 0);
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
        if let Some((n, d)) = probe {
            probe_line = Some(format!(
                "Cold ffprobe + plan of {n} files through `alchemist plan`'s prober ({} cores): \
                 {:.2} s, {:.0} files/s.",
                std::thread::available_parallelism().map_or(1, |n| n.get()),
                d.as_secs_f64(),
                n as f64 / d.as_secs_f64()
            ));
        }
    }
    if let Some(line) = probe_line {
        report.line("");
        report.line(&line);
    }
    report.finish();
}

/// One library of `files`: first scan, two unchanged rescans and, if `probe`, the cold probe.
fn run(files: usize, probe: bool) -> (Duration, Duration, Duration, Option<(usize, Duration)>) {
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
            paths.truncate(PROBE_FILES);
            let n = paths.len();
            let profile = Profile::from_settings(&EncodeSettings {
                encoder: CpuEncoder::Libx265,
                crf: None,
                preset: None,
                threads: 0,
            });
            let t = Instant::now();
            let reports =
                alchemist::media::report::plan_paths(Path::new("ffprobe"), &profile, paths).await;
            let d = t.elapsed();
            assert!(reports.iter().all(|r| r.action != "error"));
            Some((n, d))
        } else {
            None
        };
        server.stop().await;
        (first, again, third, probed)
    })
}
