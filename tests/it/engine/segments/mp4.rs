//! MP4 segments: a source in MP4 keeps MP4 (`container = auto`), so its segments are MP4 files
//! and the join puts them together with the MP4 muxer, the path hardware encoders whose
//! output must be MP4 (V4L2) take. The joined file passes the same verification as a
//! Matroska one: duration, streams, decode and A/V sync.

use std::ffi::OsStr;

use super::FPS;
use crate::support::TestServer;
use crate::support::clips::{copy_into, generate};
use crate::support::jobs::{details, enqueue};
use crate::support::{LONG_JOB, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mp4_source_is_encoded_in_mp4_segments_and_joined() {
    let clip = generate(
        "segments-src.mp4",
        &format!(
            "-f lavfi -i testsrc2=size=320x180:rate={FPS}:duration=24 \
             -f lavfi -i sine=frequency=440:sample_rate=48000:duration=24 \
             -c:v mpeg4 -q:v 2 -c:a aac -shortest -f mp4"
        ),
    );
    let server = TestServer::start_with(|c| {
        c.transcode.segment_seconds = 4;
        c.transcode.segment_min_seconds = 10;
        c.transcode.preset = Some("ultrafast".into());
    })
    .await;
    let token = server.login().await;
    let lib = crate::support::files::library(server.tmp.path());
    let source = copy_into(&lib, &clip, OsStr::new("film.mp4"));
    server.add_folder(&token, &lib).await;
    let id = enqueue(&server, &token, &source).await;
    // MP4 segment files while it runs.
    let dir = wait_until(LONG_JOB, "an MP4 segment", async || {
        super::segment_dir(&lib).filter(|d| d.join("00000.mp4").exists())
    })
    .await;
    let done = server
        .wait_job(&token, id, LONG_JOB, |j| {
            assert_ne!(j["status"], "failed", "{j:#}");
            j["status"] == "completed"
        })
        .await;
    let output = done["job"]["output_path"].as_str().unwrap().to_string();
    assert!(output.ends_with("film.alchemist.mp4"), "{output}");
    let d = details(&server, &token, id).await;
    let log: Vec<&str> = d["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    assert!(
        log.iter().any(|m| m.starts_with("encoding in 6 segments")),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|m| m.starts_with("joining 6 segments")),
        "{log:#?}"
    );
    assert!(
        log.iter().any(|m| m.starts_with("joined output in sync")),
        "{log:#?}"
    );
    assert!(!dir.exists(), "the segments are removed after the join");
    server.stop().await;
}
