//! When a hardware encoder is demoted: after [`DEMOTE_AFTER`] jobs in a row on which it failed
//! for reasons of its own (its ffmpeg failed or stalled, or its output did not verify), so a
//! GPU that broke after detection (a driver update, a hang, a firmware that went missing) does
//! not cost every later job a failed try first. A success in between starts the count again;
//! an output that was merely too big is no fault of the hardware and counts for nothing. The
//! list is cleared when the hardware is probed again. Pure: the engine's `Hardware` handle
//! keeps one behind a lock and stores the list with the detection result.

use std::collections::HashMap;

use crate::hw::Demotion;
use crate::model::{Backend, Explanation};

/// Failed jobs in a row after which an encoder is demoted: one failure can be the file's
/// doing, three in a row on different files are the hardware's.
pub const DEMOTE_AFTER: u32 = 3;

/// Which encoder: backend, device node, ffmpeg encoder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct EncoderKey {
    pub backend: Backend,
    pub device: String,
    pub encoder: String,
}

/// Failure streaks and the demotions they led to.
#[derive(Debug, Default)]
pub(crate) struct Demotions {
    streaks: HashMap<EncoderKey, u32>,
    demoted: Vec<Demotion>,
}

impl Demotions {
    /// Start over from a detection result's demotions (none after a new probe).
    pub fn reset(&mut self, demoted: Vec<Demotion>) {
        self.streaks.clear();
        self.demoted = demoted;
    }

    pub fn list(&self) -> &[Demotion] {
        &self.demoted
    }

    /// A job failed on `key` because of the hardware; `true` when this demotes it.
    pub fn failure(&mut self, key: &EncoderKey, why: &Explanation, now: &str) -> bool {
        let streak = self.streaks.entry(key.clone()).or_default();
        *streak += 1;
        let failures = *streak;
        let known = self
            .demoted
            .iter_mut()
            .find(|d| d.is(key.backend, &key.device, &key.encoder));
        match known {
            // Still used by a job that started before the demotion: keep the latest reason.
            Some(d) => {
                d.failures = d.failures.max(failures);
                d.reason = why.code.clone();
                d.summary = why.summary.clone();
                false
            }
            None if failures >= DEMOTE_AFTER => {
                self.demoted.push(Demotion {
                    backend: key.backend,
                    device: key.device.clone(),
                    encoder: key.encoder.clone(),
                    failures,
                    reason: why.code.clone(),
                    summary: why.summary.clone(),
                    since: now.to_string(),
                });
                true
            }
            None => false,
        }
    }

    /// A job's hardware encode was verified: the streak is over.
    pub fn success(&mut self, key: &EncoderKey) {
        self.streaks.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(device: &str) -> EncoderKey {
        EncoderKey {
            backend: Backend::Vaapi,
            device: device.into(),
            encoder: "hevc_vaapi".into(),
        }
    }

    #[test]
    fn three_failures_in_a_row_demote_and_a_success_resets_the_count() {
        let mut d = Demotions::default();
        let why = Explanation::new("encoder_stalled", "The hardware encoder stopped.", "");
        let gpu = key("/dev/dri/renderD128");
        assert!(!d.failure(&gpu, &why, "t1"));
        assert!(!d.failure(&gpu, &why, "t2"));
        d.success(&gpu);
        assert!(!d.failure(&gpu, &why, "t3"));
        assert!(!d.failure(&gpu, &why, "t4"));
        // Another device's failures count apart.
        assert!(!d.failure(&key("/dev/dri/renderD129"), &why, "t4"));
        assert!(d.list().is_empty());
        assert!(d.failure(&gpu, &why, "t5"));
        let list = d.list();
        assert_eq!(list.len(), 1);
        assert_eq!(
            (
                list[0].failures,
                list[0].reason.as_str(),
                list[0].since.as_str()
            ),
            (DEMOTE_AFTER, "encoder_stalled", "t5")
        );
        // A job that started before the demotion fails too: recorded, not demoted twice.
        let verify = Explanation::new("verify_failed", "The output did not verify.", "");
        assert!(!d.failure(&gpu, &verify, "t6"));
        assert_eq!(d.list().len(), 1);
        assert_eq!(d.list()[0].reason, "verify_failed");
        d.reset(Vec::new());
        assert!(d.list().is_empty());
        assert!(
            !d.failure(&gpu, &why, "t7"),
            "a new probe starts the count again"
        );
    }
}
