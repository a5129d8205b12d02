//! Pure readers of what ffmpeg prints while it opens a VAAPI device and encoder: why a test
//! encode failed (a typed [`Problem`] with a stable code, never a string passed around), which
//! libva driver was loaded, and which rate-control modes the driver offers. Messages are
//! ffmpeg's own (`hwcontext_vaapi.c`, `vaapi_encode.c`, 4.x and 5.x+ spellings) and libva's;
//! tests run over recorded and documented stderr in tests/fixtures/vaapi/.
//!
//! ffmpeg prints the same "No VA display found" for a missing node and for one the server may
//! not open, so the caller passes what discovery saw when it opened the node ([`NodeAccess`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::discover::NodeAccess;
use crate::model::RateControl;

/// Why a VAAPI step failed. `code()` is what the API, UI and logs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// This ffmpeg was built without VAAPI or without this encoder.
    NotInBuild,
    /// The render node does not exist (or is not a VA-capable DRM device).
    NoDevice,
    /// The node exists but this process may not open it (group `render`/`video`).
    PermissionDenied,
    /// libva found no usable driver (`va_openDriver() returns -1`).
    DriverMissing,
    /// The GPU cannot encode this codec/profile at all.
    ProfileUnsupported,
    /// The profile exists but has no encode entrypoint, even in low-power mode.
    EntrypointUnsupported,
    /// The driver has none of the rate-control modes we use.
    RateControlUnsupported,
    /// ffmpeg encoded but ignored an option we pass (the quality): jobs would encode at the
    /// encoder's default quality.
    OptionIgnored,
    /// Anything else; the detail holds ffmpeg's message.
    Failed,
}

impl Problem {
    pub fn code(self) -> &'static str {
        match self {
            Problem::NotInBuild => "not_in_build",
            Problem::NoDevice => "no_device",
            Problem::PermissionDenied => "permission_denied",
            Problem::DriverMissing => "driver_missing",
            Problem::ProfileUnsupported => "profile_unsupported",
            Problem::EntrypointUnsupported => "entrypoint_unsupported",
            Problem::RateControlUnsupported => "rate_control_unsupported",
            Problem::OptionIgnored => "option_ignored",
            Problem::Failed => "failed",
        }
    }

    /// One sentence for people, with the usual fix.
    pub fn explain(self) -> &'static str {
        match self {
            Problem::NotInBuild => "this ffmpeg was built without VAAPI support for it",
            Problem::NoDevice => "the render node does not exist or is not a VAAPI device",
            Problem::PermissionDenied => {
                "the render node exists but may not be opened: run the server in the group \
                 that owns it (usually `render`, by numeric GID in containers)"
            }
            Problem::DriverMissing => {
                "libva found no working driver for this GPU (install intel-media-driver for \
                 iHD, the i965 driver for pre-Broadwell Intel, Mesa's VA driver for AMD)"
            }
            Problem::ProfileUnsupported => "the GPU cannot encode this codec",
            Problem::EntrypointUnsupported => {
                "the GPU has no encoder for this codec (decode only), in normal or low-power mode"
            }
            Problem::RateControlUnsupported => "the driver offers neither ICQ nor CQP",
            Problem::OptionIgnored => {
                "the encoder ignored the quality option, so it would encode at its default quality"
            }
            Problem::Failed => "ffmpeg failed; see the probe log",
        }
    }
}

/// A failed step: what went wrong, ffmpeg's own line, and for rate-control failures the
/// modes the driver said it has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Failure {
    pub problem: Problem,
    /// The line of stderr the classification rests on.
    pub detail: String,
    /// Rate-control modes the driver listed ("supported modes: CQP, CBR, VBR").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_rc: Vec<RateControl>,
}

/// What ffmpeg prints when it did not apply an option: fftools for an encoder option no
/// opened encoder has ("Codec AVOption qp (…) specified for output file #0 (…) has not been
/// used for any stream", a warning in every version), and vaapi_encode.c when no quality
/// reached the rate control ("No quality level set; using default (%d).").
const IGNORED_OPTION: [&str; 2] = [
    "has not been used for any stream",
    "No quality level set; using default",
];

/// Classify a VAAPI step from its exit status and stderr. Failure is judged by the exit status;
/// a run that exited 0 still fails when ffmpeg says it ignored an option (the test encodes run
/// at `-v warning` for this). The text only says why it failed.
pub fn classify(stderr: &str, exit_ok: bool, access: NodeAccess) -> Result<(), Failure> {
    if exit_ok {
        return match stderr
            .lines()
            .find(|l| IGNORED_OPTION.iter().any(|n| l.contains(n)))
        {
            Some(line) => Err(Failure {
                problem: Problem::OptionIgnored,
                detail: strip_context(line).to_string(),
                supported_rc: vec![],
            }),
            None => Ok(()),
        };
    }
    let find = |needles: &[&str]| {
        stderr
            .lines()
            .find(|l| needles.iter().any(|n| l.contains(n)))
            .map(|l| strip_context(l).to_string())
    };
    let fail = |problem, detail: String| {
        Err(Failure {
            problem,
            detail,
            supported_rc: vec![],
        })
    };
    if let Some(line) = find(&["Unknown encoder", "Encoder not found"]) {
        return fail(Problem::NotInBuild, line);
    }
    if let Some(line) = find(&["No VA display found", "as DRM device node"]) {
        let denied = access == NodeAccess::PermissionDenied || stderr.contains("Permission denied");
        let problem = if denied {
            Problem::PermissionDenied
        } else {
            Problem::NoDevice
        };
        return fail(problem, line);
    }
    if let Some(line) = find(&["Cannot open a VA display from DRM device"]) {
        return fail(Problem::NoDevice, line);
    }
    if let Some(line) = find(&[
        "Failed to initialise VAAPI connection",
        "va_openDriver() returns -1",
        "_drv_video.so init failed",
    ]) {
        return fail(Problem::DriverMissing, line);
    }
    if let Some(line) = find(&[
        "No usable encoding profile found",
        "Encoding profile not found",
    ]) {
        return fail(Problem::ProfileUnsupported, line);
    }
    if let Some(line) = find(&[
        "No usable encoding entrypoint found",
        "Encoding entrypoint not found",
    ]) {
        return fail(Problem::EntrypointUnsupported, line);
    }
    if let Some(line) = find(&[
        "RC mode (supported modes:",
        "compatible with selected options",
    ]) {
        return Err(Failure {
            problem: Problem::RateControlUnsupported,
            supported_rc: parse_supported_rc(&line),
            detail: line,
        });
    }
    let detail = stderr
        .lines()
        .map(strip_context)
        .find(|l| !l.trim().is_empty())
        .unwrap_or("ffmpeg failed without a message")
        .to_string();
    fail(Problem::Failed, detail)
}

/// ffmpeg prefixes lines with the logging context ("[hevc_vaapi @ 0x55d…] "); drop it so
/// details do not carry pointer values.
fn strip_context(line: &str) -> &str {
    let line = line.trim();
    match line.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((_, rest)) => rest.trim(),
        None => line,
    }
}

/// The modes in "… (supported modes: CQP, CBR, VBR)." that we use, in the driver's order.
pub fn parse_supported_rc(line: &str) -> Vec<RateControl> {
    let Some((_, rest)) = line.split_once("supported modes:") else {
        return Vec::new();
    };
    rest.trim_end_matches(|c: char| c == '.' || c == ')' || c.is_whitespace())
        .split(',')
        .filter_map(RateControl::from_ffmpeg)
        .collect()
}

/// What ffmpeg's verbose device initialisation says about the libva driver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverInfo {
    /// libva's short name: "iHD", "i965", "radeonsi"…
    pub name: Option<String>,
    /// The driver's vendor string ("Intel iHD driver for Intel(R) Gen Graphics - 23.1.1 ()").
    pub vendor: Option<String>,
}

/// Read the driver from `-v verbose -init_hw_device vaapi=…` output: libva's "Trying to open
/// …/iHD_drv_video.so" or "requested driver 'iHD'", and ffmpeg's "VAAPI driver: …." line.
/// The last "Trying to open" wins, because libva tries candidates in turn.
pub fn parse_driver(stderr: &str) -> DriverInfo {
    let mut info = DriverInfo::default();
    for line in stderr.lines().map(strip_context) {
        if let Some((_, path)) = line.split_once("Trying to open ") {
            let file = path.trim().rsplit('/').next().unwrap_or_default();
            if let Some(name) = file.strip_suffix("_drv_video.so") {
                info.name = Some(name.to_string());
            }
        } else if let Some((_, rest)) = line.split_once("requested driver '") {
            if let Some((name, _)) = rest.split_once('\'') {
                info.name = Some(name.to_string());
            }
        } else if let Some(vendor) = line.strip_prefix("VAAPI driver: ") {
            info.vendor = Some(vendor.trim().trim_end_matches('.').to_string());
        }
    }
    if info.name.is_none()
        && let Some(v) = &info.vendor
    {
        // Without libva's info lines (some builds route them elsewhere) the vendor string
        // still names the well-known drivers.
        info.name = if v.contains("iHD") {
            Some("iHD".into())
        } else if v.contains("i965") {
            Some("i965".into())
        } else if v.contains("Mesa Gallium") && v.contains("AMD") {
            Some("radeonsi".into())
        } else {
            None
        };
    }
    info
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
