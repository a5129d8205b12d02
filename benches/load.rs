//! The real binary under load: start time (spawn → first `/api/health` 200, median of several
//! starts), idle RSS with an empty store and with 100k jobs, and `/api/jobs` (50 per page:
//! default order, status filter, search, sort, all three) and `/api/engine/status` under
//! concurrent loopback clients: requests/s, p50 and p99 per client count. The load generator
//! is a reqwest client in this process, so on a small machine it takes CPU from the server:
//! the figures are what one host achieves against itself.
//!
//! Run: `cargo bench --bench load` (JOBS=N store size, CLIENTS=8,32, SECONDS=3 per shape).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::proc::{ProcServer, binary};
use common::report::{Report, verdict};
use common::{ms, percentile};

const PASSWORD: &str = "benchmark password";
/// Starts per store for the start-time median.
const STARTS: usize = 5;
/// How long the server sits idle before its RSS is read (lazy start-up work settles).
const SETTLE: Duration = Duration::from_secs(1);
/// Requests before the measured window: connections open, caches warm.
const WARMUP: Duration = Duration::from_millis(300);

const QUERIES: [(&str, &str); 6] = [
    ("`/api/jobs` default (updated_at)", "/api/jobs"),
    ("`?status=failed`", "/api/jobs?status=failed"),
    ("`?search=episode 0042`", "/api/jobs?search=episode%200042"),
    (
        "`?sort_by=size&sort_desc=true`",
        "/api/jobs?sort_by=size&sort_desc=true",
    ),
    (
        "`?status=queued,failed&search=show 12&sort_by=input_path`",
        "/api/jobs?status=queued,failed&search=show%2012&sort_by=input_path",
    ),
    ("`/api/engine/status`", "/api/engine/status"),
];

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Start the binary `STARTS` times on `data`; the median start time and the last server,
/// idle for [`SETTLE`].
async fn starts(data: &std::path::Path) -> (Duration, ProcServer) {
    let mut times = Vec::new();
    for _ in 0..STARTS - 1 {
        let s = ProcServer::start(data, &[]).await;
        times.push(s.started_in);
        s.stop();
    }
    let last = ProcServer::start(data, &[]).await;
    times.push(last.started_in);
    times.sort();
    tokio::time::sleep(SETTLE).await;
    (times[times.len() / 2], last)
}

/// `clients` tasks requesting `url` back to back for `window`: latencies, total, wall.
async fn hammer(url: &str, token: &str, clients: usize, window: Duration) -> (Vec<Duration>, f64) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("client");
    let url: Arc<str> = url.into();
    let token: Arc<str> = token.into();
    let begin = Instant::now();
    let measure_from = begin + WARMUP;
    let end = measure_from + window;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let t = Instant::now();
                if t >= end {
                    return times;
                }
                let r = http.get(&*url).bearer_auth(&*token).send().await.unwrap();
                assert_eq!(r.status(), 200, "{url}");
                let _ = r.bytes().await.unwrap();
                if t >= measure_from {
                    times.push(t.elapsed());
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    let wall = Instant::now().duration_since(measure_from).as_secs_f64();
    all.sort();
    let rate = all.len() as f64 / wall;
    (all, rate)
}

fn main() {
    let n: u64 = env_or("JOBS", 100_000);
    let window = Duration::from_secs_f64(env_or("SECONDS", 3.0));
    let clients: Vec<usize> = std::env::var("CLIENTS")
        .unwrap_or_else(|_| "8,32".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let mut report = Report::new("load", "Real binary: start, RSS, concurrent API load");
    let (bin, note) = binary();
    let size = std::fs::metadata(&bin).map(|m| m.len()).unwrap_or(0);
    report.line(&format!(
        "Binary: {note}, {:.1} MiB.",
        size as f64 / 1048576.0
    ));
    report.line("");

    let tmp = tempfile::tempdir().expect("tempdir");
    let empty = tmp.path().join("empty");
    common::make_store(&empty, 0, PASSWORD);
    let full = tmp.path().join("full");
    let t = Instant::now();
    common::make_store(&full, n, PASSWORD);
    let db = std::fs::metadata(full.join(alchemist::store::DB_FILE)).map_or(0, |m| m.len());
    let fill = t.elapsed();

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (start_empty, server) = starts(&empty).await;
        let idle_empty = server.rss_kib();
        server.stop();
        let (start_full, server) = starts(&full).await;
        let idle_full = server.rss_kib();

        report.line("| figure | value | target | |");
        report.line("|---|---|---|---|");
        report.line(&format!(
            "| start → first `/api/health` 200, empty store (median of {STARTS}) | {:.1} ms | ≤ 50 ms | {} |",
            ms(start_empty),
            verdict(ms(start_empty), 50.0)
        ));
        report.line(&format!(
            "| start → first `/api/health` 200, {n} jobs (median of {STARTS}) | {:.1} ms | ≤ 50 ms | {} |",
            ms(start_full),
            verdict(ms(start_full), 50.0)
        ));
        report.line(&format!(
            "| idle RSS, empty store | {:.1} MiB | ≤ 10 MiB | {} |",
            mib(idle_empty),
            verdict(mib(idle_empty), 10.0)
        ));
        report.line(&format!(
            "| idle RSS, {n} jobs | {:.1} MiB | | |",
            mib(idle_full)
        ));
        report.line(&format!(
            "| redb file, {n} jobs (filled in {:.1} s) | {:.1} MiB, {} bytes/job | | |",
            fill.as_secs_f64(),
            db as f64 / 1048576.0,
            db / n.max(1)
        ));

        let http = reqwest::Client::new();
        let token = server.login(&http, PASSWORD).await;
        // Paused: the generated queued jobs point at files that do not exist.
        http.post(format!("{}/api/engine/pause", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("pause");
        let cpu_before = server.cpu_seconds();
        let load_started = Instant::now();
        report.line("");
        report.line(&format!(
            "Concurrent load, {n} jobs, 50 per page, {:.0} s per row after {} ms warm-up; \
             the load generator runs on the same cores:",
            window.as_secs_f64(),
            WARMUP.as_millis()
        ));
        report.line("");
        report.line("| request | clients | req/s | p50 ms | p99 ms | p99 ≤ 5 ms |");
        report.line("|---|---|---|---|---|---|");
        let mut worst_list_p99: f64 = 0.0;
        for (name, path) in QUERIES {
            for &c in &clients {
                let url = format!("{}{path}", server.base);
                let (times, rate) = hammer(&url, &token, c, window).await;
                let p99 = ms(percentile(&times, 0.99));
                if path.starts_with("/api/jobs") {
                    worst_list_p99 = worst_list_p99.max(p99);
                }
                report.line(&format!(
                    "| {name} | {c} | {rate:.0} | {:.2} | {p99:.2} | {} |",
                    ms(percentile(&times, 0.5)),
                    verdict(p99, 5.0)
                ));
            }
        }
        let cpu = server.cpu_seconds() - cpu_before;
        let wall = load_started.elapsed().as_secs_f64();
        report.line("");
        report.line(&format!(
            "Server CPU during the load: {:.0} % of one core (the rest went to the client). \
             RSS after the load: {:.1} MiB, peak {:.1} MiB. Worst list p99: {worst_list_p99:.2} ms.",
            cpu / wall * 100.0,
            mib(server.rss_kib()),
            mib(server.peak_rss_kib())
        ));
        server.stop();
    });
    report.finish();
}
