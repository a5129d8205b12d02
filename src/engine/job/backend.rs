//! Which backend encodes a job: pure. Detection (`hw`) proves encoders with test encodes; a
//! job whose target codec (and bit depth) has a verified VAAPI or V4L2 M2M encoder is encoded
//! on it (VAAPI first, see `hw::select_backend_for`), with the arguments built for that backend
//! (`media::args`). Running it, and the CPU fallback, is the `encode` stage.

use std::ffi::OsString;
use std::path::Path;

use crate::hw::{self, Capabilities};
use crate::media::VideoStream;
use crate::media::args::{V4l2Options, VaapiOptions, build_v4l2_args, build_vaapi_args};
use crate::media::plan::Plan;
use crate::model::Backend;

/// A hardware encode the capabilities allow for a plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HwChoice {
    pub backend: Backend,
    /// ffmpeg encoder name, e.g. `hevc_vaapi`.
    pub encoder: String,
    /// Device node, e.g. `/dev/dri/renderD128`.
    pub device: String,
    pub argv: Vec<OsString>,
}

/// The hardware encode for `plan`, when detection verified one for its target codec and bit
/// depth and the plan is one the hardware path can express; `None` means the CPU.
pub(crate) fn hardware_choice(
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
            crate::engine::hardware::hardware_sessions(&caps),
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
        assert_eq!(crate::engine::hardware::hardware_sessions(&caps), 1);
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
