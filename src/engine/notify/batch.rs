//! Rate limits and grouping per target (pure; time is a parameter). The first notice after a
//! calm period goes out at once; what follows within [`GROUP_WINDOW`] waits and goes out as one
//! message per event ("37 jobs failed in the last 30 s: …"), and never more than
//! [`MAX_PER_MINUTE`] messages leave in any minute. So a thousand failing files make a handful
//! of messages, not a thousand. During quiet hours only failures of a target that lets them
//! break through go out; the rest (summaries included) wait until the quiet hours end.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::render::{Message, Notice};
use super::target::EventKind;

/// After a message, later notices wait this long and are grouped.
pub const GROUP_WINDOW: Duration = Duration::from_secs(30);
/// Messages per target in any sliding minute.
pub const MAX_PER_MINUTE: usize = 4;
/// Notices held per target (quiet hours, a rate limit); beyond it only a count is kept.
const MAX_PENDING: usize = 1000;
const MINUTE: Duration = Duration::from_secs(60);

/// One target's waiting notices and recent sends.
#[derive(Default)]
pub struct Batcher {
    pending: BTreeMap<EventKind, Vec<Notice>>,
    /// Notices beyond `MAX_PENDING`, per event: still counted in the grouped message.
    overflow: BTreeMap<EventKind, usize>,
    sent: VecDeque<Instant>,
    /// Until when new notices are grouped rather than sent at once.
    hold_until: Option<Instant>,
    /// The last `due` left notices that only quiet hours hold: no timer can release them
    /// (the worker looks again each minute), so `next_due` must not ask for a wake-up now.
    quiet_held: bool,
}

impl Batcher {
    pub fn push(&mut self, notice: Notice) {
        self.quiet_held = false;
        let list = self.pending.entry(notice.event).or_default();
        if list.len() < MAX_PENDING {
            list.push(notice);
        } else {
            *self.overflow.entry(notice.event).or_default() += 1;
        }
    }

    /// The notices waiting, oldest first per event (those beyond `MAX_PENDING` are only
    /// counted, and not listed here).
    pub fn held(&self) -> Vec<Notice> {
        self.pending.values().flatten().cloned().collect()
    }

    pub fn pending(&self) -> usize {
        self.pending.values().map(Vec::len).sum::<usize>() + self.overflow.values().sum::<usize>()
    }

    /// What may be sent at `now`: `quiet` holds all but failures, and those too unless
    /// `break_quiet`. Tests are never held.
    #[cfg(test)]
    pub fn due(&mut self, now: Instant, quiet: bool, break_quiet: bool) -> Vec<Message> {
        self.due_with_notices(now, quiet, break_quiet)
            .into_iter()
            .map(|(m, _)| m)
            .collect()
    }

    /// [`Batcher::due`], each message with the notices it was made of (what a stop holds
    /// again when the message did not land).
    pub fn due_with_notices(
        &mut self,
        now: Instant,
        quiet: bool,
        break_quiet: bool,
    ) -> Vec<(Message, Vec<Notice>)> {
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= MINUTE)
        {
            self.sent.pop_front();
        }
        let grouping = self.hold_until.is_some_and(|t| now < t);
        let mut out = Vec::new();
        let events: Vec<EventKind> = self.pending.keys().copied().collect();
        for event in events {
            let allowed = event == EventKind::Test || !quiet || (break_quiet && event.is_failure());
            if !allowed || (grouping && event != EventKind::Test) {
                continue;
            }
            if self.sent.len() >= MAX_PER_MINUTE {
                break;
            }
            let notices = self.pending.remove(&event).unwrap_or_default();
            let extra = self.overflow.remove(&event).unwrap_or(0);
            if notices.is_empty() {
                continue;
            }
            let window = format!("{} s", GROUP_WINDOW.as_secs());
            let mut m = Message::group(notices.clone(), &window);
            if extra > 0 {
                m.count += extra;
                m.title = format!("{} (and {extra} more not listed)", m.title);
            }
            self.sent.push_back(now);
            out.push((m, notices));
        }
        if !out.is_empty() {
            self.hold_until = Some(now + GROUP_WINDOW);
        }
        self.quiet_held = !self.pending.is_empty() && !grouping && self.sent.len() < MAX_PER_MINUTE;
        out
    }

    /// When `due` may have something again (`None`: nothing waits, or only quiet hours hold).
    pub fn next_due(&self, now: Instant) -> Option<Instant> {
        if self.pending.is_empty() || self.quiet_held {
            return None;
        }
        let limit = (self.sent.len() >= MAX_PER_MINUTE)
            .then(|| self.sent.front().map(|t| *t + MINUTE))
            .flatten();
        let at = [self.hold_until, limit].into_iter().flatten().max();
        Some(at.unwrap_or(now).max(now))
    }
}
