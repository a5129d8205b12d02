//! The queue card of the system page (its order, saved by a plain form through the same
//! `Queue::set` as `PUT /api/settings/queue`, so it works without JavaScript) and the ETA line
//! of the dashboard ("12 queued · about 3 h 20 min · ~14 GiB to save", the basis as a hint).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::PageError;
use super::context::{Flash, redirect};
use super::form::Form;
use crate::engine::queue::QueueSettings;
use crate::engine::queue::eta::{Basis, QueueEta};
use crate::store::QueueOrder;
use crate::web::AppState;

#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// What the card shows.
#[derive(Serialize)]
pub struct View {
    choices: Vec<Choice>,
}

fn label(order: QueueOrder) -> &'static str {
    match order {
        QueueOrder::OldestFirst => "oldest first",
        QueueOrder::LargestSavingFirst => "largest predicted saving first",
        QueueOrder::SmallestFirst => "smallest file first",
    }
}

pub fn view(state: &AppState) -> View {
    let current = state.engine.queue.settings().order;
    View {
        choices: QueueOrder::ALL
            .into_iter()
            .map(|o| Choice {
                value: o.code(),
                label: label(o),
                selected: o == current,
            })
            .collect(),
    }
}

/// `POST /system/queue`.
pub async fn save(State(state): State<AppState>, form: Form) -> Result<Response, PageError> {
    let order = QueueOrder::ALL
        .into_iter()
        .find(|o| form.get("order") == Some(o.code()))
        .ok_or_else(|| PageError::new(StatusCode::BAD_REQUEST, "Choose a queue order."))?;
    let saved = state.engine.queue.set(QueueSettings { order }).await?;
    let text = format!(
        "Queue order saved: {}; higher priorities still go first.",
        label(saved.order)
    );
    Ok(redirect(&state, "/system", Flash::new(text)))
}

/// The dashboard's line.
#[derive(Serialize)]
pub struct EtaLine {
    pub text: String,
    pub hint: String,
}

/// "about 3 h 20 min", "about 5 min", "under a minute".
fn about(seconds: u64) -> String {
    let minutes = seconds.div_ceil(60);
    match minutes {
        0 => "nothing left".into(),
        1 if seconds < 60 => "under a minute".into(),
        m if m < 60 => format!("about {m} min"),
        m if m < 48 * 60 => match m % 60 {
            0 => format!("about {} h", m / 60),
            r => format!("about {} h {r} min", m / 60),
        },
        m => format!("about {} days", m / (24 * 60)),
    }
}

/// "~14 GiB", "~350 MiB".
fn bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v >= 10.0 || unit == 0 {
        format!("~{v:.0} {}", UNITS[unit])
    } else {
        format!("~{v:.1} {}", UNITS[unit])
    }
}

pub fn eta_line(eta: &QueueEta) -> EtaLine {
    let text = if eta.queued == 0 {
        "Nothing queued".to_string()
    } else {
        format!(
            "{} queued · {} · {} to save",
            eta.queued,
            about(eta.estimated_seconds),
            bytes(eta.estimated_savings_bytes)
        )
    };
    let basis = match eta.basis {
        Basis::Measured => "Estimated from measured encode speed",
        Basis::Default => "Estimated from a default speed",
    };
    EtaLine {
        text,
        hint: format!("{basis}: {}", eta.basis_detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes_read_like_the_dashboard() {
        let cases = [
            (0, "nothing left"),
            (30, "under a minute"),
            (300, "about 5 min"),
            (12_000, "about 3 h 20 min"),
            (7_200, "about 2 h"),
            (3 * 86_400, "about 3 days"),
        ];
        for (s, text) in cases {
            assert_eq!(about(s), text, "{s}");
        }
        assert_eq!(bytes(14 * 1024 * 1024 * 1024), "~14 GiB");
        assert_eq!(bytes(1536 * 1024), "~1.5 MiB");
        let eta = QueueEta {
            queued: 12,
            estimated_seconds: 12_000,
            estimated_savings_bytes: 14 * 1024 * 1024 * 1024,
            basis: Basis::Measured,
            basis_detail: "measured from 3 encode(s)".into(),
        };
        let line = eta_line(&eta);
        assert_eq!(line.text, "12 queued · about 3 h 20 min · ~14 GiB to save");
        assert!(line.hint.contains("measured from 3"), "{}", line.hint);
    }
}
