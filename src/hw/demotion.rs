//! A hardware encoder taken out of use: one that detection verified but that then failed
//! several jobs in a row (its ffmpeg failed, stalled, or wrote output that did not verify).
//! Until the hardware is probed again, jobs skip it and go to the next verified backend (the
//! CPU in the end) instead of failing on it first every time. The engine decides when to
//! demote (`engine::hardware`); this is the record the API, the hardware page and the stored
//! detection result share, and the test selection uses to skip it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::Backend;

/// One demoted encoder on one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Demotion {
    pub backend: Backend,
    /// Render node or video node, e.g. `/dev/dri/renderD128`.
    pub device: String,
    /// ffmpeg encoder, e.g. `hevc_vaapi`.
    pub encoder: String,
    /// Failed jobs in a row that led to it.
    pub failures: u32,
    /// The last failure's stable code (`encoder_failed`, `encoder_stalled`, `verify_failed`).
    pub reason: String,
    /// The last failure, in words.
    pub summary: String,
    /// RFC 3339 UTC time of the demotion.
    pub since: String,
}

impl Demotion {
    /// Whether this is the demotion of `encoder` on `device` of `backend`.
    pub fn is(&self, backend: Backend, device: &str, encoder: &str) -> bool {
        self.backend == backend && self.device == device && self.encoder == encoder
    }
}

/// Whether `encoder` on `device` of `backend` is demoted in `list`.
pub fn is_demoted(list: &[Demotion], backend: Backend, device: &str, encoder: &str) -> bool {
    list.iter().any(|d| d.is(backend, device, encoder))
}
