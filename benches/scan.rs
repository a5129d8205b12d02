//! Library scan benchmark: a generated library of FILES (default 2,000) real, tiny video files
//! in 100 folders; the real server on a loopback port with the engine paused. Prints the first
//! scan (every file new), an unchanged rescan (one index lookup per file, no ffprobe), and the
//! cold probe of every file through `alchemist plan`'s parallel prober (bounded by cores).
//!
//! Run: `cargo bench --bench scan` (FILES=N to change the library size).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use alchemist::media::plan::{EncodeSettings, Profile};
use alchemist::model::CpuEncoder;
use alchemist::store::Store;

const PASSWORD: &str = "benchmark password";

/// One 0.2 s 64×64 H.264 clip, copied into every slot of the library.
fn make_library(root: &Path, files: usize) -> Vec<PathBuf> {
    let clip = root.join("clip.mp4");
    let ok = std::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc2=size=64x64:rate=25:duration=0.2")
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

fn main() {
    let files: usize = std::env::var("FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let paths = make_library(tmp.path(), files);
    println!(
        "generated {files} files in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let data = tmp.path().join("data");
    {
        let store = Store::open(&data).expect("open");
        alchemist::auth::Auth::new(store, 30)
            .create_user("admin", PASSWORD)
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
        println!("| {files} files | seconds | files/s |");
        println!("|---|---|---|");
        for (name, d) in [
            ("first scan", first),
            ("unchanged rescan", again),
            ("unchanged rescan (again)", third),
        ] {
            println!(
                "| {name} | {:.3} | {:.0} |",
                d.as_secs_f64(),
                files as f64 / d.as_secs_f64()
            );
        }
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
        println!(
            "| cold ffprobe + plan of every file ({} cores) | {:.3} | {:.0} |",
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            d.as_secs_f64(),
            files as f64 / d.as_secs_f64()
        );
        server.stop().await;
    });
}
