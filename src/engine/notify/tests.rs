//! Unit tests of the pure parts: grouping and rate limits under a burst, quiet hours, the
//! request each service gets, and secrets never leaving masked.

use std::time::{Duration, Instant};

use super::batch::{Batcher, GROUP_WINDOW, MAX_PER_MINUTE};
use super::render::{Body, JobRef, Message, Notice, request};
use super::summary::is_quiet;
use super::target::{EventKind, Kind, MASK, QuietHours, Target};

fn failure(n: usize) -> Notice {
    Notice {
        event: EventKind::JobFailed,
        title: format!("Job failed: f{n}.mkv"),
        message: format!("f{n}.mkv: the file could not be read"),
        job: Some(JobRef {
            id: n as u64,
            path: format!("/media/f{n}.mkv"),
            reason: Some("probe_failed".into()),
        }),
    }
}

fn target(kind: Kind, url: &str) -> Target {
    serde_json::from_value(serde_json::json!({
        "name": "t", "kind": kind, "url": url, "events": ["job_failed"],
        "token": "sekret", "chat_id": "42", "user_key": "ukey"
    }))
    .unwrap()
}

#[test]
fn a_thousand_failures_in_a_minute_make_a_handful_of_messages_counting_all() {
    let mut b = Batcher::default();
    let start = Instant::now();
    let mut messages: Vec<Message> = Vec::new();
    // 1,000 failures spread over one minute, the batcher asked after each (the worker's
    // worst case), then asked until nothing waits.
    for i in 0..1000 {
        let now = start + Duration::from_millis(i as u64 * 60);
        b.push(failure(i));
        messages.extend(b.due(now, false, false));
    }
    let mut now = start + Duration::from_secs(60);
    while let Some(at) = b.next_due(now) {
        now = at;
        messages.extend(b.due(now, false, false));
    }
    assert!(messages.len() <= 5, "{} messages", messages.len());
    assert!(
        messages.len() >= 2,
        "the burst after the first is grouped, not lost"
    );
    assert_eq!(messages.iter().map(|m| m.count).sum::<usize>(), 1000);
    let grouped = messages.iter().find(|m| m.count > 1).unwrap();
    assert!(
        grouped.title.contains("jobs failed in the last"),
        "{}",
        grouped.title
    );
    assert!(grouped.text.contains("more"), "{}", grouped.text);
}

#[test]
fn never_more_than_the_limit_in_any_minute() {
    let mut b = Batcher::default();
    let start = Instant::now();
    let mut times = Vec::new();
    let kinds = [
        EventKind::JobFailed,
        EventKind::QueueEmpty,
        EventKind::ThermalPause,
    ];
    for i in 0..600u64 {
        let now = start + Duration::from_millis(i * 500);
        let mut n = failure(i as usize);
        n.event = kinds[i as usize % 3];
        b.push(n);
        times.extend(b.due(now, false, false).iter().map(|_| now));
    }
    for (i, t) in times.iter().enumerate() {
        let in_minute = times[i..]
            .iter()
            .filter(|u| u.duration_since(*t) < Duration::from_secs(60));
        assert!(in_minute.count() <= MAX_PER_MINUTE, "{times:?}");
    }
}

#[test]
fn quiet_hours_hold_summaries_and_let_failures_through_when_asked() {
    let now = Instant::now() + GROUP_WINDOW;
    let mut b = Batcher::default();
    b.push(Notice {
        event: EventKind::DailySummary,
        title: "s".into(),
        message: "m".into(),
        job: None,
    });
    b.push(failure(1));
    let out = b.due(now, true, true);
    assert_eq!(
        out.iter().map(|m| m.event).collect::<Vec<_>>(),
        [EventKind::JobFailed]
    );
    assert_eq!(b.pending(), 1, "the summary waits");
    let held_at = now + GROUP_WINDOW;
    assert!(b.due(held_at, true, true).is_empty());
    assert_eq!(
        b.next_due(held_at),
        None,
        "no busy wake-up while quiet hours hold"
    );
    let mut held = Batcher::default();
    held.push(failure(2));
    assert!(
        held.due(now, true, false).is_empty(),
        "no break-through: held"
    );
    let later = now + GROUP_WINDOW * 2;
    assert_eq!(
        b.due(later, false, true).len(),
        1,
        "the summary goes when quiet ends"
    );
    let q = QuietHours {
        start: "22:00".into(),
        end: "07:00".into(),
    };
    assert!(is_quiet(Some(&q), 23 * 60) && is_quiet(Some(&q), 60) && !is_quiet(Some(&q), 12 * 60));
}

#[test]
fn each_service_gets_its_documented_request() {
    let m = Message::group(vec![failure(1)], "minute");
    let r = request(&target(Kind::Gotify, "http://g/"), &m, "now").unwrap();
    assert_eq!(r.url, "http://g/message?token=sekret");
    let r = request(&target(Kind::Telegram, ""), &m, "now").unwrap();
    assert_eq!(r.url, "https://api.telegram.org/botsekret/sendMessage");
    let r = request(&target(Kind::Pushover, ""), &m, "now").unwrap();
    assert_eq!(r.url, "https://api.pushover.net/1/messages.json");
    assert!(matches!(&r.body, Body::Form(f) if f.contains(&("user", "ukey".to_string()))));
    let r = request(&target(Kind::Ntfy, "http://n/topic"), &m, "now").unwrap();
    assert!(
        r.headers.contains(&("Priority", "high".to_string())),
        "{:?}",
        r.headers
    );
    let r = request(&target(Kind::Webhook, "http://w/hook"), &m, "now").unwrap();
    let Body::Json(v) = r.body else {
        panic!("json")
    };
    assert_eq!(v["event"], "job_failed");
    assert_eq!(v["jobs"][0]["reason"], "probe_failed");
}

#[test]
fn secrets_leave_masked_and_a_masked_update_keeps_them() {
    let stored = target(Kind::Discord, "https://discord.com/api/webhooks/1/tok");
    let shown = stored.masked();
    assert_eq!(shown.token.as_deref(), Some(MASK));
    assert_eq!(shown.user_key.as_deref(), Some(MASK));
    assert_eq!(
        shown.url,
        format!("https://discord.com/api/webhooks/1/{MASK}")
    );
    let mut update = shown.clone();
    update.keep_secrets(&stored);
    assert_eq!(update.token.as_deref(), Some("sekret"));
    assert_eq!(update.url, stored.url);
    // A trailing slash does not leave the token showing.
    let slashed = target(Kind::Discord, "https://discord.com/api/webhooks/1/tok/");
    assert_eq!(
        slashed.masked().url,
        format!("https://discord.com/api/webhooks/1/{MASK}")
    );
    let mut t = target(Kind::Telegram, "");
    t.chat_id = None;
    assert_eq!(t.check().unwrap_err().field, "chat_id");
}

#[test]
fn who_paused_the_engine_is_read_from_its_reason() {
    use super::worker::{Pauser, pauser};
    use crate::model::{EngineMode, EngineRunState, EngineStatus, ScheduleStatus};
    let status = |run, reason: Option<&str>| EngineStatus {
        status: run,
        mode: EngineMode::Balanced,
        concurrent_limit: 1,
        threads: 0,
        is_manual_override: false,
        active_jobs: 0,
        queued_jobs: 0,
        paused_reason: reason.map(str::to_string),
        schedule: ScheduleStatus {
            enabled: true,
            in_window: false,
            next_change: None,
        },
    };
    let viewers = Some("viewers: 1 stream on Jellyfin");
    let schedule = Some("outside the schedule window: encodes suspended until Mon 08:00");
    assert_eq!(pauser(&status(EngineRunState::Running, None)), None);
    let paused = |r| pauser(&status(EngineRunState::Paused, r));
    assert_eq!(paused(viewers), Some(Pauser::Viewers));
    assert_eq!(paused(schedule), Some(Pauser::Schedule));
    assert_eq!(paused(Some("paused by the user")), Some(Pauser::Other));
    let draining = pauser(&status(EngineRunState::Draining, schedule));
    assert_eq!(draining, Some(Pauser::Schedule));
}
