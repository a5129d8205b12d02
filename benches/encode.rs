//! Encode overhead: a generated clip queued through the real binary's engine, against the
//! very same ffmpeg argument vector run by hand. The engine logs the argument vector it runs
//! (`ffmpeg …` in the job log); the bench runs it again with only the output path changed.
//! Engine and hand runs alternate, RUNS times each, and the medians are compared three ways:
//! the engine's own timing of the ffmpeg run (`encode_stats.encode_time_seconds`), the whole
//! job as the engine records it (`attempts[].wall_seconds`: probe, plan, encode, verify,
//! replace), and enqueue → completed as a client sees it (includes the 50 ms poll).
//!
//! Run: `cargo bench --bench encode` (RUNS=3, CLIP_SECONDS=12).

mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use common::media::{self, Setup};
use common::median;
use common::proc::binary;
use common::report::{Report, verdict};

/// Issue 7's target for the engine's overhead over the same command by hand.
const TARGET_PERCENT: f64 = 2.0;

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The argument vector from the job log's `ffmpeg …` line. The bench names its files without
/// spaces and no argument the engine builds contains one, so splitting on spaces is exact.
fn logged_argv(details: &serde_json::Value) -> Vec<String> {
    let line = details["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["message"].as_str())
        .find(|m| m.starts_with("ffmpeg "))
        .expect("the job log has the ffmpeg command");
    line["ffmpeg ".len()..]
        .split(' ')
        .map(str::to_string)
        .collect()
}

/// Run `argv` with its output (the last argument) replaced by `output`; wall seconds.
fn by_hand(argv: &[String], output: &std::path::Path) -> f64 {
    let mut argv = argv.to_vec();
    let last = argv.last_mut().expect("argv");
    assert!(
        last.starts_with("file:"),
        "output is the last argument: {last}"
    );
    *last = format!("file:{}", output.display());
    let started = Instant::now();
    let ok = Command::new("ffmpeg")
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("ffmpeg")
        .success();
    let wall = started.elapsed().as_secs_f64();
    assert!(ok, "ffmpeg by hand failed: {argv:?}");
    let _ = std::fs::remove_file(output);
    wall
}

fn main() {
    let runs: usize = env_or("RUNS", 3);
    let clip_seconds: u32 = env_or("CLIP_SECONDS", 12);
    let mut report = Report::new(
        "encode",
        "Encode overhead: engine vs the same ffmpeg by hand",
    );
    report.line(&format!("Binary: {}.", binary().1));
    let tmp = tempfile::tempdir().expect("tempdir");
    assert!(
        !tmp.path().to_string_lossy().contains(' '),
        "the argv split needs a temp dir without spaces"
    );
    let setup: Setup = media::setup(tmp.path(), clip_seconds);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (mut encode, mut job, mut client, mut hand) = (vec![], vec![], vec![], vec![]);
    let mut argv = Vec::new();
    let mut server_cpu = 0.0;
    runtime.block_on(async {
        let (server, http, token) = media::start(&setup, 1).await;
        for i in 0..runs {
            let cpu = server.cpu_seconds();
            let queued = Instant::now();
            let id = media::enqueue(&setup, &server, &http, &token, &format!("run-{i}.mkv")).await;
            let (d, done) = media::wait_done(&server, &http, &token, id).await;
            server_cpu += server.cpu_seconds() - cpu;
            client.push(done.duration_since(queued).as_secs_f64());
            encode.push(
                d["encode_stats"]["encode_time_seconds"]
                    .as_f64()
                    .expect("encode time"),
            );
            let attempts = d["attempts"].as_array().expect("attempts");
            job.push(
                attempts.last().expect("an attempt")["wall_seconds"]
                    .as_f64()
                    .expect("wall"),
            );
            argv = logged_argv(&d);
            hand.push(by_hand(&argv, &tmp.path().join(format!("hand-{i}.out"))));
            println!(
                "run {i}: engine encode {:.2} s, job {:.2} s, client {:.2} s; by hand {:.2} s",
                encode[i], job[i], client[i], hand[i]
            );
        }
        server.stop();
    });
    // Paired per run, so immune to the machine's drift: what the job adds around its ffmpeg.
    let mut around: Vec<f64> = job.iter().zip(&encode).map(|(j, e)| j - e).collect();
    let around = median(&mut around);
    let hand_m = median(&mut hand);
    // `median` sorted the runs: the spread of the same command by hand is the noise floor.
    let noise = (hand[hand.len() - 1] - hand[0]) / hand_m * 100.0;
    report.line(&format!(
        "{clip_seconds} s 640×360 MPEG-4 source → the engine's default plan (libx265), one job \
         at a time, normal priority; median of {runs} alternating runs. Command: `ffmpeg {}`",
        argv.join(" ")
    ));
    report.line("");
    report.line("| measured | median s | overhead vs by hand | ≤ 2 % |");
    report.line("|---|---|---|---|");
    report.line(&format!(
        "| same ffmpeg command by hand | {hand_m:.2} | | |"
    ));
    for (name, values) in [
        ("engine's ffmpeg run (`encode_time_seconds`)", &mut encode),
        (
            "whole job (`attempts[].wall_seconds`: probe, plan, encode, verify)",
            &mut job,
        ),
        ("enqueue → completed seen by the client", &mut client),
    ] {
        let m = median(values);
        let over = (m - hand_m) / hand_m * 100.0;
        // An overhead inside the run-to-run spread is not a measurement of anything.
        let judged = if noise > TARGET_PERCENT && over.abs() < noise {
            format!("within noise (runs by hand spread {noise:.0} %)")
        } else {
            verdict(over, TARGET_PERCENT).to_string()
        };
        report.line(&format!("| {name} | {m:.2} | {over:+.1} % | {judged} |"));
    }
    let total: f64 = job.iter().sum();
    report.line("");
    report.line(&format!(
        "The job around its ffmpeg run (probe, plan, verify, replace), paired per run: median \
         {around:.2} s."
    ));
    report.line(&format!(
        "Server process CPU (not ffmpeg's) over the engine runs: {server_cpu:.2} s in {total:.1} s \
         of jobs ({:.1} % of one core).",
        server_cpu / total * 100.0
    ));
    report.finish();
}
