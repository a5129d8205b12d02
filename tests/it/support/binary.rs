//! The real `alchemist` binary as the tests run it: its path, a free loopback port for
//! `serve`, and the wait until a spawned server answers `/api/ready`.

use std::process::Child;
use std::time::Duration;

use super::wait::wait_until;

pub const BIN: &str = env!("CARGO_BIN_EXE_alchemist");

/// A loopback port free at the time of the call.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
