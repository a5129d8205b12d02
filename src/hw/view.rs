//! The hardware as the API and the hardware page show it: every backend with its device,
//! driver and per-codec test results, which backend each codec is encoded on, and the encoders
//! demoted after failed jobs (which jobs skip until the next probe). Pure: a function of the
//! detected capabilities and the demotions.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::demotion::{Demotion, is_demoted};
use super::{Capabilities, V4l2Device, VaapiDevice, select_backend_avoiding, verified_backends};
use crate::model::{Backend, VideoCodec};

#[derive(Serialize, ToSchema)]
pub struct CodecSupport {
    pub codec: String,
    pub encoder: String,
    pub verified: bool,
    /// Taken out of use after failed jobs, until the next probe.
    pub demoted: bool,
}

/// Named apart from `model::Backend` (the enum `Demotion` and the encode stats use): two
/// schemas named `Backend` would make one of them describe the other's values.
#[derive(Serialize, ToSchema)]
#[schema(as = HardwareBackend)]
pub struct BackendView {
    /// vaapi | v4l2m2m | cpu
    pub kind: String,
    pub device: Option<String>,
    pub driver: Option<String>,
    pub available: bool,
    pub codecs: Vec<CodecSupport>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Hardware)]
pub struct HardwareView {
    pub backends: Vec<BackendView>,
    /// codec → backend kind used for it
    pub selected: BTreeMap<String, String>,
    /// null until the first detection finished
    pub probed_at: Option<String>,
    pub ffmpeg_version: Option<String>,
    /// VAAPI render nodes with their driver and per-encoder test results.
    pub vaapi_devices: Vec<VaapiDevice>,
    /// Why no VAAPI encoder can be used (null when one can, or before detection).
    pub vaapi_unavailable_reason: Option<String>,
    /// V4L2 video nodes: role, formats on both queues, frame sizes and native test encodes.
    pub v4l2_devices: Vec<V4l2Device>,
    /// Why no V4L2 encoder can be used for jobs (null when one can, or before detection).
    pub v4l2_unavailable_reason: Option<String>,
    /// Hardware encoders that failed jobs in a row: jobs use the next backend until the
    /// hardware is probed again (`POST /api/system/hardware/probe`).
    pub demoted: Vec<Demotion>,
    /// A new probe is running.
    pub probing: bool,
}

/// The backends and codec matrix of `caps` (`None`: detection has not finished), with the
/// encoders in `demoted` marked and left out of the selection.
pub fn view(caps: Option<&Capabilities>, demoted: &[Demotion], probing: bool) -> HardwareView {
    let Some(caps) = caps else {
        return HardwareView {
            backends: Vec::new(),
            selected: BTreeMap::new(),
            probed_at: None,
            ffmpeg_version: None,
            vaapi_devices: Vec::new(),
            vaapi_unavailable_reason: None,
            v4l2_devices: Vec::new(),
            v4l2_unavailable_reason: None,
            demoted: demoted.to_vec(),
            probing,
        };
    };
    let codecs: Vec<CodecSupport> = caps
        .cpu_encoders
        .iter()
        .map(|e| CodecSupport {
            codec: e.codec.as_str().to_string(),
            encoder: e.encoder.clone(),
            verified: e.verified,
            demoted: false,
        })
        .collect();
    let selected = [
        VideoCodec::Hevc,
        VideoCodec::Av1,
        VideoCodec::H264,
        VideoCodec::Vp9,
    ]
    .into_iter()
    .filter(|c| !verified_backends(*c, caps).is_empty())
    .map(|c| {
        let backend = select_backend_avoiding(c, false, caps, demoted);
        (c.as_str().to_string(), backend.to_string())
    })
    .collect();
    let mut backends = vec![BackendView {
        kind: "cpu".into(),
        device: None,
        driver: None,
        available: !codecs.is_empty(),
        codecs,
    }];
    for d in &caps.vaapi.devices {
        backends.push(BackendView {
            kind: "vaapi".into(),
            device: Some(d.node.path.clone()),
            driver: d.driver.clone(),
            available: d.encoders.iter().any(|e| e.verified),
            codecs: d
                .encoders
                .iter()
                .map(|e| CodecSupport {
                    codec: e.codec.as_str().to_string(),
                    encoder: e.encoder.clone(),
                    verified: e.verified,
                    demoted: is_demoted(demoted, Backend::Vaapi, &d.node.path, &e.encoder),
                })
                .collect(),
        });
    }
    // Encoder nodes only; a FWHT or VP8 encoder is listed with its ffmpeg-less format, and is
    // available for jobs only when `select` would pick it.
    for d in caps.v4l2.devices.iter().filter(|d| !d.encoders.is_empty()) {
        backends.push(BackendView {
            kind: "v4l2m2m".into(),
            device: Some(d.path.clone()),
            driver: Some(d.driver.clone()),
            available: d.encoders.iter().any(|e| {
                e.codec
                    .is_some_and(|c| caps.v4l2.usable(c).is_some_and(|(u, _)| u.path == d.path))
            }),
            codecs: d
                .encoders
                .iter()
                .map(|e| CodecSupport {
                    codec: e
                        .codec
                        .map_or_else(|| e.format.to_lowercase(), |c| c.as_str().to_string()),
                    encoder: e.ffmpeg_encoder.clone().unwrap_or_default(),
                    verified: e.verified,
                    demoted: e
                        .ffmpeg_encoder
                        .as_deref()
                        .is_some_and(|f| is_demoted(demoted, Backend::V4l2m2m, &d.path, f)),
                })
                .collect(),
        });
    }
    HardwareView {
        backends,
        selected,
        probed_at: Some(caps.probed_at.clone()),
        ffmpeg_version: caps.ffmpeg_version.clone(),
        vaapi_devices: caps.vaapi.devices.clone(),
        vaapi_unavailable_reason: caps.vaapi.unavailable_reason.clone(),
        v4l2_devices: caps.v4l2.devices.clone(),
        v4l2_unavailable_reason: caps.v4l2.unavailable_reason.clone(),
        demoted: demoted.to_vec(),
        probing,
    }
}
