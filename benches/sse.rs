//! SSE fan-out: SUBSCRIBERS (200) clients on `/api/events` of the real binary while two
//! encodes run. Events carry no timestamp, so delivery is measured two ways: the spread
//! between the first and the last subscriber receiving the same event id, and the latency from
//! an API call that publishes an `engine` event (`POST /api/engine/mode`, every 500 ms) to each
//! subscriber receiving it. Also the server's CPU time over the window (its own, not ffmpeg's)
//! and whether any subscriber missed an event or was told it lagged.
//!
//! Run: `cargo bench --bench sse` (SUBSCRIBERS=200, CLIP_SECONDS=12).

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use common::media;
use common::proc::binary;
use common::report::Report;
use common::{ms, percentile};

/// Between two `engine`-event triggers: long enough that each one's deliveries are over.
const TRIGGER_EVERY: Duration = Duration::from_millis(500);

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one subscriber received: (event id, event name, when). Ids are 0 for `lagged`.
type Received = Vec<(u64, String, Instant)>;

/// Read `/api/events` until `stop`, parsing `id:` and `event:` lines.
async fn subscribe(
    url: String,
    token: String,
    connected: Arc<AtomicUsize>,
    stop: CancellationToken,
) -> Received {
    let http = reqwest::Client::new();
    let r = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("events");
    assert_eq!(r.status(), 200, "events");
    connected.fetch_add(1, Ordering::SeqCst);
    let mut body = r.bytes_stream();
    let (mut got, mut buf) = (Received::new(), Vec::<u8>::new());
    let (mut id, mut name) = (0u64, String::new());
    loop {
        let chunk = tokio::select! {
            _ = stop.cancelled() => return got,
            c = body.next() => match c {
                Some(Ok(c)) => c,
                _ => return got,
            },
        };
        let at = Instant::now();
        buf.extend_from_slice(&chunk);
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end();
            if line.is_empty() {
                if !name.is_empty() {
                    got.push((id, std::mem::take(&mut name), at));
                }
                id = 0;
            } else if let Some(v) = line.strip_prefix("id:") {
                id = v.trim().parse().unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_string();
            }
        }
    }
}

fn main() {
    let subscribers: usize = env_or("SUBSCRIBERS", 200);
    let clip_seconds: u32 = env_or("CLIP_SECONDS", 12);
    let mut report = Report::new("sse", "SSE: subscribers on /api/events during encodes");
    report.line(&format!("Binary: {}.", binary().1));
    let tmp = tempfile::tempdir().expect("tempdir");
    let setup = media::setup(tmp.path(), clip_seconds);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (server, http, token) = media::start(&setup, 2).await;
        let rss_before = server.rss_kib();
        let connected = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let tasks: Vec<_> = (0..subscribers)
            .map(|_| {
                tokio::spawn(subscribe(
                    format!("{}/api/events", server.base),
                    token.clone(),
                    connected.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        while connected.load(Ordering::SeqCst) < subscribers {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let rss_subscribed = server.rss_kib();
        let (cpu0, t0) = (server.cpu_seconds(), Instant::now());
        let ids = [
            media::enqueue(&setup, &server, &http, &token, "sse-0.mkv").await,
            media::enqueue(&setup, &server, &http, &token, "sse-1.mkv").await,
        ];
        // Trigger `engine` events until both jobs are done.
        let triggers = {
            let mut triggers = Vec::new();
            let (server, http, token) = (&server, &http, &token);
            let done = async move {
                for id in ids {
                    media::wait_done(server, http, token, id).await;
                }
            };
            tokio::pin!(done);
            loop {
                tokio::select! {
                    _ = &mut done => break,
                    _ = tokio::time::sleep(TRIGGER_EVERY) => {
                        triggers.push(Instant::now());
                        media::set_mode(server, http, token, 2).await;
                    }
                }
            }
            triggers
        };
        // The last deliveries arrive.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (cpu, wall) = (server.cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
        let rss_after = server.rss_kib();
        stop.cancel();
        let mut all = Vec::new();
        for t in tasks {
            all.push(t.await.expect("subscriber"));
        }
        server.stop();

        // Spread per event id, and who missed what.
        let mut by_id: HashMap<u64, (Instant, Instant, usize)> = HashMap::new();
        let mut lagged = 0;
        for got in &all {
            for (id, name, at) in got {
                if name == "lagged" {
                    lagged += 1;
                    continue;
                }
                let e = by_id.entry(*id).or_insert((*at, *at, 0));
                e.0 = e.0.min(*at);
                e.1 = e.1.max(*at);
                e.2 += 1;
            }
        }
        let mut spreads: Vec<Duration> = by_id.values().map(|(a, b, _)| *b - *a).collect();
        spreads.sort();
        let partial = by_id.values().filter(|e| e.2 < subscribers).count();
        // Trigger → each subscriber's first `engine` event after it (and before the next one).
        let mut latencies = Vec::new();
        for (k, &t) in triggers.iter().enumerate() {
            let next = triggers.get(k + 1).copied();
            for got in &all {
                if let Some((_, _, at)) = got.iter().find(|(_, n, at)| {
                    n == "engine" && *at >= t && next.is_none_or(|next| *at < next)
                }) {
                    latencies.push(*at - t);
                }
            }
        }
        latencies.sort();
        let deliveries: usize = all.iter().map(Vec::len).sum();

        report.line(&format!(
            "{subscribers} subscribers, 2 concurrent libx265 encodes of a {clip_seconds} s \
             640×360 clip, an `engine` event triggered every {} ms; {:.1} s window.",
            TRIGGER_EVERY.as_millis(),
            wall
        ));
        report.line("");
        report.line("| figure | value |");
        report.line("|---|---|");
        report.line(&format!(
            "| events published / deliveries | {} / {deliveries} ({:.0} deliveries/s) |",
            by_id.len(),
            deliveries as f64 / wall
        ));
        report.line(&format!(
            "| events not received by every subscriber / `lagged` notices | {partial} / {lagged} |"
        ));
        report.line(&format!(
            "| first → last subscriber, same event: p50 / p99 / max | {:.2} / {:.2} / {:.2} ms |",
            ms(percentile(&spreads, 0.5)),
            ms(percentile(&spreads, 0.99)),
            ms(spreads.last().copied().unwrap_or_default())
        ));
        report.line(&format!(
            "| `POST /api/engine/mode` → subscriber receives `engine` ({} samples): p50 / p99 / max | {:.2} / {:.2} / {:.2} ms |",
            latencies.len(),
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(latencies.last().copied().unwrap_or_default())
        ));
        report.line(&format!(
            "| server CPU over the window (not ffmpeg) | {cpu:.2} s, {:.1} % of one core |",
            cpu / wall * 100.0
        ));
        report.line(&format!(
            "| server RSS: before subscribers / {subscribers} subscribed / after | {:.1} / {:.1} / {:.1} MiB |",
            rss_before as f64 / 1024.0,
            rss_subscribed as f64 / 1024.0,
            rss_after as f64 / 1024.0
        ));
    });
    report.finish();
}
