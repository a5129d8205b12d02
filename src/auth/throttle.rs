//! Login throttling per client (an IPv4 address or an IPv6 /64, [`ClientKey`]): after
//! `MAX_FAILURES` failed logins inside `WINDOW`, the client must wait until the window ends. A
//! success clears the client's record. The table is bounded so a flood of addresses cannot
//! grow memory without limit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::model::ClientKey;

/// Failed logins allowed per window.
pub const MAX_FAILURES: u32 = 10;
/// Length of the throttling window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most client addresses tracked at once; the oldest windows are dropped first.
const MAX_CLIENTS: usize = 10_000;

#[derive(Default)]
pub struct Throttle {
    clients: HashMap<ClientKey, (u32, Instant)>,
}

impl Throttle {
    /// `Err(seconds to wait)` when the client is over the limit.
    pub fn check(&mut self, client: ClientKey, now: Instant) -> Result<(), u64> {
        match self.clients.get(&client) {
            Some(&(count, since)) if now.duration_since(since) < WINDOW => {
                if count >= MAX_FAILURES {
                    let left = WINDOW - now.duration_since(since);
                    Err(left.as_secs().max(1))
                } else {
                    Ok(())
                }
            }
            Some(_) => {
                self.clients.remove(&client);
                Ok(())
            }
            None => Ok(()),
        }
    }

    pub fn failure(&mut self, client: ClientKey, now: Instant) {
        if self.clients.len() >= MAX_CLIENTS && !self.clients.contains_key(&client) {
            self.clients
                .retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
            if self.clients.len() >= MAX_CLIENTS
                && let Some(oldest) = self
                    .clients
                    .iter()
                    .min_by_key(|(_, v)| v.1)
                    .map(|(k, _)| *k)
            {
                self.clients.remove(&oldest);
            }
        }
        let entry = self.clients.entry(client).or_insert((0, now));
        if now.duration_since(entry.1) >= WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    /// `check` and count the attempt as a failure in one step: concurrent logins cannot all
    /// pass the check before the first failure is recorded (a burst of guesses would get
    /// past the limit while Argon2 runs). A success clears the count again.
    pub fn attempt(&mut self, client: ClientKey, now: Instant) -> Result<(), u64> {
        self.check(client, now)?;
        self.failure(client, now);
        Ok(())
    }

    pub fn success(&mut self, client: ClientKey) {
        self.clients.remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str) -> ClientKey {
        ClientKey::of(ip.parse().unwrap())
    }

    #[test]
    fn one_ipv6_64_is_one_client() {
        let mut t = Throttle::default();
        let now = Instant::now();
        // Every failure from another address of the same /64 counts against the same client.
        for i in 0..MAX_FAILURES {
            assert!(
                t.attempt(key(&format!("2001:db8:0:1::{:x}", i + 1)), now)
                    .is_ok()
            );
        }
        assert!(t.attempt(key("2001:db8:0:1:ffff::9"), now).is_err());
        assert!(t.attempt(key("2001:db8:0:2::1"), now).is_ok());
    }

    #[test]
    fn blocks_after_limit_and_recovers() {
        let mut t = Throttle::default();
        let ip = key("192.0.2.1");
        let other = key("192.0.2.2");
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert!(t.check(ip, start).is_ok());
            t.failure(ip, start);
        }
        let wait = t.check(ip, start).unwrap_err();
        assert!(wait > 0 && wait <= WINDOW.as_secs());
        assert!(
            t.check(other, start).is_ok(),
            "other clients are not affected"
        );
        assert!(
            t.check(ip, start + WINDOW).is_ok(),
            "window expiry lifts the block"
        );
    }

    #[test]
    fn attempts_count_before_their_outcome() {
        let mut t = Throttle::default();
        let ip = key("192.0.2.3");
        let now = Instant::now();
        // Ten attempts in flight at once: the eleventh is refused before any of them ends.
        for _ in 0..MAX_FAILURES {
            assert!(t.attempt(ip, now).is_ok());
        }
        assert!(t.attempt(ip, now).is_err());
        t.success(ip);
        assert!(t.attempt(ip, now).is_ok());
    }

    #[test]
    fn success_clears_failures() {
        let mut t = Throttle::default();
        let ip = key("::1");
        let now = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            t.failure(ip, now);
        }
        t.success(ip);
        t.failure(ip, now);
        assert!(t.check(ip, now).is_ok());
    }
}
