//! The real binary under load: start time (spawn → first `/api/health` 200, and → first
//! `/api/ready` 200 once the job index is built; median of several starts), idle RSS with an
//! empty store and with 100k jobs, and `/api/jobs` (50 per page: every order both ways, status
//! filters, search, all three, a deep page) and `/api/engine/status` one request at a time and
//! under concurrent loopback clients: requests/s, p50 and p99 per client count. The load
//! generator is a reqwest client in this process, so on a small machine it takes CPU from the
//! server: the figures are what one host achieves against itself. Each table records the load
//! average before and after it.
//!
//! Run: `cargo bench --bench load` (JOBS=N store size, CLIENTS=1,8,32, SECONDS=3 per shape).

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

const QUERIES: [(&str, &str); 13] = [
    ("`/api/jobs` default (updated_at)", "/api/jobs"),
    (
        "`?sort_desc=true` (updated_at, newest first)",
        "/api/jobs?sort_desc=true",
    ),
    ("`?status=failed`", "/api/jobs?status=failed"),
    (
        "`?status=queued,failed&sort_desc=true`",
        "/api/jobs?status=queued,failed&sort_desc=true",
    ),
    (
        "`?sort_by=created_at&sort_desc=true`",
        "/api/jobs?sort_by=created_at&sort_desc=true",
    ),
    (
        "`?sort_by=size&sort_desc=true`",
        "/api/jobs?sort_by=size&sort_desc=true",
    ),
    ("`?sort_by=priority`", "/api/jobs?sort_by=priority"),
    ("`?sort_by=input_path`", "/api/jobs?sort_by=input_path"),
    ("`?search=episode 0042`", "/api/jobs?search=episode%200042"),
    (
        "`?status=queued,failed&search=show 12&sort_by=input_path`",
        "/api/jobs?status=queued,failed&search=show%2012&sort_by=input_path",
    ),
    (
        "`?page=1000&sort_by=created_at`",
        "/api/jobs?page=1000&sort_by=created_at",
    ),
    ("`?page=1000` (updated_at)", "/api/jobs?page=1000"),
    ("`/api/engine/status`", "/api/engine/status"),
];

/// The 1-minute load average (the machine may be shared: every figure carries it).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Start the binary `STARTS` times on `data`; the median times to health and to ready, and
/// the last server, ready and idle for [`SETTLE`].
async fn starts(data: &std::path::Path) -> (Duration, Duration, ProcServer) {
    let (mut health, mut ready) = (Vec::new(), Vec::new());
    let mut last = None;
    for i in 0..STARTS {
        let mut s = ProcServer::start(data, &[]).await;
        s.wait_ready().await;
        health.push(s.started_in);
        ready.push(s.ready_in);
        if i + 1 == STARTS {
            last = Some(s);
        } else {
            s.stop();
        }
    }
    health.sort();
    ready.sort();
    tokio::time::sleep(SETTLE).await;
    let last = last.expect("at least one start");
    (health[STARTS / 2], ready[STARTS / 2], last)
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
        .unwrap_or_else(|_| "1,8,32".into())
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
        let load_before = loadavg();
        let (start_empty, _, server) = starts(&empty).await;
        let idle_empty = server.rss_kib();
        server.stop();
        let (start_full, ready_full, server) = starts(&full).await;
        let idle_full = server.rss_kib();

        report.line(&format!(
            "Start and memory (load average {load_before} before, {} after):",
            loadavg()
        ));
        report.line("");
        report.line("| figure | value | target | |");
        report.line("|---|---|---|---|");
        report.line(&format!(
            "| start → first `/api/health` 200, empty store (median of {STARTS}) | {:.1} ms | ≤ 50 ms | {} |",
            ms(start_empty),
            verdict(ms(start_empty), 50.0)
        ));
        report.line(&format!(
            "| start → first `/api/health` 200, {n} jobs (median of {STARTS}) | {:.1} ms | ≤ 100 ms | {} |",
            ms(start_full),
            verdict(ms(start_full), 100.0)
        ));
        report.line(&format!(
            "| start → first `/api/ready` 200 (job index built), {n} jobs (median of {STARTS}) | {:.1} ms | | |",
            ms(ready_full)
        ));
        report.line(&format!(
            "| idle RSS, empty store | {:.1} MiB | ≤ 10 MiB | {} |",
            mib(idle_empty),
            verdict(mib(idle_empty), 10.0)
        ));
        report.line(&format!(
            "| idle RSS, {n} jobs | {:.1} MiB | ≤ 32 MiB | {} |",
            mib(idle_full),
            verdict(mib(idle_full), 32.0)
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
            "Load, {n} jobs, 50 per page, {:.0} s per row after {} ms warm-up; the load \
             generator runs on the same cores (load average {} before):",
            window.as_secs_f64(),
            WARMUP.as_millis(),
            loadavg()
        ));
        report.line("");
        report.line("| request | clients | req/s | p50 ms | p99 ms | p99 ≤ 5 ms | load |");
        report.line("|---|---|---|---|---|---|---|");
        let mut worst_list_p99: f64 = 0.0;
        let mut worst_single_p99: f64 = 0.0;
        for (name, path) in QUERIES {
            for &c in &clients {
                let url = format!("{}{path}", server.base);
                let (times, rate) = hammer(&url, &token, c, window).await;
                let p99 = ms(percentile(&times, 0.99));
                if path.starts_with("/api/jobs") {
                    worst_list_p99 = worst_list_p99.max(p99);
                    if c == 1 {
                        worst_single_p99 = worst_single_p99.max(p99);
                    }
                }
                report.line(&format!(
                    "| {name} | {c} | {rate:.0} | {:.2} | {p99:.2} | {} | {} |",
                    ms(percentile(&times, 0.5)),
                    verdict(p99, 5.0),
                    loadavg()
                ));
            }
        }
        let cpu = server.cpu_seconds() - cpu_before;
        let wall = load_started.elapsed().as_secs_f64();
        report.line("");
        report.line(&format!(
            "Server CPU during the load: {:.0} % of one core (the rest went to the client). \
             RSS after the load: {:.1} MiB, peak {:.1} MiB. Worst list p99: one request at a time \
             {worst_single_p99:.2} ms, any client count {worst_list_p99:.2} ms. Load average after: {}.",
            cpu / wall * 100.0,
            mib(server.rss_kib()),
            mib(server.peak_rss_kib()),
            loadavg()
        ));
        server.stop();
    });
    report.finish();
}
