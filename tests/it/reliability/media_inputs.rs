//! Malformed media through the real engine: zero-byte files, random bytes of many sizes under
//! every video extension, header-only files, container magic followed by garbage, truncated
//! MP4s, images, audio and text under video names, and damaged but partly decodable files
//! (truncated Matroska, corrupted payload, valid media with the wrong extension). Inputs come
//! from a fixed seed. Each must end once (failed or skipped with a reason code, or for the
//! partly decodable ones a verified completion), never be retried, leave the original
//! byte-identical and no temp file, while the server keeps answering.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::clips::{generate, h264_clip, hevc_clip, mpeg4_clip};
use crate::support::files::{library, sha256, temp_files, video_codec};
use crate::support::jobs::start_scan;
use crate::support::rng::Rng;
use crate::support::wait::DISPATCH_TICK;
use crate::support::{TestServer, wait_until};

/// All jobs end within this on a busy 2-core machine.
const ALL_DONE: Duration = Duration::from_secs(240);

#[derive(Clone, Copy, PartialEq, Debug)]
enum Expect {
    /// Not media we can encode: failed or skipped with a reason.
    Refused,
    /// Damaged or mislabelled but decodable: may also complete (with a verified output).
    Any,
}

struct Inputs {
    files: Vec<(PathBuf, Expect, String)>,
    /// Non-video names: never queued.
    ignored: Vec<PathBuf>,
}

fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn make_inputs(dir: &Path) -> Inputs {
    let mut rng = Rng::new(0x00C0_FFEE);
    let mut files = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>, expect: Expect| {
        let p = put(dir, name, &bytes);
        let sum = sha256(&p);
        files.push((p, expect, sum));
    };
    let h264 = std::fs::read(h264_clip()).unwrap();
    let hevc = std::fs::read(hevc_clip()).unwrap();
    let mpeg4 = std::fs::read(mpeg4_clip()).unwrap();

    // Zero bytes (the engine tests cover an empty .mkv).
    for ext in ["mp4", "avi", "ts"] {
        add(&format!("zero.{ext}"), vec![], Expect::Refused);
    }
    // Random bytes, sizes from 1 byte to 1 MiB, under every kind of video name.
    let sizes: [(usize, &str); 12] = [
        (1, "mkv"),
        (16, "webm"),
        (512, "mov"),
        (4096, "ts"),
        (4096, "wmv"),
        (4096, "mpg"),
        (4096, "m2ts"),
        (4096, "m4v"),
        (65536, "mkv"),
        (65536, "flv"),
        (300_000, "mp4"),
        (1 << 20, "avi"),
    ];
    for (i, (size, ext)) in sizes.iter().enumerate() {
        add(
            &format!("random {i} {size}.{ext}"),
            rng.bytes(*size),
            Expect::Refused,
        );
    }
    // Headers only, and container magic followed by garbage.
    add("ftyp only.mp4", h264[..32].to_vec(), Expect::Refused);
    add("mp4 head.mp4", h264[..1024].to_vec(), Expect::Refused);
    add("mkv head.mkv", hevc[..4096].to_vec(), Expect::Refused);
    add("mpeg4 head.mkv", mpeg4[..4096].to_vec(), Expect::Refused);
    let mut ebml = vec![0x1A, 0x45, 0xDF, 0xA3];
    ebml.extend(rng.bytes(8192));
    add("ebml garbage.mkv", ebml, Expect::Refused);
    let mut ftyp = h264[..32].to_vec();
    ftyp.extend(rng.bytes(8192));
    add("ftyp garbage.mp4", ftyp, Expect::Refused);
    let mut riff = b"RIFF\x00\x10\x00\x00AVI LIST".to_vec();
    riff.extend(rng.bytes(8192));
    add("riff garbage.avi", riff, Expect::Refused);
    let mut ts = Vec::new();
    for _ in 0..64 {
        ts.push(0x47);
        ts.extend(rng.bytes(187));
    }
    add("sync garbage.ts", ts, Expect::Refused);
    // Truncated MP4s (the index is at the end): unreadable whatever the cut.
    for pct in [10, 50, 95] {
        add(
            &format!("cut {pct}.mp4"),
            h264[..h264.len() * pct / 100].to_vec(),
            Expect::Refused,
        );
    }
    // Other media under video names: an image, audio only, subtitles, JSON.
    let png = generate(
        "reliability-still.png",
        "-f lavfi -i testsrc2=size=64x64:rate=1:duration=1 -frames:v 1 -c:v png -f image2",
    );
    add(
        "still image.mkv",
        std::fs::read(png).unwrap(),
        Expect::Refused,
    );
    let wav = generate(
        "reliability-tone.wav",
        "-f lavfi -i sine=frequency=440:sample_rate=8000:duration=1 -f wav",
    );
    add(
        "audio only.mp4",
        std::fs::read(wav).unwrap(),
        Expect::Refused,
    );
    add(
        "subtitles.mkv",
        b"1\n00:00:01,000 --> 00:00:02,000\nHello\n\n".to_vec(),
        Expect::Refused,
    );
    add(
        "json.mov",
        br#"{"not": "a video"}"#.to_vec(),
        Expect::Refused,
    );
    // Damaged but partly decodable, and valid media with the wrong extension.
    add("half.mkv", hevc[..hevc.len() / 2].to_vec(), Expect::Any);
    add(
        "most.mkv",
        mpeg4[..mpeg4.len() * 7 / 10].to_vec(),
        Expect::Any,
    );
    let mut corrupt = h264.clone();
    let at = corrupt.len() / 2;
    let noise = rng.bytes(2048);
    corrupt[at..at + 2048].copy_from_slice(&noise);
    add("corrupt middle.mp4", corrupt, Expect::Any);
    add("really mp4.mkv", h264.clone(), Expect::Any);
    add("really mkv.avi", mpeg4.clone(), Expect::Any);

    // Video bytes under names the scanner does not take.
    let ignored = vec![
        put(dir, "movie.txt", &h264),
        put(dir, "movie.mkv.part", &h264),
    ];
    Inputs { files, ignored }
}

/// Jobs by input path.
async fn all_jobs(server: &TestServer, token: &str) -> BTreeMap<PathBuf, Value> {
    let list = server.get_json("/api/jobs?limit=200", token).await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|j| (PathBuf::from(j["input_path"].as_str().unwrap()), j.clone()))
        .collect()
}

fn is_terminal(job: &Value) -> bool {
    ["completed", "skipped", "failed", "cancelled"].contains(&job["status"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_truncated_and_random_media_end_once_with_reasons() {
    let started = Instant::now();
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let inputs = make_inputs(&lib);
    let ignored_sums: Vec<String> = inputs.ignored.iter().map(|p| sha256(p)).collect();
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    start_scan(&server, &token).await;
    let (done, _) = sse
        .until(Duration::from_secs(30), |e| e.event == "scan_completed")
        .await;
    assert_eq!(
        done.data["found"],
        inputs.files.len(),
        "every video name and nothing else: {}",
        done.data
    );

    // Wait until everything ended; the server answers all along.
    let jobs = wait_until(ALL_DONE, "every input to end", async || {
        let jobs = all_jobs(&server, &token).await;
        if jobs.len() == inputs.files.len() && jobs.values().all(is_terminal) {
            return Ok(jobs);
        }
        let running: Vec<_> = jobs
            .values()
            .filter(|j| !is_terminal(j))
            .map(|j| format!("{} {}", j["input_path"], j["status"]))
            .collect();
        Err(format!(
            "{} of {} jobs, not ended: {running:?}",
            jobs.len(),
            inputs.files.len()
        ))
    })
    .await;

    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    for (path, expect, _) in &inputs.files {
        let job = &jobs[path];
        let status = job["status"].as_str().unwrap();
        let why = match status {
            "failed" => &job["failure"],
            "skipped" => &job["decision"],
            "completed" => {
                assert_eq!(*expect, Expect::Any, "{path:?} completed: {job:#}");
                let out = PathBuf::from(job["output_path"].as_str().unwrap());
                assert_eq!(video_codec(&out), "hevc", "{path:?}: verified output");
                *codes.entry("completed".into()).or_default() += 1;
                continue;
            }
            other => panic!("{path:?} ended {other}: {job:#}"),
        };
        let code = why["code"].as_str().unwrap_or("");
        assert!(
            !code.is_empty()
                && code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()),
            "{path:?}: {status} without a reason code: {job:#}"
        );
        assert!(
            why["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{path:?}: {why}"
        );
        assert_eq!(job["attempt_count"], 1, "{path:?} tried once: {job:#}");
        *codes.entry(format!("{status}:{code}")).or_default() += 1;
    }

    // Nothing is retried: a rescan queues nothing, and after a dispatcher tick every job is
    // as it was.
    start_scan(&server, &token).await;
    let (done, _) = sse
        .until(Duration::from_secs(30), |e| e.event == "scan_completed")
        .await;
    assert_eq!(done.data["queued"], 0, "{}", done.data);
    sse.assert_quiet(DISPATCH_TICK, "a job was touched again", |e| {
        e.data["job_id"].is_u64()
    })
    .await;
    let again = all_jobs(&server, &token).await;
    for (path, job) in &jobs {
        let now = &again[path];
        assert_eq!(
            (&now["status"], &now["attempt_count"], &now["updated_at"]),
            (&job["status"], &job["attempt_count"], &job["updated_at"]),
            "{path:?} was touched again"
        );
    }

    // Originals byte-identical, no temp file, the server well.
    for (path, _, sum) in &inputs.files {
        assert_eq!(&sha256(path), sum, "{path:?} changed");
    }
    for (path, sum) in inputs.ignored.iter().zip(&ignored_sums) {
        assert_eq!(&sha256(path), sum);
        assert!(!again.contains_key(path), "{path:?} is not a video name");
    }
    assert!(temp_files(&lib).is_empty(), "{:?}", temp_files(&lib));
    let r = server
        .bearer(Method::GET, "/api/engine/status", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["queued_jobs"], json!(0));
    eprintln!(
        "media_inputs: {} inputs (+{} ignored names) ended as {codes:?} in {:.1} s",
        inputs.files.len(),
        inputs.ignored.len(),
        started.elapsed().as_secs_f64()
    );
    server.stop().await;
}
