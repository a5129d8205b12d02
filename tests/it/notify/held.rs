//! Held notifications survive a restart: a job fails during a target's quiet hours, the notice
//! waits, a second fails within the 30 s the notifier waits between two writes of what it holds
//! (so only its shutdown write keeps it), the server stops and starts again (a reboot at
//! night), and both notices still wait; once the quiet hours are gone, they are sent, with the
//! failed files in them. And a message whose delivery is still under way at a stop is held
//! again and sent after the restart, while the process exits without waiting for that
//! delivery's HTTP attempt to give up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use jiff::{ToSpan, ZonedDateTime};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::fakes::FakeHttp;
use super::{BASE, add_target, failing_files};
use crate::support::api::{ok, post, send};
use crate::support::files::library;
use crate::support::jobs::start_scan;
use crate::support::served::Served;
use crate::support::{PROMPT, SHORT_JOB, TestServer, wait_until};

/// `HH:MM` of the box's local time `minutes` from now (the test sets no zone).
fn local_clock(minutes: i64) -> String {
    let at = ZonedDateTime::now().checked_add(minutes.minutes()).unwrap();
    at.strftime("%H:%M").to_string()
}

/// The notifier's line on the system page.
async fn notifier(server: &TestServer, token: &str) -> String {
    let workers = server.get_json("/api/system/workers", token).await;
    let me = workers
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "notifier");
    me.map(|w| w["detail"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Wait until the notifier holds `n` notices.
async fn waiting(
    server: &TestServer,
    token: &str,
    n: usize,
    within: std::time::Duration,
    what: &str,
) {
    let want = format!(" {n} waiting");
    wait_until(within, what, async || {
        let line = notifier(server, token).await;
        if line.contains(&want) {
            Ok(())
        } else {
            Err(line)
        }
    })
    .await;
}

#[tokio::test]
async fn a_failure_held_by_quiet_hours_is_sent_after_a_restart() {
    let fake = FakeHttp::start(200).await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let mut target = json!({"name": "night", "kind": "webhook",
        "url": format!("{}/hook", fake.base), "events": ["job_failed"],
        "quiet_hours": {"start": local_clock(-60), "end": local_clock(60)}});
    let id = add_target(&server, &token, target.clone()).await;
    failing_files(&server, &token, 1).await;
    waiting(
        &server,
        &token,
        1,
        SHORT_JOB,
        "the failure held by the quiet hours",
    )
    .await;
    // The first notice was written at once; the second waits for the next write or the stop.
    std::fs::write(
        library(server.tmp.path()).join("broken1.mkv"),
        b"not a video",
    )
    .unwrap();
    start_scan(&server, &token).await;
    waiting(&server, &token, 2, SHORT_JOB, "the second failure held").await;
    let (tmp, data_dir) = server.stop().await;

    let server = TestServer::start_in(tmp, data_dir, |_| {}).await;
    let token = server.login().await;
    waiting(
        &server,
        &token,
        2,
        PROMPT,
        "both failures held again after the restart",
    )
    .await;
    assert!(fake.to("/hook").is_empty(), "sent during quiet hours");

    // The owner ends the quiet hours; a test message wakes the notifier at once.
    target["quiet_hours"] = Value::Null;
    let r = send(
        &server,
        &token,
        Method::PUT,
        &format!("{BASE}/{id}"),
        target,
    )
    .await;
    ok(r, 200).await;
    let (status, body) = post(&server, &token, &format!("{BASE}/{id}/test"), json!({})).await;
    assert_eq!(status, 202, "{body:#}");
    wait_until(PROMPT, "both held failures delivered", async || {
        let hook = fake.to("/hook");
        let failed: Vec<String> = hook
            .iter()
            .map(|r| r.json())
            .filter(|j| j["event"] == "job_failed")
            .map(|j| j.to_string())
            .collect();
        let all = failed.concat();
        (all.contains("broken0.mkv") && all.contains("broken1.mkv")).then_some(())
    })
    .await;
    server.stop().await;
}

/// A webhook receiver on loopback that holds its first connection without answering (a target
/// that hangs while the box stops) and answers every later request 200, keeping the bodies.
struct Hanging {
    base: String,
    first: Arc<AtomicBool>,
    bodies: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Hanging {
    async fn start() -> Hanging {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let first = Arc::new(AtomicBool::new(false));
        let bodies: Arc<Mutex<Vec<String>>> = Arc::default();
        let (f, b) = (first.clone(), Arc::clone(&bodies));
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut conn, _)) = listener.accept().await {
                if !f.swap(true, Ordering::SeqCst) {
                    held.push(conn);
                    continue;
                }
                let b = Arc::clone(&b);
                tokio::spawn(async move {
                    if let Some(body) = read_request(&mut conn).await {
                        b.lock().unwrap().push(body);
                        let _ = conn
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                    }
                });
            }
        });
        Hanging {
            base,
            first,
            bodies,
            task,
        }
    }
}

impl Drop for Hanging {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One HTTP/1.1 request's body (at most 1 MiB, within 10 s).
async fn read_request(conn: &mut tokio::net::TcpStream) -> Option<String> {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = conn.read(&mut chunk).await.ok()?;
            if n == 0 || buf.len() > 1 << 20 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some(String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned());
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .ok()
        .flatten()
}

/// A failure notice whose delivery is still waiting for the target's answer when the box
/// stops is held again (it is in the store once the server stopped) and sent after the
/// restart (before, its delivery task died with the process). The new server logs it as
/// delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_still_being_sent_at_a_stop_is_sent_after_the_restart() {
    let hook = Hanging::start().await;
    let server = TestServer::start().await;
    let token = server.login().await;
    let target = json!({"name": "slow", "kind": "webhook",
        "url": format!("{}/hook", hook.base), "events": ["job_failed"],
        "summary_hour": super::quiet_summary_hour()});
    let id = add_target(&server, &token, target).await;
    failing_files(&server, &token, 1).await;
    wait_until(
        SHORT_JOB,
        "the delivery to reach the hanging target",
        async || hook.first.load(Ordering::SeqCst),
    )
    .await;
    let (tmp, data_dir) = server.stop().await;
    assert!(
        hook.bodies.lock().unwrap().is_empty(),
        "nothing answered yet"
    );
    // The stop held it again: it is in the store, for the next start.
    let store = alchemist::store::Store::open(&data_dir).unwrap();
    let held = store
        .setting("notifications.held")
        .unwrap()
        .unwrap_or_default();
    assert!(held.to_string().contains("broken0.mkv"), "{held}");
    drop(store);

    let server = TestServer::start_in(tmp, data_dir, |_| {}).await;
    let token = server.login().await;
    wait_until(
        PROMPT,
        "the held failure sent after the restart",
        async || {
            let bodies = hook.bodies.lock().unwrap().clone();
            bodies
                .iter()
                .any(|b| b.contains("broken0.mkv"))
                .then_some(())
        },
    )
    .await;
    wait_until(
        PROMPT,
        "its delivery logged by the new server",
        async || {
            let all = server.get_json(BASE, &token).await;
            let t = all
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["id"] == id)
                .cloned();
            let sent = t.as_ref().is_some_and(|t| {
                t["log"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|d| d["ok"] == true && d["event"] == "job_failed")
            });
            if sent {
                Ok(())
            } else {
                Err(t.unwrap_or(Value::Null))
            }
        },
    )
    .await;
    server.stop().await;
}

/// The real binary stopped by SIGTERM while a delivery waits on a target that never answers
/// exits within seconds: the notifier's grace (3 s) and the runtime's bounded shutdown, not
/// the attempt's 15 s HTTP timeout (dropping the runtime waited for that blocking attempt).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_process_exits_on_sigterm_without_waiting_for_a_hanging_delivery() {
    let hook = Hanging::start().await;
    let mut server = Served::start("").await;
    let target = json!({"name": "slow", "kind": "webhook",
        "url": format!("{}/hook", hook.base), "events": ["job_failed"],
        "summary_hour": super::quiet_summary_hour()});
    let r = server
        .http
        .post(format!("{}{BASE}", server.base))
        .bearer_auth(&server.token)
        .json(&target)
        .send()
        .await
        .unwrap();
    let id = ok(r, 201).await["id"].as_u64().unwrap();
    let r = server
        .http
        .post(format!("{}{BASE}/{id}/test", server.base))
        .bearer_auth(&server.token)
        .send()
        .await
        .unwrap();
    ok(r, 202).await;
    wait_until(
        PROMPT,
        "the test message to reach the hanging target",
        async || hook.first.load(Ordering::SeqCst),
    )
    .await;
    let ended = tokio::task::spawn_blocking(move || {
        let ended = server.terminate(std::time::Duration::from_secs(40));
        (ended, server)
    })
    .await
    .unwrap();
    let (Some((status, took)), _server) = ended else {
        panic!("the server did not exit within 40 s of SIGTERM");
    };
    assert!(status.success(), "a clean stop: {status}");
    assert!(
        took < std::time::Duration::from_secs(12),
        "the exit waited {took:?}: as long as the hanging attempt's 15 s timeout"
    );
}
