//! Jobs whose profile has a quality target, through the real server and ffmpeg. ffmpeg is run
//! through a wrapper script that appends each command line to a log before `exec`ing the
//! real one: an independent count of the encoder runs.
//!
//! - A clip whose target is reachable with a good saving is encoded at the found CRF; the
//!   whole output's SSIM, measured against the whole source, is within 0.01 of the target and
//!   not more than 0.005 below it, and the predicted size is within 30 % of the real one.
//! - A clip whose prediction misses the minimum saving is skipped with
//!   `quality_forecast_insufficient` after only the sample encodes: every `-crf` run in the log
//!   wrote into a sample folder, as many as the decision says, and nothing beside the source.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};

use super::clip;
use crate::support::api::{add_folder_with_profile, ok, send};
use crate::support::clips::{copy_into, ffmpeg};
use crate::support::files::{dir_names, folder};
use crate::support::jobs::enqueue;
use crate::support::{LONG_JOB, TestServer};

/// A `ffmpeg` wrapper in `dir` that logs each command line to `dir/runs.log`.
fn counting_ffmpeg(dir: &Path) -> (PathBuf, PathBuf) {
    let log = dir.join("runs.log");
    let script = dir.join("ffmpeg");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            ffmpeg().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (script, log)
}

/// The logged command lines that ran an encoder (`-crf`).
fn encoder_runs(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" -crf "))
        .map(str::to_string)
        .collect()
}

async fn run_one(profile: Value, name: &str, clip: &Path) -> (Value, Vec<String>, Vec<String>) {
    let tools = tempfile::tempdir().unwrap();
    let (wrapper, log) = counting_ffmpeg(tools.path());
    let server = TestServer::start_with(|c| c.ffmpeg = wrapper).await;
    let token = server.login().await;
    ok(
        send(&server, &token, Method::POST, "/api/profiles", profile).await,
        201,
    )
    .await;
    let dir = folder(&server, name);
    ok(
        add_folder_with_profile(&server, &token, &dir, json!("q")).await,
        201,
    )
    .await;
    let input = copy_into(&dir, clip, OsStr::new("clip.mkv"));
    let id = enqueue(&server, &token, &input).await;
    let done = |j: &Value| {
        matches!(
            j["status"].as_str(),
            Some("completed" | "skipped" | "failed")
        )
    };
    let details = server.wait_job(&token, id, LONG_JOB, done).await;
    let runs = encoder_runs(&log);
    let names = dir_names(&dir);
    server.stop().await;
    drop(tools);
    (details, runs, names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_is_met_by_the_full_encode_at_the_found_crf() {
    let source = clip("quality-encode.mkv", 26, false);
    let profile = json!({
        "name": "q", "base": "default", "encoder": "libx264", "preset": "ultrafast",
        "min_saving_percent": 10, "quality_target": {"metric": "ssim", "value": 0.97}
    });
    let (d, runs, _) = run_one(profile, "encode", &source).await;
    assert_eq!(d["job"]["status"], "completed", "{d:#}");
    let m = &d["job"]["decision"]["measured"];
    assert_eq!(m["quality_metric"], "ssim", "{m:#}");
    let crf = m["quality_crf"].as_u64().unwrap();
    let measured = m["measured_score"].as_f64().expect("measured score");
    assert!(
        (measured - 0.97).abs() <= 0.01 && measured >= 0.965,
        "SSIM {measured} at CRF {crf}: {m:#}"
    );
    assert_eq!(
        m["score_measured_on"],
        "the whole output against the whole source"
    );
    let predicted = m["predicted_output_bytes"].as_f64().unwrap();
    let real = m["measured_output_bytes"].as_f64().unwrap();
    assert!(
        (predicted - real).abs() / real <= 0.3,
        "predicted {predicted} vs {real}"
    );
    // The full encode ran once, at the found CRF, after the sample encodes.
    let full: Vec<_> = runs.iter().filter(|l| !l.contains("samples-")).collect();
    assert_eq!(full.len(), 1, "{runs:#?}");
    assert!(full[0].contains(&format!(" -crf {crf} ")), "{}", full[0]);
    assert_eq!(
        runs.len() as u64 - 1,
        m["sample_encodes"].as_u64().unwrap(),
        "{runs:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poor_prediction_skips_after_only_the_sample_encodes() {
    let source = clip("quality-skip.mkv", 26, false);
    let profile = json!({
        "name": "q", "base": "default", "encoder": "libx264", "preset": "ultrafast",
        "min_saving_percent": 90, "quality_target": {"metric": "ssim", "value": 0.995}
    });
    let (d, runs, names) = run_one(profile, "skip", &source).await;
    assert_eq!(d["job"]["status"], "skipped", "{d:#}");
    let decision = &d["job"]["decision"];
    assert_eq!(decision["code"], "quality_forecast_insufficient", "{d:#}");
    let samples = decision["measured"]["sample_encodes"].as_u64().unwrap();
    assert!(samples >= 1, "{decision:#}");
    assert_eq!(runs.len() as u64, samples, "{runs:#?}");
    assert!(runs.iter().all(|l| l.contains("samples-")), "{runs:#?}");
    assert!(
        decision["measured"]["predicted_saving_percent"]
            .as_f64()
            .unwrap()
            < 90.0
    );
    // Nothing was written beside the source.
    assert_eq!(names, ["clip.mkv"]);
}
