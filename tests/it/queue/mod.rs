//! The queue through the HTTP API with real ffmpeg: the order setting (default, round trip,
//! refusals, persistence), dispatch following each order with one slot, the ETA before and
//! after a measured encode, and the dashboard widget with a read-only token.

mod eta;
mod order;
mod page;
mod widget;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::TestServer;
use crate::support::api::{ok, post, send};
use crate::support::clips::generate;

/// A near-lossless MPEG-4 clip of `seconds` (so its size grows with its length and any modern
/// encoder saves most of it), 320x240 + AAC in Matroska.
fn mpeg4_seconds(seconds: u32) -> PathBuf {
    static CLIPS: OnceLock<std::sync::Mutex<Vec<(u32, PathBuf)>>> = OnceLock::new();
    let clips = CLIPS.get_or_init(Default::default);
    let mut clips = clips.lock().unwrap();
    if let Some((_, p)) = clips.iter().find(|(s, _)| *s == seconds) {
        return p.clone();
    }
    let path = generate(
        &format!("queue-mpeg4-{seconds}s.mkv"),
        &format!(
            "-f lavfi -i testsrc2=size=320x240:rate=25:duration={seconds} \
             -f lavfi -i sine=frequency=440:sample_rate=48000:duration={seconds} \
             -c:v mpeg4 -q:v 1 -c:a aac -shortest -f matroska"
        ),
    );
    clips.push((seconds, path.clone()));
    path
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

async fn put_order(server: &TestServer, token: &str, order: &str) -> Value {
    let r = send(
        server,
        token,
        Method::PUT,
        "/api/settings/queue",
        json!({"order": order}),
    )
    .await;
    ok(r, 200).await
}

async fn engine(server: &TestServer, token: &str, action: &str) {
    let (code, body) = post(server, token, &format!("/api/engine/{action}"), json!({})).await;
    assert_eq!(code, 200, "{action}: {body}");
}

/// One job at a time.
async fn one_slot(server: &TestServer, token: &str) {
    let (code, body) = post(
        server,
        token,
        "/api/engine/mode",
        json!({"mode": "balanced", "concurrent_jobs_override": 1}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["concurrent_limit"], 1, "{body}");
}
