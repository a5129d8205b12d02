//! Automatic backups: with a short interval, the worker keeps writing archives into
//! `<data>/backups/` and keeps only the newest `keep`; each one is a valid backup.

use std::time::Duration;

use alchemist::config::BackupSettings;
use serde_json::Value;

use crate::support::{PROMPT, TestServer, wait_until};

async fn backups_worker(server: &TestServer, token: &str) -> Value {
    let workers = server.get_json("/api/system/workers", token).await;
    workers
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "backups")
        .cloned()
        .expect("a backups worker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_backups_keep_the_newest_n() {
    let server = TestServer::start_with(|c| {
        c.backup = BackupSettings {
            keep: 3,
            interval: Duration::from_millis(200),
        }
    })
    .await;
    let token = server.login().await;
    // Six backups taken (a step writes one once it is due).
    let worker = wait_until(PROMPT * 3, "six automatic backups", async || {
        let w = backups_worker(&server, &token).await;
        (w["steps"].as_u64().unwrap() >= 6).then_some(w)
    })
    .await;
    let detail = worker["detail"].as_str().unwrap();
    assert!(detail.contains("keeping 3 of the last 3"), "{worker:#}");
    // The system page shows the worker's status line.
    let page = server
        .cookie(reqwest::Method::GET, "/system", &token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("keeping 3 of the last 3"),
        "status line not on /system"
    );
    // Stopped: no backup is half done (a step ends before the stop returns).
    let (tmp, data_dir) = server.stop().await;
    let dir = data_dir.join("backups");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tar"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    let newest = dir.join(names.last().unwrap());
    let staging = tmp.path().join("check");
    let manifest = alchemist::backup::validate(&newest, &staging).unwrap();
    assert_eq!(manifest.format_version, alchemist::backup::FORMAT_VERSION);
}
