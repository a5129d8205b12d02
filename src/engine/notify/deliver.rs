//! Sending one message to one target, with bounded retries and backoff, each attempt recorded
//! in the target's delivery log. HTTP goes through `ureq` (blocking, so on the blocking pool;
//! rustls with ring and the bundled web PKI roots, which the static appliance build needs),
//! email through `lettre` (STARTTLS, TLS or plain). Errors are described without the request
//! URL: Telegram and Gotify carry their token in it, and the log is shown on a page.

use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::Notifications;
use super::render::{Body, Message, request};
use super::target::{Target, TlsMode};

/// Attempts per message: the first and two retries.
pub const MAX_ATTEMPTS: u32 = 3;
/// Wait before the first retry; doubled before each next one.
const BACKOFF: Duration = Duration::from_millis(500);
/// One attempt gives up after this long (a target that hangs must not hold its messages).
const TIMEOUT: Duration = Duration::from_secs(15);

/// How an attempt failed.
pub struct AttemptError {
    pub message: String,
    /// Another attempt may succeed (a 5xx, 429, a network error).
    pub transient: bool,
}

/// Try `m` on `t` up to [`MAX_ATTEMPTS`] times, each attempt recorded in the target's log.
pub async fn send(log: &Notifications, t: &Target, m: &Message, sent_at: &str) -> bool {
    let mut wait = BACKOFF;
    for attempt in 1..=MAX_ATTEMPTS {
        let result = once(t, m, sent_at).await;
        let ok = result.is_ok();
        let transient = result.as_ref().err().is_some_and(|e| e.transient);
        let result = result.map_err(|e| e.message);
        if let Err(e) = &result {
            tracing::warn!(target = %t.name, attempt, error = %e, "notification not delivered");
        }
        log.record(t.id, m.event, m.count, attempt, result).await;
        if !transient {
            return ok;
        }
        if attempt < MAX_ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    false
}

async fn once(t: &Target, m: &Message, sent_at: &str) -> Result<(), AttemptError> {
    match request(t, m, sent_at) {
        Some(req) => tokio::task::spawn_blocking(move || http(req))
            .await
            .map_err(|e| AttemptError {
                message: format!("delivery task failed: {e}"),
                transient: false,
            })?,
        None => email(t, m).await,
    }
}

fn http(req: super::render::Request) -> Result<(), AttemptError> {
    let agent = crate::net::agent(TIMEOUT, None, true);
    let mut builder = agent.post(&req.url);
    for (name, value) in &req.headers {
        builder = builder.header(*name, value);
    }
    let result = match req.body {
        Body::Json(v) => builder.send_json(&v),
        Body::Form(pairs) => builder.send_form(pairs.iter().map(|(k, v)| (*k, v.as_str()))),
        Body::Text(s) => builder
            .header("Content-Type", "text/plain; charset=utf-8")
            .send(s.as_bytes()),
    };
    let response = result.map_err(|e| AttemptError {
        message: crate::net::failure_in_words(&e),
        transient: true,
    })?;
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(AttemptError {
            message: format!("the target answered HTTP {status}"),
            transient: status >= 500 || status == 429 || status == 408,
        })
    }
}

async fn email(t: &Target, m: &Message) -> Result<(), AttemptError> {
    let permanent = |message: String| AttemptError {
        message,
        transient: false,
    };
    let e = t
        .email
        .as_ref()
        .ok_or_else(|| permanent("no email settings".into()))?;
    let builder = match e.tls {
        TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&e.host),
        TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&e.host),
        TlsMode::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
            &e.host,
        )),
    }
    .map_err(|err| permanent(format!("TLS setup: {err}")))?;
    let mut builder = builder.port(e.port).timeout(Some(TIMEOUT));
    if let (Some(user), Some(password)) = (&e.user, &e.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    let mut mail = lettre::Message::builder()
        .from(
            e.from
                .parse()
                .map_err(|_| permanent("bad from address".into()))?,
        )
        .subject(format!("Alchemist: {}", m.title));
    for to in &e.to {
        mail = mail.to(to.parse().map_err(|_| permanent("bad to address".into()))?);
    }
    let mail = mail
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(m.text.clone())
        .map_err(|err| permanent(format!("message: {err}")))?;
    builder
        .build()
        .send(mail)
        .await
        .map(drop)
        .map_err(|err| AttemptError {
            transient: !err.is_permanent(),
            message: format!("SMTP: {err}"),
        })
}
