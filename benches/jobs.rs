//! Job list benchmark: a store with 100k jobs, the real server on a loopback port, and
//! sequential `GET /api/jobs` requests per query shape; prints p50/p99/mean latency and
//! requests/s, plus the time to open the store (index load) and the process RSS. The HTML jobs
//! page and dashboard are measured the same way.
//!
//! This is the in-process view (the bench and the server share a process, one request at a
//! time); `benches/load.rs` measures the real binary under concurrent load.
//!
//! Run: `cargo bench --bench jobs` (JOBS=N to change the store size).

mod common;

use std::time::Instant;

use alchemist::store::Store;
use common::report::Report;
use common::{ms, percentile};

const REQUESTS: usize = 300;

/// This process's resident set size, KiB (the server runs in it).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n: u64 = std::env::var("JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut report = Report::new("jobs", "Job list, in-process, sequential requests");
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    {
        let store = Store::open(&data).expect("open");
        let started = Instant::now();
        for chunk in (0..n).collect::<Vec<_>>().chunks(10_000) {
            store
                .insert_jobs_bulk(chunk.iter().map(|&i| common::sample_job(i)).collect())
                .expect("insert");
        }
        report.line(&format!(
            "- inserted {n} jobs in {:.2} s",
            started.elapsed().as_secs_f64()
        ));
        alchemist::Auth::new(store, 30)
            .create_user_blocking("admin", "benchmark password")
            .expect("admin");
    }
    let size = std::fs::metadata(data.join(alchemist::store::DB_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    report.line(&format!(
        "- redb file: {:.1} MiB ({} bytes/job)",
        size as f64 / 1048576.0,
        size / n.max(1)
    ));
    let rss_before = rss_kib();
    let started = Instant::now();
    let store = Store::open(&data).expect("reopen");
    let opened = started.elapsed();
    // Waits for the index, which builds in the background.
    assert_eq!(store.job_count() as u64, n);
    report.line(&format!(
        "- store open with {n} jobs: {:.1} ms; job index built in the background {:.0} ms after the start of the open",
        ms(opened),
        ms(started.elapsed())
    ));
    drop(store);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let server = common::BenchServer::start(&data, "benchmark password").await;
        let (http, base, token) = (&server.http, server.base.as_str(), server.token.as_str());
        report.line(&format!(
            "- bench process RSS with {n} jobs loaded: {:.1} MiB (before open: {:.1} MiB)",
            rss_kib() as f64 / 1024.0,
            rss_before as f64 / 1024.0
        ));
        report.line("");
        report.line(&format!(
            "| query (50 per page, {n} jobs) | matches | p50 ms | p99 ms | mean ms | req/s |"
        ));
        report.line("|---|---|---|---|---|---|");
        let queries = [
            ("default (updated_at)", "/api/jobs"),
            ("updated_at desc", "/api/jobs?sort_desc=true"),
            (
                "created_at desc",
                "/api/jobs?sort_by=created_at&sort_desc=true",
            ),
            ("priority", "/api/jobs?sort_by=priority"),
            ("input_path", "/api/jobs?sort_by=input_path"),
            ("status=failed", "/api/jobs?status=failed"),
            (
                "status=queued,failed updated_at desc",
                "/api/jobs?status=queued,failed&sort_desc=true",
            ),
            (
                "status=queued,failed sort size desc",
                "/api/jobs?status=queued,failed&sort_by=size&sort_desc=true",
            ),
            ("search=episode 0042", "/api/jobs?search=episode%200042"),
            (
                "search=show 123 sort input_path",
                "/api/jobs?search=show%20123&sort_by=input_path",
            ),
            (
                "page 1000 sort created_at",
                "/api/jobs?page=1000&sort_by=created_at",
            ),
            ("page 1000 (updated_at)", "/api/jobs?page=1000"),
            ("engine status", "/api/engine/status"),
            // The HTML pages (issue 4) on the same store.
            ("jobs page (HTML)", "/jobs"),
            (
                "jobs page status=failed search (HTML)",
                "/jobs?status=failed&search=episode%200042",
            ),
            (
                "jobs page 1000 sort size desc (HTML)",
                "/jobs?page=1000&sort_by=size&sort_desc=true",
            ),
            ("dashboard (HTML)", "/"),
        ];
        for (name, path) in queries {
            let url = format!("{base}{path}");
            let mut times = Vec::with_capacity(REQUESTS);
            let mut matches = String::new();
            let wall = Instant::now();
            for _ in 0..REQUESTS {
                let t = Instant::now();
                let r = http.get(&url).bearer_auth(token).send().await.unwrap();
                assert_eq!(r.status(), 200);
                matches = r
                    .headers()
                    .get("x-total-count")
                    .map(|v| v.to_str().unwrap().to_string())
                    .unwrap_or_else(|| "-".into());
                let _ = r.bytes().await.unwrap();
                times.push(t.elapsed());
            }
            let total = wall.elapsed();
            times.sort();
            let mean = total / REQUESTS as u32;
            report.line(&format!(
                "| {name} | {matches} | {:.2} | {:.2} | {:.2} | {:.0} |",
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99)),
                ms(mean),
                REQUESTS as f64 / total.as_secs_f64()
            ));
        }
        server.stop().await;
    });
    report.finish();
}
