//! The remux path end to end: HEVC in MPEG-TS is already the target codec in a poor container,
//! so the engine copies the streams into Matroska (state `remuxing`) instead of re-encoding.

use std::ffi::OsStr;
use std::process::Command;

use crate::support::clips::ffmpeg;
use crate::support::files::{library, sha256, video_codec};
use crate::support::jobs::{details, enqueue};
use crate::support::sse::events_until_status;
use crate::support::{SHORT_JOB, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hevc_in_mpegts_is_remuxed_into_matroska() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let lib = library(server.tmp.path());
    let input = lib.join("recording.ts");
    let ok = Command::new(ffmpeg())
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=2",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=2"])
        .args([
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error",
        ])
        .args(["-c:a", "aac", "-shortest", "-f", "mpegts"])
        .arg(&input)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let before = sha256(&input);
    server.add_folder(&token, &lib).await;
    let mut sse = server.events(&token, None).await;
    let id = enqueue(&server, &token, &input).await;
    let seen = events_until_status(&mut sse, id, "completed", SHORT_JOB).await;
    assert!(
        seen.iter()
            .any(|e| e.event == "status" && e.data["status"] == "remuxing"),
        "the job went through remuxing"
    );
    let d = details(&server, &token, id).await;
    assert_eq!(d["job"]["decision"]["code"], "container_remux", "{d:#}");
    let output = lib.join(OsStr::new("recording.alchemist.mkv"));
    assert_eq!(video_codec(&output), "hevc");
    assert_eq!(sha256(&input), before);
    assert_eq!(d["encode_stats"]["encoder"], "copy", "{d:#}");
    server.stop().await;
}
