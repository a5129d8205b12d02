//! Yield to viewers with real ffmpeg: while the fake Jellyfin reports a session with a
//! `NowPlayingItem`, the engine is paused with reason "viewers: 1 stream on Jellyfin" and the
//! encode's ffmpeg is stopped (state `T` in /proc); when playback ends it runs again and the
//! job completes in one attempt. Emby's sessions and Plex's `MediaContainer.size` are counted
//! as well.

use serde_json::json;

use super::fakes::{Fake, Kind};
use super::put_integrations;
use crate::support::jobs::{details, scan_long_clip};
use crate::support::procs::{is_running, is_stopped};
use crate::support::sse::events_until_status;
use crate::support::{LONG_JOB, PROMPT, TestServer, wait_until};

const KEY: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

/// Continues a stopped ffmpeg when the test ends, also by a panic: the runtime waits for the
/// blocking reader of a stopped child, so a failing assertion would otherwise hang the test.
struct Continue(u32);

impl Drop for Continue {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .status();
    }
}

async fn status(server: &TestServer, token: &str) -> serde_json::Value {
    server.get_json("/api/engine/status", token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encodes_pause_while_someone_watches_and_resume_after() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let jellyfin = Fake::start(Kind::Jellyfin, KEY, "/media").await;
    let emby = Fake::start(Kind::Emby, KEY, "/media").await;
    let plex = Fake::start(Kind::Plex, KEY, "/media").await;
    put_integrations(
        &server,
        &token,
        json!({"jellyfin": jellyfin.settings(), "emby": emby.settings(),
               "plex": plex.settings(), "yield_to_viewers": true}),
    )
    .await;
    let mut sse = server.events(&token, None).await;
    let job = scan_long_clip(&server, &token, &mut sse).await;
    let _continue = Continue(job.pid);

    jellyfin.set_playing(1);
    wait_until(PROMPT, "ffmpeg to be stopped (state T)", async || {
        is_stopped(job.pid)
    })
    .await;
    let st = status(&server, &token).await;
    assert_eq!(st["status"], "paused", "{st}");
    assert_eq!(st["paused_reason"], "viewers: 1 stream on Jellyfin", "{st}");
    assert_eq!(
        details(&server, &token, job.id).await["job"]["status"],
        "encoding"
    );

    // More viewers on Emby and Plex change the reason; the encode stays stopped.
    emby.set_playing(1);
    plex.set_playing(2);
    wait_until(
        PROMPT,
        "the reason to count Emby and Plex too",
        async || {
            let st = status(&server, &token).await;
            let r = st["paused_reason"].as_str().unwrap_or_default().to_string();
            if r == "viewers: 1 stream on Jellyfin, 1 on Emby, 2 on Plex" {
                Ok(())
            } else {
                Err(st)
            }
        },
    )
    .await;
    assert!(is_stopped(job.pid));

    jellyfin.set_playing(0);
    plex.set_playing(0);
    // Emby alone still holds it.
    wait_until(PROMPT, "only Emby's viewer in the reason", async || {
        let st = status(&server, &token).await;
        if st["paused_reason"] == "viewers: 1 stream on Emby" {
            Ok(())
        } else {
            Err(st)
        }
    })
    .await;
    assert!(is_stopped(job.pid));
    emby.set_playing(0);
    wait_until(PROMPT, "ffmpeg to run again", async || is_running(job.pid)).await;
    let st = status(&server, &token).await;
    assert_eq!(st["status"], "running", "{st}");
    events_until_status(&mut sse, job.id, "completed", LONG_JOB).await;
    let d = details(&server, &token, job.id).await;
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "{d:#}");
    jellyfin.stop();
    emby.stop();
    plex.stop();
    drop(sse);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_transcoding_streams_pause_encodes_when_asked() {
    let server = TestServer::start().await;
    let token = server.login().await;
    let jellyfin = Fake::start(Kind::Jellyfin, KEY, "/media").await;
    let plex = Fake::start(Kind::Plex, KEY, "/media").await;
    put_integrations(
        &server,
        &token,
        json!({"jellyfin": jellyfin.settings(), "plex": plex.settings(),
               "yield_to_viewers": true, "yield_only_transcoding": true}),
    )
    .await;
    let mut sse = server.events(&token, None).await;
    let job = scan_long_clip(&server, &token, &mut sse).await;
    let _continue = Continue(job.pid);

    // Direct play on Jellyfin, and on Plex two streams of which one is transcoded: the encode
    // yields, and the reason counts only the transcode.
    jellyfin.set_playing(1);
    plex.set_playing(2);
    plex.set_transcoding(1);
    wait_until(PROMPT, "ffmpeg to be stopped (state T)", async || {
        is_stopped(job.pid)
    })
    .await;
    let st = status(&server, &token).await;
    assert_eq!(st["status"], "paused", "{st}");
    assert_eq!(
        st["paused_reason"], "viewers: 1 stream transcoding on Plex",
        "{st}"
    );

    // The transcode ends while all three keep playing directly: the encode runs again.
    plex.set_transcoding(0);
    wait_until(PROMPT, "ffmpeg to run again", async || is_running(job.pid)).await;
    let st = status(&server, &token).await;
    assert_eq!(st["status"], "running", "direct play held the engine: {st}");
    events_until_status(&mut sse, job.id, "completed", LONG_JOB).await;
    jellyfin.stop();
    plex.stop();
    drop(sse);
    server.stop().await;
}
