//! Per-username backoff: after `FREE_FAILURES` wrong passwords for a name (from anywhere,
//! since an attacker has as many addresses as they like), the name waits, and every attempt
//! from an unknown device while it waits doubles the wait, up to `MAX_WAIT`: a guesser who
//! keeps trying only locks the name longer. A good login clears it. The owner's own browser logs in as a known device and never waits (see `devices`), so a
//! flood against the name cannot lock them out; a new browser may have to wait at most
//! `MAX_WAIT`. Bounded in memory like the address throttle.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Wrong passwords for a name before it backs off.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Names tracked at once (an attacker trying random names must not grow memory).
const MAX_NAMES: usize = 10_000;

#[derive(Default)]
pub struct UserBackoff {
    names: HashMap<String, (u32, Instant)>,
}

/// Wait after `failures` wrong passwords. Pure.
pub fn wait_after(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let shift = (failures - FREE_FAILURES).min(20);
    Duration::from_secs(1u64 << shift).min(MAX_WAIT)
}

impl UserBackoff {
    /// Count an attempt for `name` before its outcome is known (so a burst cannot pass the
    /// check together); `Err(seconds)` when it must wait.
    pub fn attempt(&mut self, name: &str, now: Instant) -> Result<(), u64> {
        if let Some(&(failures, last)) = self.names.get(name) {
            if now < last + wait_after(failures) {
                // Trying while waiting counts: the wait doubles.
                let failures = failures.saturating_add(1);
                self.names.insert(name.to_string(), (failures, now));
                return Err(wait_after(failures).as_secs().max(1));
            }
            if now.duration_since(last) > MAX_WAIT * 2 {
                self.names.remove(name);
            }
        }
        if self.names.len() >= MAX_NAMES && !self.names.contains_key(name) {
            let oldest = self
                .names
                .iter()
                .min_by_key(|(_, v)| v.1)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.names.remove(&oldest);
            }
        }
        let entry = self.names.entry(name.to_string()).or_insert((0, now));
        *entry = (entry.0 + 1, now);
        Ok(())
    }

    pub fn success(&mut self, name: &str) {
        self.names.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_cap() {
        assert_eq!(wait_after(4), Duration::ZERO);
        assert_eq!(wait_after(5), Duration::from_secs(1));
        assert_eq!(wait_after(8), Duration::from_secs(8));
        assert_eq!(wait_after(40), MAX_WAIT);
    }

    #[test]
    fn a_name_backs_off_and_a_good_login_clears_it() {
        let mut b = UserBackoff::default();
        let t = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert!(b.attempt("admin", t).is_ok());
        }
        // Trying while the name waits doubles the wait.
        assert_eq!(b.attempt("admin", t), Err(2));
        assert_eq!(b.attempt("admin", t), Err(4));
        assert!(b.attempt("admin", t + Duration::from_secs(3)).is_err());
        assert!(b.attempt("admin", t + Duration::from_secs(20)).is_ok());
        assert!(
            b.attempt("someone", t).is_ok(),
            "other names are not affected"
        );
        b.success("admin");
        assert!(b.attempt("admin", t + Duration::from_secs(1)).is_ok());
    }
}
