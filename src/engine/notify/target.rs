//! A notification target as the owner configures it: where messages go (`kind`, `url` and what
//! the kind needs), which events it wants, its quiet hours and the hour of its daily summary.
//! `check` refuses a target with the field at fault; `masked` is the only way a target leaves
//! the server (secrets replaced by [`MASK`]), and `keep_secrets` puts the stored secrets back
//! where a saved form or a PUT sends the mask again. No `Debug` here: a stray `{:?}` in a log
//! line must not print a token.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a secret reads as outside the server. Sending it back keeps the stored value.
pub const MASK: &str = "********";
/// Names, URLs and addresses are short; a longer value is a mistake or an attack.
const MAX_TEXT: usize = 2048;

/// Where a target delivers.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Ntfy,
    Gotify,
    Discord,
    Telegram,
    Pushover,
    Webhook,
    Email,
}

impl Kind {
    /// The fixed service's API base, when `url` is left empty (tests point it at a fake).
    pub fn default_base(self) -> Option<&'static str> {
        match self {
            Kind::Telegram => Some("https://api.telegram.org"),
            Kind::Pushover => Some("https://api.pushover.net"),
            _ => None,
        }
    }
}

/// What a target can be told about.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema, Debug,
)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    JobFailed,
    RetryExhausted,
    QueueEmpty,
    DailySummary,
    ThermalPause,
    LowSpace,
    /// The viewers' watch or the schedule paused the engine (off unless a target lists it).
    EnginePaused,
    /// The "send test" action; always delivered, never held.
    Test,
}

impl EventKind {
    pub fn code(self) -> &'static str {
        match self {
            EventKind::JobFailed => "job_failed",
            EventKind::RetryExhausted => "retry_exhausted",
            EventKind::QueueEmpty => "queue_empty",
            EventKind::DailySummary => "daily_summary",
            EventKind::ThermalPause => "thermal_pause",
            EventKind::LowSpace => "low_space",
            EventKind::EnginePaused => "engine_paused",
            EventKind::Test => "test",
        }
    }

    /// A failure: may break through quiet hours, sent with a high priority.
    pub fn is_failure(self) -> bool {
        matches!(self, EventKind::JobFailed | EventKind::RetryExhausted)
    }
}

/// `HH:MM` local times; `end` at or before `start` ends the next day.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Debug)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    #[schema(example = "22:00")]
    pub start: String,
    #[schema(example = "07:00")]
    pub end: String,
}

/// How the SMTP connection is secured.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Debug)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    Starttls,
    /// TLS from the first byte, usually port 465.
    Tls,
    /// No encryption (a relay on the local network).
    None,
}

/// What an email target needs.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    #[serde(default)]
    pub user: Option<String>,
    /// Secret: returned masked.
    #[serde(default)]
    pub password: Option<String>,
    pub from: String,
    pub to: Vec<String>,
}

/// One target, as stored and (masked) as the API shows it.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Given by the server; ignored on create.
    #[serde(default)]
    pub id: u64,
    #[schema(example = "phone")]
    pub name: String,
    pub kind: Kind,
    /// ntfy topic URL, Gotify server, Discord webhook URL, webhook URL; for Telegram and
    /// Pushover an optional API base (empty: the public service). Unused by email.
    #[serde(default)]
    pub url: String,
    pub events: Vec<EventKind>,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// Failures are sent during quiet hours too.
    #[serde(default)]
    pub failures_break_quiet: bool,
    /// Local hour (0–23) of the daily summary.
    #[serde(default = "default_summary_hour")]
    pub summary_hour: u8,
    /// Secret: Gotify app token, Telegram bot token, Pushover app token, ntfy access token
    /// (optional), webhook bearer token (optional). Returned masked.
    #[serde(default)]
    pub token: Option<String>,
    /// Telegram chat id.
    #[serde(default)]
    pub chat_id: Option<String>,
    /// Secret: Pushover user key. Returned masked.
    #[serde(default)]
    pub user_key: Option<String>,
    #[serde(default)]
    pub email: Option<EmailSettings>,
}

fn default_summary_hour() -> u8 {
    8
}

/// A refused target: which field and why.
#[derive(Debug, thiserror::Error)]
#[error("`{field}`: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

fn bad(field: &str, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Minutes after midnight of an `HH:MM` value.
pub fn clock(value: &str) -> Option<u32> {
    let (h, m) = value.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn http_url(field: &str, url: &str) -> Result<(), Invalid> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad(field, "must be an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') || url.chars().any(char::is_whitespace) {
        return Err(bad(field, "must name a host"));
    }
    Ok(())
}

fn need<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, Invalid> {
    match value.as_deref() {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(bad(field, "is required for this kind")),
    }
}

impl Target {
    /// Refuse what cannot be delivered, naming the field.
    pub fn check(&self) -> Result<(), Invalid> {
        if self.name.trim().is_empty() || self.name.len() > 100 {
            return Err(bad("name", "must be 1 to 100 characters"));
        }
        for (field, value) in [
            ("url", Some(&self.url)),
            ("token", self.token.as_ref()),
            ("chat_id", self.chat_id.as_ref()),
            ("user_key", self.user_key.as_ref()),
        ] {
            if value.is_some_and(|v| v.len() > MAX_TEXT || v.contains(['\r', '\n', '\0'])) {
                return Err(bad(field, "is too long or has control characters"));
            }
        }
        if self.events.is_empty() {
            return Err(bad("events", "choose at least one event"));
        }
        if self.summary_hour > 23 {
            return Err(bad("summary_hour", "must be 0 to 23"));
        }
        if let Some(q) = &self.quiet_hours {
            clock(&q.start).ok_or_else(|| bad("quiet_hours.start", "must be HH:MM"))?;
            clock(&q.end).ok_or_else(|| bad("quiet_hours.end", "must be HH:MM"))?;
        }
        match self.kind {
            Kind::Ntfy | Kind::Gotify | Kind::Discord | Kind::Webhook => {
                http_url("url", &self.url)?
            }
            Kind::Telegram | Kind::Pushover if !self.url.is_empty() => http_url("url", &self.url)?,
            _ => {}
        }
        match self.kind {
            Kind::Gotify => drop(need("token", &self.token)?),
            Kind::Telegram => {
                let token = need("token", &self.token)?;
                if token.contains(['/', '?', '#']) {
                    return Err(bad("token", "is not a bot token"));
                }
                need("chat_id", &self.chat_id)?;
            }
            Kind::Pushover => {
                need("token", &self.token)?;
                need("user_key", &self.user_key)?;
            }
            Kind::Email => self.check_email()?,
            _ => {}
        }
        Ok(())
    }

    fn check_email(&self) -> Result<(), Invalid> {
        let e = self
            .email
            .as_ref()
            .ok_or_else(|| bad("email", "is required for this kind"))?;
        if e.host.trim().is_empty() || e.host.len() > 255 || e.host.contains(['/', ' ']) {
            return Err(bad("email.host", "must be a host name"));
        }
        if e.port == 0 {
            return Err(bad("email.port", "must be 1 to 65535"));
        }
        let address = |field: &str, a: &str| {
            a.parse::<lettre::Address>()
                .map(drop)
                .map_err(|_| bad(field, "is not an email address"))
        };
        address("email.from", &e.from)?;
        if e.to.is_empty() || e.to.len() > 20 {
            return Err(bad("email.to", "give 1 to 20 addresses"));
        }
        e.to.iter().try_for_each(|a| address("email.to", a))
    }

    /// The target as it leaves the server: secrets masked.
    pub fn masked(&self) -> Target {
        let mask = |v: &Option<String>| v.as_ref().map(|_| MASK.to_string());
        let mut t = self.clone();
        t.token = mask(&self.token);
        t.user_key = mask(&self.user_key);
        if let Some(e) = &mut t.email {
            e.password = mask(&e.password);
        }
        // A Discord webhook URL is its own credential: only the part before the token shows.
        if self.kind == Kind::Discord {
            // (A trailing slash must not leave the token as the last segment shown.)
            t.url = match self.url.trim_end_matches('/').rsplit_once('/') {
                Some((head, _)) => format!("{head}/{MASK}"),
                None => MASK.to_string(),
            };
        }
        t
    }

    /// Where `self` (an update) sends the mask back, take the secret from `stored`.
    pub fn keep_secrets(&mut self, stored: &Target) {
        let keep = |new: &mut Option<String>, old: &Option<String>| {
            if new.as_deref() == Some(MASK) {
                *new = old.clone();
            }
        };
        keep(&mut self.token, &stored.token);
        keep(&mut self.user_key, &stored.user_key);
        if let (Some(new), Some(old)) = (&mut self.email, &stored.email) {
            keep(&mut new.password, &old.password);
        }
        if self.url.ends_with(MASK) && stored.kind == Kind::Discord {
            self.url = stored.url.clone();
        }
    }

    /// Whether the target wants `event` (tests always go through).
    pub fn wants(&self, event: EventKind) -> bool {
        event == EventKind::Test || self.events.contains(&event)
    }
}
