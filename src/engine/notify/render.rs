//! What a notification says, and the request each kind of target gets for it, as plain data
//! (pure: unit-tested without a network). A [`Notice`] is one thing that happened; grouping
//! (`batch`) turns one or many notices of one event into a [`Message`]; [`request`] renders a
//! message for a target's service as its documentation asks:
//!
//! - ntfy: `POST <topic URL>`, the text as the body, `Title`, `Priority` (`high` for failures,
//!   else `default`) and `Tags` headers; `Authorization: Bearer <token>` when a token is set.
//! - Gotify: `POST <server>/message?token=<app token>` with `{"title", "message", "priority"}`.
//! - Discord: `POST <webhook URL>` with `{"content"}` (at most 2,000 characters).
//! - Telegram: `POST <base>/bot<token>/sendMessage` with `{"chat_id", "text"}`.
//! - Pushover: `POST <base>/1/messages.json`, form fields `token`, `user`, `title`, `message`,
//!   `priority`.
//! - Generic webhook: `POST <url>` with this JSON (`Authorization: Bearer <token>` when set):
//!
//! ```json
//! {"event": "job_failed", "title": "2 jobs failed", "message": "…", "count": 2,
//!  "jobs": [{"id": 7, "path": "/media/a.mkv", "reason": "probe_failed"}],
//!  "sent_at": "2026-12-05T22:00:00Z"}
//! ```
//!
//! `event` is one of `job_failed`, `retry_exhausted`, `queue_empty`, `daily_summary`,
//! `thermal_pause`, `low_space`, `test`; `count` is how many events the message stands for
//! (many failures in a short time become one message); `jobs` lists at most 20 of them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::target::{EventKind, Kind, Target};

/// Job lines named in a grouped message; the rest are counted.
const NAMED: usize = 10;
/// Jobs listed in a webhook payload.
const LISTED: usize = 20;
/// Discord refuses content over 2,000 characters; Telegram and Pushover allow more, but a
/// phone notification is read at a glance.
const MAX_TEXT: usize = 1900;

/// A job a notice is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRef {
    pub id: u64,
    pub path: String,
    /// The failure's stable code, when it failed.
    pub reason: Option<String>,
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub event: EventKind,
    pub title: String,
    pub message: String,
    pub job: Option<JobRef>,
}

/// What is sent: one notice, or many of one event grouped.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub event: EventKind,
    pub title: String,
    pub text: String,
    pub count: usize,
    pub jobs: Vec<JobRef>,
}

impl Message {
    /// One message for `notices` (all of one event; at least one).
    pub fn group(notices: Vec<Notice>, window: &str) -> Message {
        let count = notices.len();
        let event = notices[0].event;
        let jobs: Vec<JobRef> = notices.iter().filter_map(|n| n.job.clone()).collect();
        if count == 1 {
            let n = notices.into_iter().next().unwrap_or_else(|| unreachable!());
            return Message {
                event,
                title: n.title,
                text: n.message,
                count,
                jobs,
            };
        }
        let what = match event {
            EventKind::JobFailed => "jobs failed",
            EventKind::RetryExhausted => "jobs gave up retrying",
            _ => "events",
        };
        let title = format!("{count} {what} in the last {window}");
        let mut lines: Vec<String> = notices
            .iter()
            .take(NAMED)
            .map(|n| n.message.clone())
            .collect();
        if count > NAMED {
            lines.push(format!("…and {} more", count - NAMED));
        }
        Message {
            event,
            text: format!("{title}:\n{}", lines.join("\n")),
            title,
            count,
            jobs: jobs.into_iter().take(LISTED).collect(),
        }
    }
}

/// A request body.
#[derive(Debug, PartialEq)]
pub enum Body {
    Json(Value),
    Form(Vec<(&'static str, String)>),
    Text(String),
}

/// One HTTP request to a target (always `POST`).
#[derive(Debug, PartialEq)]
pub struct Request {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max - 1).collect();
    s.push('…');
    s
}

fn base(t: &Target) -> String {
    let url = if t.url.is_empty() {
        t.kind.default_base().unwrap_or_default()
    } else {
        &t.url
    };
    url.trim_end_matches('/').to_string()
}

/// The request for `message` to HTTP target `t` (`None` for email).
pub fn request(t: &Target, m: &Message, sent_at: &str) -> Option<Request> {
    let text = cut(&m.text, MAX_TEXT);
    let urgent = m.event.is_failure() || m.event == EventKind::ThermalPause;
    let token = t.token.clone().unwrap_or_default();
    let bearer = || {
        t.token
            .as_ref()
            .map(|tok| vec![("Authorization", format!("Bearer {tok}"))])
            .unwrap_or_default()
    };
    let r = match t.kind {
        Kind::Ntfy => {
            let mut headers = bearer();
            // Header values must be ASCII; ntfy reads RFC 2047 too, but plain is enough here.
            let title: String = m.title.chars().filter(char::is_ascii).collect();
            headers.push(("Title", title));
            headers.push(("Priority", if urgent { "high" } else { "default" }.into()));
            let tag = if urgent {
                "warning"
            } else {
                "information_source"
            };
            headers.push(("Tags", format!("{tag},alchemist")));
            Request {
                url: t.url.clone(),
                headers,
                body: Body::Text(text),
            }
        }
        Kind::Gotify => {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("token", &token)
                .finish();
            Request {
                url: format!("{}/message?{query}", base(t)),
                headers: Vec::new(),
                body: Body::Json(json!({"title": m.title, "message": text,
                                        "priority": if urgent { 8 } else { 5 }})),
            }
        }
        Kind::Discord => Request {
            url: t.url.clone(),
            headers: Vec::new(),
            body: Body::Json(json!({"content": cut(&format!("**{}**\n{}", m.title, text), 2000)})),
        },
        Kind::Telegram => Request {
            url: format!("{}/bot{token}/sendMessage", base(t)),
            headers: Vec::new(),
            body: Body::Json(
                json!({"chat_id": t.chat_id, "text": format!("{}\n{}", m.title, text)}),
            ),
        },
        Kind::Pushover => Request {
            url: format!("{}/1/messages.json", base(t)),
            headers: Vec::new(),
            body: Body::Form(vec![
                ("token", token),
                ("user", t.user_key.clone().unwrap_or_default()),
                ("title", cut(&m.title, 250)),
                ("message", cut(&text, 1024)),
                ("priority", if urgent { "1" } else { "0" }.into()),
            ]),
        },
        Kind::Webhook => Request {
            url: t.url.clone(),
            headers: bearer(),
            body: Body::Json(
                json!({"event": m.event.code(), "title": m.title, "message": m.text,
                                    "count": m.count, "jobs": m.jobs, "sent_at": sent_at}),
            ),
        },
        Kind::Email => return None,
    };
    Some(r)
}
