//! The real `alchemist` binary as the tests run it: its path, a free loopback port for
//! `serve`, and the wait until a spawned server answers `/api/ready`.

use std::process::Child;
use std::time::Duration;

use super::wait::wait_until;

pub const BIN: &str = env!("CARGO_BIN_EXE_alchemist");

/// A loopback port free at the time of the call, for a server the test starts next.
///
/// Taken below the kernel's ephemeral range (32768-60999 by default): a port the kernel hands
/// out for `bind(0)` is also what it hands the tests' own client connections as their source
/// port, so one picked there could be taken by a connection before the server binds it (CI saw
/// it). Below that range only a listener asks for a port by number, and each call here takes
/// the next one, so two tests of this process never get the same one.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    // Start somewhere else in each run, so a server a previous run left behind is not met.
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % SPAN,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {LOW} and {}", LOW + SPAN);
}

/// Wait until the `serve` process `child` answers `GET {base}/api/ready` with 200. Fails at
/// once when it exits instead, with `log()` (what it wrote) in the message.
pub async fn wait_ready(
    child: &mut Child,
    http: &reqwest::Client,
    base: &str,
    timeout: Duration,
    log: impl Fn() -> String,
) {
    let ready = format!("{base}/api/ready");
    wait_until(timeout, format!("{ready} to answer"), async || {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the server exited with {status} before it was ready: {}",
                log()
            );
        }
        let r = http.get(&ready).send().await;
        r.is_ok_and(|r| r.status() == 200)
    })
    .await
}
