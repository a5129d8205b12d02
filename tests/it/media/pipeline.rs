//! Real-ffmpeg tests of the media pipeline: probe → decide → args → run → verify on generated
//! clips, cancellation (also while paused), failures that must explain themselves, and file
//! names that break naive shell or UTF-8 handling.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use alchemist::media::args::build_args;
use alchemist::media::paths::{is_own_file, output_path, temp_path};
use alchemist::media::plan::{Decision, EncodeSettings, OutputContainer, Plan, decide};
use alchemist::media::probe::{ProbeError, probe, probe_ffprobe};
use alchemist::media::run::{RunError, RunEvent, RunOptions, RunSummary, run_ffmpeg};
use alchemist::media::verify::verify;
use alchemist::model::{CpuEncoder, JobId};
use alchemist::process::{self, Priority};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;

use crate::support::clips::{copy_into, ffmpeg, ffprobe, h264_clip, hevc_clip, long_h264_clip};
use crate::support::procs::is_stopped;
use crate::support::{PROMPT, wait_until};

/// A cancelled encode must be gone well within this, even on a busy 2-core CI machine.
const CANCEL_WITHIN: Duration = Duration::from_secs(3);

fn settings(encoder: CpuEncoder, preset: &str) -> EncodeSettings {
    EncodeSettings {
        encoder,
        crf: None,
        preset: Some(preset.into()),
        threads: 0,
    }
}

fn opts(duration: f64) -> RunOptions {
    RunOptions {
        ffmpeg: ffmpeg().to_path_buf(),
        priority: Priority::Background,
        duration,
        pass_fd: None,
    }
}

fn transcode_plan(decision: Decision) -> Plan {
    match decision {
        Decision::Transcode(plan) => plan,
        other => panic!("expected a transcode, got {other:?}"),
    }
}

/// Run on a blocking thread, as the engine does, collecting every event.
async fn run_collect(
    opts: RunOptions,
    args: Vec<std::ffi::OsString>,
) -> (Result<RunSummary, RunError>, Vec<RunEvent>) {
    tokio::task::spawn_blocking(move || {
        let mut events = Vec::new();
        let result = run_ffmpeg(&opts, args, &CancellationToken::new(), &mut |e| {
            events.push(e)
        });
        (result, events)
    })
    .await
    .unwrap()
}

/// probe → decide → args → run into the temp path → verify; returns the verified temp file.
async fn encode_and_verify(input: &Path, settings: &EncodeSettings) -> (PathBuf, Vec<RunEvent>) {
    let info = probe(ffprobe(), input).await.unwrap();
    let plan = transcode_plan(decide(&info, settings));
    let output = output_path(input, plan.container);
    let temp = temp_path(&output, JobId(1));
    let args = build_args(&plan, input, &temp);
    let (result, events) = run_collect(opts(info.duration), args).await;
    result.unwrap_or_else(|e| panic!("{:?}", e.explanation()));
    let out = verify(ffprobe(), &temp, info.duration, settings.encoder.codec())
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(out.video.unwrap().codec, settings.encoder.codec().as_str());
    assert_eq!(out.audio.len(), info.audio.len(), "audio is copied");
    (temp, events)
}

#[tokio::test]
async fn h264_to_hevc_with_progress_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let input = copy_into(dir.path(), h264_clip(), OsStr::new("clip.mp4"));
    let info = probe(ffprobe(), &input).await.unwrap();
    assert_eq!(info.video.as_ref().unwrap().codec, "h264");
    let plan = transcode_plan(decide(&info, &settings(CpuEncoder::Libx265, "medium")));
    assert_eq!(plan.container, OutputContainer::Mp4);

    let (temp, events) = encode_and_verify(&input, &settings(CpuEncoder::Libx265, "medium")).await;
    assert!(
        matches!(events[0], RunEvent::Started { pid } if pid > 0),
        "{:?}",
        events[0]
    );
    let percents: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Progress(p) => Some(p.percent),
            _ => None,
        })
        .collect();
    assert!(!percents.is_empty(), "no progress events");
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
    assert!(*percents.last().unwrap() > 90.0, "{percents:?}");
    let name = temp.file_name().unwrap().as_bytes();
    assert!(
        name.starts_with(b".clip.alchemist.mp4.alchemist-tmp-"),
        "{temp:?}"
    );
}

#[tokio::test]
async fn other_encoders_produce_verified_mkv() {
    let dir = tempfile::tempdir().unwrap();
    for (encoder, preset) in [
        (CpuEncoder::Libsvtav1, "12"),
        (CpuEncoder::Libx264, "ultrafast"),
    ] {
        let input = copy_into(dir.path(), hevc_clip(), OsStr::new(encoder.as_str()));
        let (temp, _) = encode_and_verify(&input, &settings(encoder, preset)).await;
        let out = probe(ffprobe(), &temp).await.unwrap();
        assert_eq!(out.container, "matroska");
    }
}

#[tokio::test]
async fn awkward_file_name_works_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let name = OsStr::from_bytes(b"-we ird \"quoted\" 'single' $HOME;\nnew\xffline:.mp4");
    let input = copy_into(dir.path(), h264_clip(), name);
    let (temp, _) = encode_and_verify(&input, &settings(CpuEncoder::Libx265, "ultrafast")).await;
    let output = output_path(&input, OutputContainer::Mp4);
    std::fs::rename(&temp, &output).unwrap();
    assert_eq!(
        output.file_name().unwrap().as_bytes(),
        b"-we ird \"quoted\" 'single' $HOME;\nnew\xffline:.alchemist.mp4"
    );
    assert!(is_own_file(&output));
    let info = probe(ffprobe(), &output).await.unwrap();
    assert_eq!(info.video.unwrap().codec, "hevc");
}

#[tokio::test]
async fn corrupt_input_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("broken.mkv");
    std::fs::write(&input, "this is a text file, not a video\n").unwrap();
    let err = probe(ffprobe(), &input).await.unwrap_err();
    assert!(
        matches!(
            err,
            ProbeError::Failed {
                exit_code: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    let e = err.explanation();
    assert_eq!(e.code, "probe_failed");
    // ffprobe's own words are kept in `measured`, out of the sentence a person reads.
    let tail = e.measured["stderr_tail"].to_string();
    assert!(
        tail.contains("Invalid data found when processing input"),
        "{tail}"
    );
    assert!(!e.detail.contains("Invalid data"), "{}", e.detail);

    // ffmpeg itself fails the same file with its own words.
    let plan = Plan::simple(CpuEncoder::Libx265, OutputContainer::Mkv, 28, "ultrafast");
    let args = build_args(&plan, &input, &dir.path().join("out.mkv"));
    let (result, _) = run_collect(opts(0.0), args).await;
    let err = result.unwrap_err();
    let RunError::Failed {
        exit_code,
        stderr_tail,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*exit_code, Some(1));
    assert!(
        stderr_tail.iter().any(|l| l.contains("Invalid data found")),
        "{stderr_tail:?}"
    );
    assert_eq!(err.explanation().code, "encoder_failed");
}

#[tokio::test]
async fn missing_files_and_binaries_are_errors() {
    let err = probe(ffprobe(), Path::new("/nonexistent/x.mkv"))
        .await
        .unwrap_err();
    assert!(matches!(err, ProbeError::Io(_)), "{err:?}");
    // An MP4 is read natively; ffprobe itself is what cannot be started.
    let err = probe_ffprobe(Path::new("/nonexistent/ffprobe"), h264_clip())
        .await
        .unwrap_err();
    assert!(matches!(err, ProbeError::Spawn(_)), "{err:?}");
    let mut o = opts(1.0);
    o.ffmpeg = PathBuf::from("/nonexistent/ffmpeg");
    let (result, events) = run_collect(o, vec![]).await;
    assert!(matches!(result, Err(RunError::Spawn(_))), "{result:?}");
    assert!(events.is_empty());
}

/// A long encode on its own thread, with events forwarded to the test.
struct Running {
    cancel: CancellationToken,
    events: mpsc::UnboundedReceiver<RunEvent>,
    done: oneshot::Receiver<Result<RunSummary, RunError>>,
    pid: u32,
}

impl Running {
    async fn start(dir: &Path) -> Running {
        let input = copy_into(dir, long_h264_clip(), OsStr::new("long.mp4"));
        let plan = Plan::simple(CpuEncoder::Libx265, OutputContainer::Mkv, 28, "medium");
        let args = build_args(&plan, &input, &dir.join("out.mkv"));
        let cancel = CancellationToken::new();
        let (event_tx, mut events) = mpsc::unbounded_channel();
        let (done_tx, done) = oneshot::channel();
        let token = cancel.clone();
        thread::spawn(move || {
            let result = run_ffmpeg(&opts(20.0), args, &token, &mut |e| {
                let _ = event_tx.send(e);
            });
            let _ = done_tx.send(result);
        });
        let pid = match timeout(Duration::from_secs(30), events.recv()).await {
            Ok(Some(RunEvent::Started { pid })) => pid,
            other => panic!("first event must be Started, got {other:?}"),
        };
        Running {
            cancel,
            events,
            done,
            pid,
        }
    }

    /// Wait for the next progress event.
    async fn next_progress(&mut self, within: Duration) -> f64 {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.events.recv()).await {
                Ok(Some(RunEvent::Progress(p))) => return p.percent,
                Ok(Some(_)) => continue,
                other => panic!("no progress within {within:?}: {other:?}"),
            }
        }
    }

    /// Progress events that arrive within `window`.
    async fn progress_during(&mut self, window: Duration) -> usize {
        let deadline = Instant::now() + window;
        let mut count = 0;
        while let Ok(Some(e)) = timeout(
            deadline.saturating_duration_since(Instant::now()),
            self.events.recv(),
        )
        .await
        {
            count += usize::from(matches!(e, RunEvent::Progress(_)));
        }
        count
    }

    /// Cancel and return how long `run_ffmpeg` took to give up, with its result.
    async fn cancel(self) -> (Duration, Result<RunSummary, RunError>, u32) {
        let started = Instant::now();
        self.cancel.cancel();
        let result = timeout(Duration::from_secs(30), self.done)
            .await
            .expect("run_ffmpeg returned")
            .expect("the encode thread sent its result");
        (started.elapsed(), result, self.pid)
    }
}

fn assert_cancelled_promptly(elapsed: Duration, result: Result<RunSummary, RunError>, pid: u32) {
    assert!(matches!(result, Err(RunError::Cancelled)), "{result:?}");
    assert!(elapsed < CANCEL_WITHIN, "cancel took {elapsed:?}");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "ffmpeg {pid} was not reaped"
    );
}

#[tokio::test]
async fn cancel_mid_encode_is_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Running::start(dir.path()).await;
    let mut percents = Vec::new();
    while percents.len() < 3 {
        // x265 buffers frames before its first packet; count from the first real position.
        let percent = run.next_progress(Duration::from_secs(20)).await;
        if percent > 0.0 || !percents.is_empty() {
            percents.push(percent);
        }
    }
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
    assert!(
        percents[2] > percents[0],
        "progress must advance: {percents:?}"
    );
    assert!(
        *percents.last().unwrap() < 100.0,
        "clip too short for this test: {percents:?}"
    );
    let (elapsed, result, pid) = run.cancel().await;
    assert_cancelled_promptly(elapsed, result, pid);
}

#[tokio::test]
async fn pause_stops_progress_and_cancel_while_paused_is_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Running::start(dir.path()).await;
    run.next_progress(Duration::from_secs(20)).await;
    process::suspend(run.pid).unwrap();
    // Lines already in the pipe are read within moments; then there is no progress at all.
    wait_until(
        Duration::from_secs(15),
        "half a second without progress after SIGSTOP",
        async || run.progress_during(Duration::from_millis(500)).await == 0,
    )
    .await;
    assert_eq!(
        run.progress_during(Duration::from_millis(1500)).await,
        0,
        "progress while paused"
    );
    process::resume(run.pid).unwrap();
    run.next_progress(Duration::from_secs(10)).await;
    process::suspend(run.pid).unwrap();
    let pid = run.pid;
    wait_until(PROMPT, "ffmpeg to be stopped (state T)", async || {
        is_stopped(pid)
    })
    .await;
    let (elapsed, result, pid) = run.cancel().await;
    assert_cancelled_promptly(elapsed, result, pid);
}
