//! System: encoder backends and their probe log, live resources.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::hw::{ProbeLogEntry, V4l2Device, VaapiDevice, select_backend, verified_backends};
use crate::model::VideoCodec;
use crate::web::AppState;
use crate::web::error::{ApiError, ApiResult};
use crate::web::monitor::Resources;

#[derive(Serialize, ToSchema)]
pub struct CodecSupport {
    pub codec: String,
    pub encoder: String,
    pub verified: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Backend {
    /// vaapi | v4l2m2m | cpu
    pub kind: String,
    pub device: Option<String>,
    pub driver: Option<String>,
    pub available: bool,
    pub codecs: Vec<CodecSupport>,
}

#[derive(Serialize, ToSchema)]
pub struct Hardware {
    pub backends: Vec<Backend>,
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

/// Encoder backends and the codec matrix.
#[utoipa::path(get, path = "/system/hardware", tag = "system", responses((status = 200, body = Hardware)))]
pub async fn hardware(State(state): State<AppState>) -> Json<Hardware> {
    Json(hardware_view(&state))
}

/// The backends and codec matrix; shared by the API and the hardware page.
pub fn hardware_view(state: &AppState) -> Hardware {
    let Some(caps) = state.engine.capabilities() else {
        return Hardware {
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
    .filter(|c| !verified_backends(*c, &caps).is_empty())
    .map(|c| (c.as_str().to_string(), select_backend(c, &caps).to_string()))
    .collect();
    let mut backends = vec![Backend {
        kind: "cpu".into(),
        device: None,
        driver: None,
        available: !codecs.is_empty(),
        codecs,
    }];
    for d in &caps.vaapi.devices {
        backends.push(Backend {
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
        backends.push(Backend {
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
    Hardware {
        backends,
        selected,
        probed_at: Some(caps.probed_at),
        ffmpeg_version: caps.ffmpeg_version,
        vaapi_devices: caps.vaapi.devices,
        vaapi_unavailable_reason: caps.vaapi.unavailable_reason,
        v4l2_devices: caps.v4l2.devices,
        v4l2_unavailable_reason: caps.v4l2.unavailable_reason,
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProbeLog {
    entries: Vec<ProbeLogEntry>,
}

/// Every probe command with its real output.
#[utoipa::path(get, path = "/system/hardware/probe-log", tag = "system", responses((status = 200, body = ProbeLog)))]
pub async fn probe_log(State(state): State<AppState>) -> Json<ProbeLog> {
    Json(ProbeLog {
        entries: state
            .engine
            .capabilities()
            .map(|c| c.probe_log)
            .unwrap_or_default(),
    })
}

/// CPU, load, memory, GPU busy, temperatures, uptime and this process's RSS.
#[utoipa::path(get, path = "/system/resources", tag = "system", responses((status = 200, body = Resources)))]
pub async fn resources(State(state): State<AppState>) -> ApiResult<Json<Resources>> {
    Ok(Json(sample_resources(&state).await?))
}

/// A resource sample; shared by the API and the system page.
pub async fn sample_resources(state: &AppState) -> ApiResult<Resources> {
    let monitor = state.monitor.clone();
    let uptime = state.started.elapsed().as_secs();
    let mut sample = tokio::task::spawn_blocking(move || {
        monitor
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sample(uptime)
    })
    .await
    .map_err(ApiError::internal)?;
    // The board's LM75 is read over i2c-dev, not hwmon, so sysinfo does not list it.
    if let Some((sensor, celsius)) = state.engine.board_temperature() {
        sample.temperatures.push(crate::web::monitor::Temperature {
            sensor: sensor.to_string(),
            celsius,
        });
    }
    Ok(sample)
}
