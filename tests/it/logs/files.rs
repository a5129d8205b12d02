//! The real binary keeps its log in `<data>/logs/`: with `[logs] max_file_mb = 0.004` (4 KiB)
//! and `keep_files = 2`, a hundred logged requests leave exactly three files, none much over
//! the size, every line whole, the newest line in `alchemist.log` and the oldest ones gone;
//! the API reads those lines back with its filters; the live stream sends new lines at or
//! above its level, in order, and the logs page's stream starts where the page read the log.

use std::time::Duration;

use serde_json::Value;

use crate::support::served::{Served, marker};
use crate::support::sse::SseReader;

const CONFIG: &str = "[logs]\nmax_file_mb = 0.004\nkeep_files = 2\n";
/// What 0.004 MiB comes to.
const MAX_BYTES: usize = 4194;

fn log_files(served: &Served) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(served.data_dir.join("logs"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_rotate_at_the_configured_size_and_read_back() {
    let served = Served::start(CONFIG).await;
    for i in 0..100 {
        served.log_info(&format!("marker-{i:03}")).await;
    }
    // The line is written before the answer, so it is on disk now.
    let files = log_files(&served);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["alchemist.log", "alchemist.log.1", "alchemist.log.2"],
        "the current file and keep_files = 2 older ones"
    );
    for (name, text) in &files {
        // A file is rotated once it reaches the size: it holds at most one line more.
        let longest = text.lines().map(str::len).max().unwrap_or(0);
        assert!(
            text.len() <= MAX_BYTES + longest + 1,
            "{name}: {} bytes",
            text.len()
        );
        for line in text.lines() {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}: a torn line ({e}): {line}"));
            assert!(
                v["timestamp"].is_string() && v["level"].is_string(),
                "{line}"
            );
        }
    }
    let current = &files[0].1;
    assert!(
        current.contains("marker-099"),
        "the newest line is in alchemist.log"
    );
    let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
    assert!(!all.contains("marker-000"), "the oldest lines were dropped");

    // The API reads the same lines back, oldest first.
    let entries = served.entries("limit=5000").await;
    let markers: Vec<&str> = entries.iter().filter_map(marker).collect();
    assert_eq!(markers.last(), Some(&"marker-099"));
    assert!(!markers.contains(&"marker-000"));
    let mut sorted = markers.clone();
    sorted.sort();
    assert_eq!(markers, sorted, "oldest first");
    // since: from the line of marker-090 on.
    let at = entries
        .iter()
        .find(|e| marker(e) == Some("marker-090"))
        .expect("marker-090 is kept")["at"]
        .as_str()
        .unwrap()
        .to_string();
    let since = served.entries(&format!("since={at}&limit=5000")).await;
    let markers: Vec<&str> = since.iter().filter_map(marker).collect();
    let want: Vec<String> = (90..100).map(|i| format!("marker-{i:03}")).collect();
    assert_eq!(markers, want);
    assert!(
        since
            .iter()
            .all(|e| e["at"].as_str().unwrap() >= at.as_str())
    );
    // limit and level.
    assert_eq!(served.entries("limit=7").await.len(), 7);
    served.log_warning().await;
    let warnings = served.entries("level=warn").await;
    assert!(
        warnings
            .iter()
            .any(|e| e["message"] == "*arr webhook without a file path refused"),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .all(|e| e["level"] == "warn" || e["level"] == "error"),
        "{warnings:#?}"
    );
}

async fn open(served: &Served, level: &str) -> SseReader {
    let r = served
        .get(&format!("/api/system/logs/stream?level={level}"))
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    SseReader::new(r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_sends_new_lines_at_its_level() {
    let served = Served::start("").await;
    let mut info = open(&served, "info").await;
    let mut warn = open(&served, "warn").await;
    served.log_info("marker-live-1").await;
    served.log_warning().await;
    served.log_info("marker-live-2").await;
    // In order, each as the API shapes it.
    let (first, _) = info
        .until(Duration::from_secs(10), |e| {
            e.event == "log" && marker(&e.data) == Some("marker-live-1")
        })
        .await;
    assert_eq!(first.data["level"], "info");
    assert_eq!(first.data["target"], "alchemist::web::api::webhooks");
    let (_, between) = info
        .until(Duration::from_secs(10), |e| {
            marker(&e.data) == Some("marker-live-2")
        })
        .await;
    assert!(
        between
            .iter()
            .any(|e| e.data["message"] == "*arr webhook without a file path refused"),
        "{between:#?}"
    );
    // The warn stream skipped both info lines: its first line is the warning.
    let (first, skipped) = warn
        .until(Duration::from_secs(10), |e| e.event == "log")
        .await;
    assert!(skipped.is_empty(), "{skipped:#?}");
    assert_eq!(first.data["level"], "warn", "{first:?}");
    assert_eq!(
        first.data["message"],
        "*arr webhook without a file path refused"
    );
}

/// The logs page asks its stream for the lines since a second before it read the log: a line
/// logged after the page was read and before the stream opened comes first on that stream, and
/// the page names the lines it shows from that second on in the form the stream sends them,
/// so its script can drop them when they come again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_stream_starts_where_the_page_read_the_log() {
    let served = Served::start("").await;
    // The page lists what it shows from a second before it read the log; a line logged just
    // before it is in that second unless the machine stalls, so try a few times.
    let mut tries = 0;
    let (stream, since, recent) = loop {
        tries += 1;
        served.log_info("marker-on-page").await;
        let r = served
            .http
            .get(format!("{}/system/logs", served.base))
            .header("cookie", format!("alchemist_session={}", served.token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = scraper::Html::parse_document(&r.text().await.unwrap());
        let list = html
            .select(&scraper::Selector::parse("#log-lines").unwrap())
            .next()
            .expect("the log list");
        let attr = |name: &str| list.value().attr(name).unwrap().to_string();
        let recent: Vec<String> = serde_json::from_str(&attr("data-recent")).unwrap();
        if !recent.is_empty() || tries == 5 {
            break (attr("data-stream"), attr("data-since"), recent);
        }
    };
    assert!(!recent.is_empty(), "no recent line listed in {tries} tries");
    assert!(
        stream.starts_with("/api/system/logs/stream?level=info"),
        "{stream}"
    );

    // Logged while "the script loads": before the stream opens.
    served.log_info("marker-in-the-gap").await;
    let r = served
        .get(&format!("{stream}&since={since}"))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut sse = SseReader::new(r);
    let (_, before) = sse
        .until(Duration::from_secs(10), |e| {
            e.event == "log" && marker(&e.data) == Some("marker-in-the-gap")
        })
        .await;
    // Every line the page listed as shown came again, keyed as the script keys it.
    let replayed: Vec<String> = before
        .iter()
        .map(|e| {
            format!(
                "{}|{}",
                e.data["at"].as_str().unwrap(),
                e.data["message"].as_str().unwrap()
            )
        })
        .collect();
    for key in &recent {
        assert!(replayed.contains(key), "{key} not replayed: {replayed:#?}");
    }
    // The marker logged just before the page, unless the machine stalled over a second.
    let on_page = before
        .iter()
        .find(|e| marker(&e.data) == Some("marker-on-page"));
    if let Some(e) = on_page {
        let key = format!(
            "{}|{}",
            e.data["at"].as_str().unwrap(),
            e.data["message"].as_str().unwrap()
        );
        assert!(recent.contains(&key), "{key} is on the page: {recent:#?}");
    }
}
