//! The kill test of segmented encodes (issue 19): the real `alchemist serve` binary is
//! SIGKILLed at random points of one segmented encode, 20 times in one run. Every
//! restart must resume from the last complete segment instead of starting over: from the job
//! log (read from the store while the server is down) the test measures, per segment, how
//! often it was started; the seconds encoded again must stay within one segment per kill, and
//! each run must start at or after the segment the previous run was killed in. A last run
//! finishes the job; its output must have every frame of the source exactly once, pass the
//! server's verification (the joined-output A/V sync check included) and keep picture and
//! sound together to within one frame as measured here with ffprobe; the source is unchanged
//! and no segment, temp or part file is left.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alchemist::model::JobState;
use alchemist::store::{JobQuery, Store};

use super::{FPS, SEGMENT, SOURCE_SECONDS, check_segment_folder, segment_clip, segment_dir};
use crate::support::binary::BIN;
use crate::support::clips::{copy_into, ffmpeg, ffprobe};
use crate::support::files::sha256;
use crate::support::procs::is_dead;
use crate::support::rng::Rng;
use crate::support::{LONG_JOB, PROMPT, wait_until};

const KILLS: usize = 20;

fn serve(data: &Path, config: &Path, log: &Path) -> Child {
    Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(data)
        .arg("--config")
        .arg(config)
        .env("ALCHEMIST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// The ffmpeg encoding a segment in `lib` (its pid and the segment's index), if one runs: found
/// by the part file it writes, `<lib>/.<name>.alchemist-seg-<job>/NNNNN.part` (other tests encode
/// segments at the same time, in their own folders).
fn running_segment(lib: &Path) -> Option<(u32, usize)> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let is_ffmpeg = args.first().is_some_and(|a0| {
            Path::new(OsStr::from_bytes(a0)).file_name() == Some("ffmpeg".as_ref())
        });
        if !is_ffmpeg {
            continue;
        }
        // The server hands ffmpeg the segment folder as `/proc/<server>/fd/<n>/NNNNN.part`:
        // the part file it writes shows under its real path among its open files.
        let open: Vec<Vec<u8>> = std::fs::read_dir(entry.path().join("fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .map(|p| p.into_os_string().into_vec())
            .collect();
        for a in args.iter().copied().chain(open.iter().map(Vec::as_slice)) {
            let a = Path::new(OsStr::from_bytes(a));
            let a = Path::new(OsStr::from_bytes(
                a.as_os_str()
                    .as_bytes()
                    .strip_prefix(b"file:")
                    .unwrap_or(a.as_os_str().as_bytes()),
            ));
            let in_segments = a.parent().is_some_and(|p| {
                p.parent() == Some(lib)
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().contains(".alchemist-seg-"))
            });
            let name = a.file_name().map(|n| n.to_string_lossy().into_owned());
            if in_segments
                && let Some(index) = name
                    .as_deref()
                    .and_then(|n| n.strip_suffix(".part"))
                    .and_then(|n| n.parse().ok())
            {
                return Some((pid, index));
            }
        }
    }
    None
}

/// The one job and its log, read from the store while no server runs.
fn job_and_log(data: &Path) -> (alchemist::store::Job, Vec<String>) {
    let store = Store::open(data).unwrap();
    let q = JobQuery {
        limit: 1000,
        ..JobQuery::default()
    };
    let jobs = store.list_jobs(&q).unwrap().0;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    let job = jobs.into_iter().next().unwrap();
    let log = store
        .job_logs(job.id, 1_000_000)
        .unwrap()
        .into_iter()
        .map(|l| l.message)
        .collect();
    (job, log)
}

/// What the job log says about the runs: per run, the segment it started at (0-based) and the
/// segments it started; and how often each segment was started in all.
#[derive(Debug, Default)]
struct Runs {
    /// (first segment, seconds reused, segments started) per run.
    runs: Vec<(usize, f64, Vec<usize>)>,
    starts: BTreeMap<usize, usize>,
}

fn parse_runs(log: &[String]) -> Runs {
    let mut r = Runs::default();
    for line in log {
        if line.starts_with("encoding in ") && line.contains(" segments of up to ") {
            r.runs.push((0, 0.0, vec![]));
        } else if let Some(rest) = line.strip_prefix("resumed from segment ") {
            // "resumed from segment K of N (S s reused): ..."
            let k: usize = rest.split(' ').next().unwrap().parse().unwrap();
            let s: f64 = rest
                .split('(')
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            r.runs.push((k - 1, s, vec![]));
        } else if let Some(rest) = line.strip_prefix("segment ")
            && line.contains(" started (")
        {
            let k: usize = rest.split(' ').next().unwrap().parse().unwrap();
            r.runs
                .last_mut()
                .expect("a segment starts after its run's first line")
                .2
                .push(k - 1);
            *r.starts.entry(k - 1).or_default() += 1;
        }
    }
    r
}

/// Packets' end times of `file`'s first video and audio streams: (video start, video end,
/// audio start, audio end), and the number of video packets.
fn edges(file: &Path) -> ((f64, f64, f64, f64), usize) {
    let out = Command::new(ffprobe())
        .args(["-v", "error", "-show_entries"])
        .arg("stream=index,codec_type:packet=stream_index,pts_time,duration_time")
        .args(["-of", "json"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let index_of = |kind: &str| {
        v["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["codec_type"] == kind)
            .unwrap()["index"]
            .as_u64()
            .unwrap()
    };
    let span = |index: u64| {
        let (mut first, mut last, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0);
        for p in v["packets"].as_array().unwrap() {
            if p["stream_index"].as_u64() != Some(index) {
                continue;
            }
            let pts: f64 = p["pts_time"].as_str().unwrap().parse().unwrap();
            let d: f64 = p["duration_time"].as_str().unwrap_or("0").parse().unwrap();
            (first, last, n) = (first.min(pts), last.max(pts + d), n + 1);
        }
        (first, last, n)
    };
    let (v0, v1, frames) = span(index_of("video"));
    let (a0, a1, _) = span(index_of("audio"));
    ((v0, v1, a0, a1), frames)
}

#[tokio::test]
async fn sigkilled_segmented_encode_resumes_from_its_last_complete_segment() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let lib = tmp.path().join("lib");
    std::fs::create_dir_all(&lib).unwrap();
    let lib = std::fs::canonicalize(&lib).unwrap();
    let data = tmp.path().join("data");
    let source = copy_into(&lib, segment_clip(), OsStr::new("film.mkv"));
    let source_sha = sha256(&source);
    let config = tmp.path().join("alchemist.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nscan_on_start = true\nlibraries = [{lib:?}]\n\
             ffmpeg = {:?}\nffprobe = {:?}\n\n[transcode]\nencoder = \"libx265\"\n\
             preset = \"ultrafast\"\nsegment_seconds = {SEGMENT}\nsegment_min_seconds = 10\n",
            ffmpeg(),
            ffprobe()
        ),
    )
    .unwrap();

    let mut rng = Rng::from_clock("segment kill test");
    let log = tmp.path().join("server.log");
    let server_log = || std::fs::read_to_string(&log).unwrap_or_default();
    for kill in 0..KILLS {
        let mut child = serve(&data, &config, &log);
        // Kill once this run has started 1 or 2 segments, plus 0-150 ms: sometimes right at a
        // segment's start, sometimes well into it, sometimes just after one completed. Every
        // other run starts two, so at least one of its segments is complete when it dies.
        let target = if kill % 2 == 0 {
            2
        } else {
            1 + rng.below(2) as usize
        };
        let mut seen: Vec<(u32, usize)> = Vec::new();
        // Polled every 10 ms, not with `wait_until`'s backoff: on a loaded CI machine the
        // server's start takes long enough for the backoff to reach its 250 ms, and a run then
        // got several segments further than its target before the kill, so the whole source
        // was done (and the join begun) before the twentieth kill.
        let deadline = Instant::now() + LONG_JOB;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the server exited with {status}: {}", server_log());
            }
            if let Some(s) = running_segment(&lib)
                && !seen.iter().any(|(_, i)| *i == s.1)
            {
                seen.push(s);
            }
            assert!(
                !lib.join("film.alchemist.mkv").exists(),
                "the encode finished after only {kill} kills: make the source longer"
            );
            if seen.len() >= target {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {LONG_JOB:?} waiting for run {kill} to start its segments: {}",
                server_log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.below(150))).await;
        child.kill().unwrap(); // SIGKILL: no shutdown code runs.
        child.wait().unwrap();
        if let Some((pid, _)) = running_segment(&lib) {
            wait_until(PROMPT, "ffmpeg to die with the server", async || {
                is_dead(pid)
            })
            .await;
        }
        for (pid, _) in &seen {
            wait_until(PROMPT, "ffmpeg to die with the server", async || {
                is_dead(*pid)
            })
            .await;
        }
        // While it is down: the source is intact and the store says where the encode stands.
        assert_eq!(sha256(&source), source_sha, "the source is only read");
        let (job, log) = job_and_log(&data);
        assert!(job.status.is_active(), "{:?}", job.status);
        let runs = parse_runs(&log);
        assert_eq!(runs.runs.len(), kill + 1, "one run per start: {log:#?}");
        // The segments are hidden beside the output, and what the crash left is consistent.
        let dir = segment_dir(&lib).expect("the segment folder survives the crash");
        assert!(dir.file_name().unwrap().to_string_lossy().starts_with('.'));
        check_segment_folder(&dir);
    }

    // A last run finishes the job; the server is stopped with SIGTERM once the output is in
    // place and the segment folder is gone (the job's last step before it is recorded).
    let mut child = serve(&data, &config, &log);
    let output = lib.join("film.alchemist.mkv");
    wait_until(LONG_JOB, "the resumed encode to complete", async || {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited with {status}: {}", server_log());
        }
        output.exists() && segment_dir(&lib).is_none()
    })
    .await;
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let exit = wait_until(PROMPT * 3, "the server to exit", async || {
        child.try_wait().unwrap()
    })
    .await;
    assert!(exit.success(), "{exit}: {}", server_log());

    let (job, log) = job_and_log(&data);
    assert_eq!(job.status, JobState::Completed, "{log:#?}");
    let runs = parse_runs(&log);
    assert_eq!(runs.runs.len(), KILLS + 1, "{log:#?}");
    let count = (f64::from(SOURCE_SECONDS) / SEGMENT) as usize;
    // Each run starts at or after the segment the run before it was killed in: the complete
    // ones before that are never encoded again.
    for pair in runs.runs.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        let killed_in = *before.2.iter().max().unwrap_or(&before.0);
        assert!(
            after.0 >= killed_in && after.0 >= before.0,
            "a run started at segment {} after one killed in segment {killed_in}: {:?}",
            after.0,
            runs.runs
        );
        assert!(
            (after.1 - after.0 as f64 * SEGMENT).abs() < 1e-6,
            "{after:?}"
        );
    }
    // Progress survived: every other run completed a segment, which no later run encoded again.
    let last = &runs.runs[KILLS];
    assert!(last.0 >= KILLS / 2, "the last run started at {last:?}");
    // Every segment was encoded; what was encoded again is bounded by one segment per kill.
    assert_eq!(runs.starts.len(), count, "{:?}", runs.starts);
    let redone: f64 = runs.starts.values().map(|n| (n - 1) as f64 * SEGMENT).sum();
    // For scale: starting over after each kill would have redone everything up to the end of
    // the segment it was killed in.
    let over: f64 = runs.runs[..KILLS]
        .iter()
        .map(|r| (*r.2.iter().max().unwrap_or(&r.0) + 1) as f64 * SEGMENT)
        .sum();
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!(
        "segment kill test: {KILLS} kills, {redone} s of {SOURCE_SECONDS} s encoded again, \
         counting each restarted segment whole (bound {} s; starting over: {over} s), \
         {:.1} s in all, load {}",
        KILLS as f64 * SEGMENT,
        started.elapsed().as_secs_f64(),
        loadavg.trim()
    );
    assert!(
        redone <= KILLS as f64 * SEGMENT,
        "{redone} s encoded again: {:?}",
        runs.starts
    );
    assert!(
        log.iter().any(|l| l.starts_with("joined output in sync")),
        "the server's own sync check ran: {log:#?}"
    );

    // The output: every source frame exactly once, picture and sound together within a frame.
    let ((v0, v1, a0, a1), frames) = edges(&output);
    let ((sv0, sv1, sa0, sa1), source_frames) = edges(&source);
    assert_eq!(source_frames, (SOURCE_SECONDS * FPS) as usize);
    assert_eq!(
        frames, source_frames,
        "no frame lost or doubled at the joins"
    );
    let frame = 1.0 / f64::from(FPS);
    assert!(
        ((v0 - a0) - (sv0 - sa0)).abs() <= frame,
        "start: {v0} {a0} vs {sv0} {sa0}"
    );
    assert!(
        ((v1 - a1) - (sv1 - sa1)).abs() <= frame,
        "end: {v1} {a1} vs {sv1} {sa1}"
    );
    let codec = Command::new(ffprobe())
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["stream=codec_name", "-of", "csv=p=0"])
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&codec.stdout).trim(), "hevc");
    let decode = Command::new(ffmpeg())
        .args(["-v", "error", "-xerror", "-i"])
        .arg(&output)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        decode.status.success() && decode.stderr.is_empty(),
        "{decode:?}"
    );
    assert_eq!(sha256(&source), source_sha, "the source is untouched");
    let mut left: Vec<String> = std::fs::read_dir(&lib)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["film.alchemist.mkv", "film.mkv"],
        "nothing else is left"
    );
}
