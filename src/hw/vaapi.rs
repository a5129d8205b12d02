//! Proves what each VAAPI render node can encode. Per node: one verbose device initialisation
//! names the libva driver (and stops early when the node cannot be opened or has no driver);
//! then, for each of h264/hevc/av1 `_vaapi` that ffmpeg lists, a five-frame test encode of a
//! generated 256×256 picture uploaded as NV12, with the quality passed exactly as a job passes
//! it (`RateControl::quality_option`). The test encodes run at `-v warning`, so an option the
//! encoder ignored ("… has not been used for any stream", or vaapi_encode.c's "No quality
//! level set; using default") fails the attempt instead of passing a probe whose jobs would
//! all encode at the default quality. The attempt ladder per encoder: ICQ first
//! (quality-driven, closest to CRF); "no encode entrypoint" → retry with `-low_power 1`
//! (Jasper/Elkhart Lake and newer Intel expose HEVC/H.264 only as the VDEnc low-power
//! entrypoint); any other failure of an ICQ encode → retry with CQP: low-power Intel encoders
//! without HuC firmware have no ICQ and fail it with a generic error, not "RC mode not
//! supported" (intel/media-driver#1306: Jasper Lake does only CQP without GuC/HuC; #618: Ice
//! Lake's low-power ICQ fails inside the driver). A verified HEVC/AV1 encoder gets one more
//! run from P010 to prove 10-bit (Main10). VP9 is not probed: no profile encodes to it. Every
//! run is in the probe log. Argument vectors are pure functions, golden-tested below.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ProbeLogEntry;
use super::classify::{Failure, Problem, classify, parse_driver};
use super::discover::RenderNode;
use super::probe_log::{self, Step};
use crate::model::{RateControl, VideoCodec};

/// The VAAPI encoders we probe, in the order the probe runs them: the codecs jobs encode to.
pub const VAAPI_ENCODERS: [(VideoCodec, &str); 3] = [
    (VideoCodec::Hevc, "hevc_vaapi"),
    (VideoCodec::H264, "h264_vaapi"),
    (VideoCodec::Av1, "av1_vaapi"),
];
/// Device initialisation loads the driver and exits.
const INIT_TIMEOUT: Duration = Duration::from_secs(15);
/// Five small frames; a hung driver is the only way to take longer.
const TEST_ENCODE_TIMEOUT: Duration = Duration::from_secs(30);
/// Quality used by the test encodes; valid for ICQ and CQP on every codec's scale (QP and ICQ
/// factor 1–51, AV1 q_idx 0–255).
const PROBE_QUALITY: &str = "25";
/// Attempts per encoder: normal, low-power, and a CQP retry of either.
const MAX_ATTEMPTS: usize = 4;

/// One `_vaapi` encoder on one node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VaapiEncoder {
    pub codec: VideoCodec,
    pub encoder: String,
    /// A test encode succeeded.
    pub verified: bool,
    /// It only works with `-low_power 1`.
    pub low_power: bool,
    /// A 10-bit (P010, Main10) test encode also succeeded.
    pub ten_bit: bool,
    /// The rate-control mode the verified encode used (ICQ preferred, else CQP).
    pub rate_control: Option<RateControl>,
    /// Why it is not verified.
    pub failure: Option<Failure>,
}

/// A render node and what it proved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VaapiDevice {
    pub node: RenderNode,
    /// libva driver name: iHD, i965, radeonsi…
    pub driver: Option<String>,
    /// The driver's own description, with its version.
    pub driver_vendor: Option<String>,
    /// Why the device could not be used at all (then `encoders` is empty).
    pub failure: Option<Failure>,
    pub encoders: Vec<VaapiEncoder>,
}

impl VaapiDevice {
    pub fn verified(&self, codec: VideoCodec) -> Option<&VaapiEncoder> {
        self.encoders
            .iter()
            .find(|e| e.codec == codec && e.verified)
    }
}

/// How one test encode is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub low_power: bool,
    pub rate_control: RateControl,
    pub ten_bit: bool,
}

fn os(items: &[&str]) -> Vec<OsString> {
    items.iter().map(OsString::from).collect()
}

fn device_spec(node: &str) -> OsString {
    let mut s = OsString::from("vaapi=va:");
    s.push(node);
    s
}

/// Initialise the device verbosely so libva names its driver; one null frame, no encode.
pub fn init_args(node: &str) -> Vec<OsString> {
    let mut a = os(&[
        "-hide_banner",
        "-nostdin",
        "-v",
        "verbose",
        "-init_hw_device",
    ]);
    a.push(device_spec(node));
    a.extend(os(&[
        "-f",
        "lavfi",
        "-i",
        "nullsrc=s=64x64:r=25",
        "-frames:v",
        "1",
        "-f",
        "null",
        "-",
    ]));
    a
}

/// A five-frame test encode with `encoder` (for `codec`) on `node`, at `-v warning` so that
/// ignored options are reported.
pub fn test_encode_args(
    node: &str,
    (codec, encoder): (VideoCodec, &str),
    attempt: Attempt,
) -> Vec<OsString> {
    let mut a = os(&[
        "-hide_banner",
        "-nostdin",
        "-v",
        "warning",
        "-init_hw_device",
    ]);
    a.push(device_spec(node));
    a.extend(os(&[
        "-filter_hw_device",
        "va",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=256x256:rate=25",
        "-frames:v",
        "5",
        "-vf",
        if attempt.ten_bit {
            "format=p010,hwupload"
        } else {
            "format=nv12,hwupload"
        },
        "-c:v",
        encoder,
    ]));
    if attempt.ten_bit {
        // HEVC names its 10-bit profile main10; AV1's main profile already covers 10-bit.
        a.extend(os(&[
            "-profile:v",
            if encoder.starts_with("hevc") {
                "main10"
            } else {
                "main"
            },
        ]));
    }
    if attempt.low_power {
        a.extend(os(&["-low_power", "1"]));
    }
    let rc = attempt.rate_control;
    a.extend(os(&[
        "-rc_mode",
        rc.as_str(),
        rc.quality_option(codec),
        PROBE_QUALITY,
    ]));
    if rc == RateControl::Qvbr {
        a.extend(os(&["-b:v", "1M", "-maxrate", "1M"]));
    }
    a.extend(os(&["-f", "null", "-"]));
    a
}

/// Verify one node: driver, then each listed encoder.
pub async fn verify_device(
    log: &mut Vec<ProbeLogEntry>,
    ffmpeg: &Path,
    node: RenderNode,
    listed: &[String],
) -> VaapiDevice {
    let path = node.path.clone();
    let step = |name: String| Step {
        backend: "vaapi",
        device: Some(&path),
        name,
    };
    let init = probe_log::run(
        log,
        ffmpeg,
        step("driver".into()),
        &init_args(&path),
        INIT_TIMEOUT,
    )
    .await;
    let driver = parse_driver(&init.stderr);
    let mut device = VaapiDevice {
        driver: driver.name,
        driver_vendor: driver.vendor,
        failure: classify(&init.stderr, init.ok, node.access).err(),
        encoders: Vec::new(),
        node,
    };
    if device.failure.is_some() {
        return device;
    }
    for (codec, encoder) in VAAPI_ENCODERS {
        if listed.iter().any(|l| l == encoder) {
            let e = verify_encoder(log, ffmpeg, &path, device.node.access, (codec, encoder)).await;
            device.encoders.push(e);
        }
    }
    device
}

async fn verify_encoder(
    log: &mut Vec<ProbeLogEntry>,
    ffmpeg: &Path,
    path: &str,
    access: super::discover::NodeAccess,
    (codec, encoder): (VideoCodec, &str),
) -> VaapiEncoder {
    let mut attempt = Attempt {
        low_power: false,
        rate_control: RateControl::Icq,
        ten_bit: false,
    };
    let mut result = VaapiEncoder {
        codec,
        encoder: encoder.to_string(),
        verified: false,
        low_power: false,
        ten_bit: false,
        rate_control: None,
        failure: None,
    };
    for _ in 0..MAX_ATTEMPTS {
        let outcome = run_attempt(log, ffmpeg, path, access, (codec, encoder), attempt).await;
        let failure = match outcome {
            Ok(()) => {
                result.verified = true;
                result.low_power = attempt.low_power;
                result.rate_control = Some(attempt.rate_control);
                result.failure = None;
                break;
            }
            Err(f) => f,
        };
        let retry = match next_attempt(attempt, failure.problem) {
            Some(next) => {
                attempt = next;
                true
            }
            None => false,
        };
        result.failure = Some(failure);
        if !retry {
            break;
        }
    }
    if result.verified && matches!(codec, VideoCodec::Hevc | VideoCodec::Av1) {
        attempt.ten_bit = true;
        result.ten_bit = run_attempt(log, ffmpeg, path, access, (codec, encoder), attempt)
            .await
            .is_ok();
    }
    result
}

async fn run_attempt(
    log: &mut Vec<ProbeLogEntry>,
    ffmpeg: &Path,
    path: &str,
    access: super::discover::NodeAccess,
    (codec, encoder): (VideoCodec, &str),
    attempt: Attempt,
) -> Result<(), Failure> {
    let mut name = format!("test_encode:{encoder}:{}", attempt.rate_control.as_str());
    if attempt.low_power {
        name.push_str(":low_power");
    }
    if attempt.ten_bit {
        name.push_str(":10bit");
    }
    let step = Step {
        backend: "vaapi",
        device: Some(path),
        name,
    };
    let args = test_encode_args(path, (codec, encoder), attempt);
    let out = probe_log::run(log, ffmpeg, step, &args, TEST_ENCODE_TIMEOUT).await;
    classify(&out.stderr, out.ok, access)
}

/// The attempt after one that failed with `problem`, or `None` when nothing else can work.
/// Pure: the ladder the module documentation describes.
pub fn next_attempt(attempt: Attempt, problem: Problem) -> Option<Attempt> {
    match problem {
        Problem::EntrypointUnsupported if !attempt.low_power => Some(Attempt {
            low_power: true,
            ..attempt
        }),
        // The device, driver or build cannot do it whatever the rate control.
        Problem::NotInBuild
        | Problem::NoDevice
        | Problem::PermissionDenied
        | Problem::DriverMissing
        | Problem::ProfileUnsupported
        | Problem::EntrypointUnsupported => None,
        // Anything else may be the rate control: retry with CQP, which every driver has.
        Problem::RateControlUnsupported | Problem::OptionIgnored | Problem::Failed
            if attempt.rate_control != RateControl::Cqp =>
        {
            Some(Attempt {
                rate_control: RateControl::Cqp,
                ..attempt
            })
        }
        Problem::RateControlUnsupported | Problem::OptionIgnored | Problem::Failed => None,
    }
}

#[cfg(test)]
#[path = "vaapi_tests.rs"]
mod tests;
