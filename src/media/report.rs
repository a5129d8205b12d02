//! `alchemist plan PATH...`: probe files and print what the planner would do, without
//! encoding anything. Directories are walked (our own outputs, temp and trash files are left
//! out, as the scanner does); files are probed in parallel, bounded by the number of cores.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::model::Explanation;

use super::paths::{is_own_file, is_video_file};
use super::plan::{Capabilities, Decision, Profile, plan};
use super::probe::probe;

/// One file's decision as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    /// The path, lossily converted when it is not UTF-8.
    pub path: String,
    /// "skip", "remux", "transcode", or "error" when the file could not be probed.
    pub action: String,
    pub explanation: Explanation,
    /// Which probe read the file (`native` or `ffprobe`); absent when probing failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probe_source: Option<super::ProbeSource>,
}

/// The files `paths` name: files as given, directories walked for video files.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(p)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(walkdir::DirEntry::into_path)
                .filter(|f| is_video_file(f) && !is_own_file(f))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files
}

/// Probe and plan every file; the result keeps the input order.
pub async fn plan_paths(ffprobe: &Path, profile: &Profile, files: Vec<PathBuf>) -> Vec<PlanReport> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let limit = Arc::new(tokio::sync::Semaphore::new(cores));
    let caps = Capabilities::all_cpu();
    let mut tasks = Vec::new();
    for file in files {
        let (limit, ffprobe, profile, caps) = (
            limit.clone(),
            ffprobe.to_path_buf(),
            profile.clone(),
            caps.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let path = file.to_string_lossy().into_owned();
            match probe(&ffprobe, &file).await {
                Ok(info) => {
                    let d: Decision = plan(&info, &profile, &caps);
                    PlanReport {
                        path,
                        action: d.action().into(),
                        explanation: d.explanation(),
                        probe_source: Some(info.source),
                    }
                }
                Err(e) => PlanReport {
                    path,
                    action: "error".into(),
                    explanation: e.explanation(),
                    probe_source: None,
                },
            }
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        if let Ok(r) = t.await {
            out.push(r);
        }
    }
    out
}

/// Human-readable text: one block per file.
pub fn render_text(reports: &[PlanReport]) -> String {
    let mut s = String::new();
    for r in reports {
        s.push_str(&format!(
            "{}\n  {} [{}] {}\n  {}\n",
            r.path, r.action, r.explanation.code, r.explanation.summary, r.explanation.detail
        ));
    }
    s
}
