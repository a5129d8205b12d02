//! Which backend encodes a job, and the CPU fallback. Detection (`hw`) proves encoders with
//! test encodes; a job whose target codec (and bit depth) has a verified VAAPI or V4L2 M2M
//! encoder is encoded on it (VAAPI first, see `hw::select_backend_for`). When that encode fails for a reason of the encoder's own (not a full
//! disk or a changed source, which the CPU would meet too), the job is encoded once more on the
//! CPU, and the job log says why. Choosing is pure ([`hardware_choice`]); running is
//! [`Engine::encode_job`].

use std::ffi::OsString;
use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::Engine;
use super::dispatch::remove_temp;
use super::encode::{EncodeJob, Encoded};
use super::faults::{self, FileId};
use super::pipeline::Outcome;
use crate::hw::{self, Capabilities};
use crate::media::VideoStream;
use crate::media::args;
use crate::media::args_v4l2::{V4l2Options, build_v4l2_args};
use crate::media::args_vaapi::{VaapiOptions, build_vaapi_args};
use crate::media::plan::Plan;
use crate::media::run::RunError;
use crate::model::{Backend, JobId};

/// A hardware encode the capabilities allow for a plan.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HwChoice {
    pub backend: Backend,
    /// ffmpeg encoder name, e.g. `hevc_vaapi`.
    pub encoder: String,
    /// Device node, e.g. `/dev/dri/renderD128`.
    pub device: String,
    pub argv: Vec<OsString>,
}

/// The hardware encode for `plan`, when detection verified one for its target codec and bit
/// depth and the plan is one the hardware path can express; `None` means the CPU.
pub(super) fn hardware_choice(
    plan: &Plan,
    source: Option<&VideoStream>,
    input: &Path,
    temp: &Path,
    caps: &Capabilities,
) -> Option<HwChoice> {
    let video = plan.video.as_ref()?;
    let codec = video.encoder.codec();
    match hw::select_backend_for(codec, video.ten_bit, caps) {
        Backend::Vaapi => {
            let (device, encoder) = hw::vaapi_choice(codec, video.ten_bit, caps)?;
            let opts = VaapiOptions {
                device: device.node.path.clone().into(),
                rate_control: encoder.rate_control?,
                low_power: encoder.low_power,
                max_bitrate: None,
            };
            let argv = build_vaapi_args(plan, input, temp, &opts).ok()?;
            Some(HwChoice {
                backend: Backend::Vaapi,
                encoder: encoder.encoder.clone(),
                device: device.node.path.clone(),
                argv,
            })
        }
        Backend::V4l2m2m => {
            let (device, encoder) = caps.v4l2.usable(codec)?;
            let source = source?;
            let input_formats = device.raw_formats();
            let format = ["YU12", "NV12"]
                .into_iter()
                .find(|f| input_formats.iter().any(|i| i == f))?;
            let opts = V4l2Options {
                width: source.width,
                height: source.height,
                fps: source.fps?,
                source_bitrate: source.bitrate,
                input_formats: input_formats.clone(),
                align: device.alignment(format).max(2),
            };
            let argv = build_v4l2_args(plan, input, temp, &opts).ok()?;
            Some(HwChoice {
                backend: Backend::V4l2m2m,
                encoder: encoder.ffmpeg_encoder.clone()?,
                device: device.path.clone(),
                argv,
            })
        }
        Backend::Cpu => None,
    }
}

/// Hardware encoders that can run a job beside the CPU ones: each render node with a verified
/// VAAPI encoder and each V4L2 device with a verified encoder ffmpeg drives counts as one
/// session (throughput mode adds them to its CPU jobs).
pub(super) fn hardware_sessions(caps: &Capabilities) -> u32 {
    let vaapi = caps
        .vaapi
        .devices
        .iter()
        .filter(|d| d.encoders.iter().any(|e| e.verified))
        .count();
    let v4l2 = caps
        .v4l2
        .devices
        .iter()
        .filter(|d| {
            d.encoders
                .iter()
                .any(|e| e.verified && e.ffmpeg_encoder.is_some())
        })
        .count();
    (vaapi + v4l2) as u32
}

/// One job's encode, as the pipeline describes it.
pub(super) struct EncodeSpec<'a> {
    pub id: JobId,
    pub plan: &'a Plan,
    /// The source's video stream, as probed (V4L2 sizes its encode from it).
    pub source: Option<&'a VideoStream>,
    pub input: &'a Path,
    pub temp: &'a Path,
    pub duration: f64,
    pub source_size: u64,
    pub source_id: FileId,
    pub min_saving_percent: u8,
}

/// How an encode went: done (with what), or the job's end.
pub(super) enum EncodeEnd {
    Done { backend: Backend, encoder: String },
    Stop(Outcome),
}

impl Engine {
    /// Encode on the hardware the capabilities choose, then on the CPU if that fails for the
    /// encoder's own reasons; or on the CPU straight away.
    pub(super) async fn encode_job(
        &self,
        spec: EncodeSpec<'_>,
        cancel: &CancellationToken,
        run_encoder: &mut Option<String>,
    ) -> EncodeEnd {
        let EncodeSpec {
            id,
            plan,
            input,
            temp,
            ..
        } = spec;
        let cpu_encoder = plan
            .video
            .as_ref()
            .map_or("copy", |v| v.encoder.as_str())
            .to_string();
        let hardware = self
            .capabilities()
            .and_then(|caps| hardware_choice(plan, spec.source, input, temp, &caps));
        let mut tries: Vec<(Backend, String, Option<String>, Vec<OsString>)> = Vec::new();
        if let Some(h) = hardware {
            tries.push((h.backend, h.encoder, Some(h.device), h.argv));
        }
        tries.push((
            Backend::Cpu,
            cpu_encoder,
            None,
            args::build_args(plan, input, temp),
        ));
        let last = tries.len() - 1;
        for (i, (backend, encoder, device, argv)) in tries.into_iter().enumerate() {
            *run_encoder = Some(encoder.clone());
            let line = argv
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ");
            self.job_log(id, "info", format!("ffmpeg {line}")).await;
            let job = EncodeJob {
                id,
                argv,
                duration: spec.duration,
                temp: temp.to_path_buf(),
                source_size: spec.source_size,
                min_saving_percent: if plan.video.is_some() {
                    spec.min_saving_percent
                } else {
                    0
                },
            };
            let failure = match self.encode(job, cancel).await {
                Ok(Encoded::Done) => return EncodeEnd::Done { backend, encoder },
                Ok(Encoded::Abandoned(why)) => return EncodeEnd::Stop(Outcome::Skipped(why)),
                Err(RunError::Cancelled) => {
                    return EncodeEnd::Stop(self.stopped(id, cancel).unwrap_or(Outcome::Cancelled));
                }
                Err(other) => other.explanation(),
            };
            let now = std::fs::metadata(input).ok().map(|m| FileId::of(&m));
            let free = temp
                .parent()
                .and_then(|d| crate::process::free_bytes(d).ok());
            let code = failure.code.clone();
            let classified = faults::classify_failure(failure, spec.source_id, now, free);
            // A full disk or a changed source would fail on the CPU too.
            if i == last || classified.code != code {
                return EncodeEnd::Stop(Outcome::Failed(classified));
            }
            remove_temp(temp);
            self.job_log(
                id,
                "warning",
                format!(
                    "{backend} encode with {encoder} on {} failed ({}: {}); encoding again on \
                     the CPU",
                    device.as_deref().unwrap_or("?"),
                    classified.code,
                    classified.summary
                ),
            )
            .await;
        }
        // `tries` always ends with the CPU, which returns above.
        EncodeEnd::Stop(Outcome::Failed(crate::model::Explanation::new(
            "internal_error",
            "No encoder was tried.",
            "The list of encoders for this job was empty.",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::{NodeAccess, RenderNode, VaapiDevice, VaapiEncoder, VaapiSummary};
    use crate::media::plan::{OutputContainer, Plan};
    use crate::model::{CpuEncoder, RateControl, VideoCodec};

    fn caps_with(codec: VideoCodec, verified: bool, ten_bit: bool) -> Capabilities {
        Capabilities {
            ffmpeg_version: None,
            cpu_encoders: Vec::new(),
            probe_log: Vec::new(),
            probed_at: String::new(),
            hwaccels: vec!["vaapi".into()],
            vaapi: VaapiSummary {
                listed_encoders: vec![format!("{}_vaapi", codec.as_str())],
                devices: vec![VaapiDevice {
                    node: RenderNode {
                        path: "/dev/dri/renderD128".into(),
                        bus: Some("pci".into()),
                        vendor: Some("0x8086".into()),
                        device: Some("0x4e61".into()),
                        kernel_driver: Some("i915".into()),
                        compatible: None,
                        access: NodeAccess::Ok,
                    },
                    driver: Some("iHD".into()),
                    driver_vendor: None,
                    failure: None,
                    encoders: vec![VaapiEncoder {
                        codec,
                        encoder: format!("{}_vaapi", codec.as_str()),
                        verified,
                        low_power: false,
                        ten_bit,
                        rate_control: verified.then_some(RateControl::Icq),
                        failure: None,
                    }],
                }],
                unavailable_reason: None,
            },
            v4l2: Default::default(),
            fingerprint: String::new(),
            from_cache: false,
        }
    }

    fn plan(encoder: CpuEncoder, ten_bit: bool) -> Plan {
        let mut p = Plan::simple(encoder, OutputContainer::Mkv, 28, "medium");
        if let Some(v) = p.video.as_mut() {
            v.ten_bit = ten_bit;
        }
        p
    }

    /// The vicodec device recorded in the qemu guest, its FWHT encoder relabelled as the H.264
    /// encoder a Raspberry Pi's bcm2835-codec offers (same queues and frame-size steps).
    fn caps_with_v4l2_h264() -> Capabilities {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/v4l2/vicodec_probe.json"
        ))
        .unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let enc = &mut v["v4l2"]["devices"][0]["encoders"][0];
        enc["format"] = "H264".into();
        enc["codec"] = "h264".into();
        enc["ffmpeg_encoder"] = "h264_v4l2m2m".into();
        v["v4l2"]["listed_encoders"] = serde_json::json!(["h264_v4l2m2m"]);
        let mut caps = caps_with(VideoCodec::Hevc, false, false);
        caps.v4l2 = serde_json::from_value(v["v4l2"].clone()).unwrap();
        caps
    }

    #[test]
    fn a_verified_v4l2_encoder_is_chosen_and_sized_from_the_source() {
        let caps = caps_with_v4l2_h264();
        let (input, temp) = (Path::new("/m/a.mkv"), Path::new("/m/.a.tmp.mkv"));
        let source = VideoStream {
            codec: "mpeg2video".into(),
            width: 1918,
            height: 1080,
            fps: Some(25.0),
            bitrate: Some(8_000_000),
            ..VideoStream::default()
        };
        let h264 = plan(CpuEncoder::Libx264, false);
        let choice = hardware_choice(&h264, Some(&source), input, temp, &caps)
            .expect("h264_v4l2m2m is verified");
        assert_eq!(choice.backend, Backend::V4l2m2m);
        assert_eq!(choice.encoder, "h264_v4l2m2m");
        assert_eq!(choice.device, "/dev/video0");
        assert_eq!(
            hardware_sessions(&caps),
            1,
            "the V4L2 device (the GPU is unverified)"
        );
        let argv: Vec<String> = choice
            .argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(argv.iter().any(|a| a == "h264_v4l2m2m"), "{argv:?}");
        assert!(
            argv.iter().any(|a| a == "-b:v"),
            "a bit rate, never ffmpeg's default: {argv:?}"
        );
        // Without a probed source frame rate there is nothing to size the bit rate from.
        let unknown = VideoStream {
            fps: None,
            ..source.clone()
        };
        assert!(hardware_choice(&h264, Some(&unknown), input, temp, &caps).is_none());
        // HEVC has no V4L2 encoder here: the CPU.
        assert!(
            hardware_choice(
                &plan(CpuEncoder::Libx265, false),
                Some(&source),
                input,
                temp,
                &caps
            )
            .is_none()
        );
    }

    #[test]
    fn a_verified_vaapi_encoder_is_chosen_for_its_codec_only() {
        let caps = caps_with(VideoCodec::Hevc, true, false);
        let (input, temp) = (Path::new("/m/a.mkv"), Path::new("/m/.a.tmp.mkv"));
        let choice = hardware_choice(&plan(CpuEncoder::Libx265, false), None, input, temp, &caps)
            .expect("hevc_vaapi is verified");
        assert_eq!(choice.backend, Backend::Vaapi);
        assert_eq!(choice.encoder, "hevc_vaapi");
        assert_eq!(choice.device, "/dev/dri/renderD128");
        assert_eq!(hardware_sessions(&caps), 1);
        assert!(choice.argv.iter().any(|a| a == "hevc_vaapi"));
        // No verified H.264 encoder: the CPU.
        assert!(
            hardware_choice(&plan(CpuEncoder::Libx264, false), None, input, temp, &caps).is_none()
        );
        // 10-bit needs a 10-bit verified encoder.
        assert!(
            hardware_choice(&plan(CpuEncoder::Libx265, true), None, input, temp, &caps).is_none()
        );
        let caps10 = caps_with(VideoCodec::Hevc, true, true);
        assert!(
            hardware_choice(&plan(CpuEncoder::Libx265, true), None, input, temp, &caps10).is_some()
        );
        // Listed but not verified: the CPU.
        let unverified = caps_with(VideoCodec::Hevc, false, false);
        assert!(
            hardware_choice(
                &plan(CpuEncoder::Libx265, false),
                None,
                input,
                temp,
                &unverified
            )
            .is_none()
        );
    }
}
