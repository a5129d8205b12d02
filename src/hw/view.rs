//! The hardware as the API and the hardware page show it: every backend with its device,
//! driver and per-codec test results, and which backend each codec is encoded on. Pure: a
//! function of the detected capabilities.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::{Capabilities, V4l2Device, VaapiDevice, select_backend, verified_backends};
use crate::model::VideoCodec;

#[derive(Serialize, ToSchema)]
pub struct CodecSupport {
    pub codec: String,
    pub encoder: String,
    pub verified: bool,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Backend)]
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
}

/// The backends and codec matrix of `caps` (`None`: detection has not finished).
pub fn view(caps: Option<&Capabilities>) -> HardwareView {
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
        };
    };
    let codecs: Vec<CodecSupport> = caps
        .cpu_encoders
        .iter()
        .map(|e| CodecSupport {
            codec: e.codec.as_str().to_string(),
            encoder: e.encoder.clone(),
            verified: e.verified,
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
    .map(|c| (c.as_str().to_string(), select_backend(c, caps).to_string()))
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
    }
}
