//! A server with the engine paused and a library folder of tiny fake `.mkv` files, scanned:
//! jobs to list, filter, sort and page, with nothing ever encoded (the analyser probes them
//! ahead of dispatch; they are not media, so nothing is cached).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use super::api::post_ok;
use super::server::TestServer;
use super::shapes::{T, check, check_engine_status};

/// A server with the engine paused and a library folder of fake video files, scanned.
pub struct Library {
    pub server: TestServer,
    pub token: String,
    pub dir: PathBuf,
}

/// Names (some in a sub-folder, mixed case) and distinct sizes of `n` fake files.
pub fn fake_files(n: usize) -> Vec<(String, u64)> {
    const WORDS: [&str; 6] = ["Alpha", "beta", "Gamma", "delta", "Epsilon", "zeta"];
    (0..n)
        .map(|i| {
            let dir = if i % 5 == 0 { "Season 1/" } else { "" };
            let name = format!("{dir}{} {:02}.mkv", WORDS[(i * 7) % 6], i);
            // 37 is coprime with 5 and 11: distinct sizes for up to 55 files, in an order
            // unrelated to the names.
            (name, 100 + ((i * 37) % 55) as u64 * 10)
        })
        .collect()
}

/// `n` fake files in a paused server's library, scanned: `n` queued jobs.
pub async fn paused_library(n: usize) -> Library {
    let server = TestServer::start().await;
    let token = server.login().await;
    let status = post_ok(&server, "/api/engine/pause", &token, json!({})).await;
    check_engine_status(&status);
    assert_eq!(status["status"], "paused");
    let dir = server.tmp.path().join("library");
    std::fs::create_dir_all(dir.join("Season 1")).unwrap();
    for (name, size) in fake_files(n) {
        std::fs::write(dir.join(name), vec![0u8; size as usize]).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), b"not a video").unwrap();
    server.add_folder(&token, &dir).await;
    let library = Library { server, token, dir };
    let (found, queued, _) = library.scan().await;
    assert_eq!((found, queued), (n as u64, n as u64));
    library
}

impl Library {
    /// Run a scan; returns scan_completed's (found, queued, skipped).
    pub async fn scan(&self) -> (u64, u64, u64) {
        let mut events = self.server.events(&self.token, None).await;
        let r = self
            .server
            .post_json("/api/library/scan", &self.token, json!({}))
            .await;
        assert_eq!(r.status(), 202);
        check(&r.json().await.unwrap(), "scan", &[("started", T::Bool)]);
        let (started, _) = events
            .until(Duration::from_secs(30), |e| e.event == "scan_started")
            .await;
        check(&started.data, "scan_started", &[("folder_count", T::Uint)]);
        let (done, _) = events
            .until(Duration::from_secs(30), |e| e.event == "scan_completed")
            .await;
        check(
            &done.data,
            "scan_completed",
            &[
                ("found", T::Uint),
                ("queued", T::Uint),
                ("skipped", T::Uint),
                ("seconds", T::Num),
            ],
        );
        let n = |k: &str| done.data[k].as_u64().unwrap();
        (n("found"), n("queued"), n("skipped"))
    }
}
