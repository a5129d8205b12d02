//! Which backend encodes a codec: the best one whose test encode passed, VAAPI before V4L2 M2M
//! before the CPU (the order of [`Backend`]), and the CPU when nothing is verified, so a job
//! always has an answer and the planner's own "encoder unavailable" rule explains the rest.
//! [`hardware_encoders`] lists every verified hardware encoder for a codec, best first, without
//! the demoted ones (`demotion`): a job tries the first. Pure functions over [`Capabilities`].

use super::demotion::{Demotion, is_demoted};
use super::{Capabilities, V4l2Device, V4l2Encoder, VaapiDevice, VaapiEncoder};
use crate::model::{Backend, VideoCodec};

/// A verified hardware encoder on its device.
#[derive(Debug, Clone, Copy)]
pub enum HwEncoder<'a> {
    Vaapi(&'a VaapiDevice, &'a VaapiEncoder),
    V4l2(&'a V4l2Device, &'a V4l2Encoder),
}

impl HwEncoder<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            HwEncoder::Vaapi(..) => Backend::Vaapi,
            HwEncoder::V4l2(..) => Backend::V4l2m2m,
        }
    }

    /// The device node.
    pub fn device(&self) -> &str {
        match self {
            HwEncoder::Vaapi(d, _) => &d.node.path,
            HwEncoder::V4l2(d, _) => &d.path,
        }
    }

    /// The ffmpeg encoder.
    pub fn encoder(&self) -> &str {
        match self {
            HwEncoder::Vaapi(_, e) => &e.encoder,
            HwEncoder::V4l2(_, e) => e.ffmpeg_encoder.as_deref().unwrap_or_default(),
        }
    }
}

/// Every verified hardware encoder for `codec` (10-bit capable when `ten_bit`), best first:
/// VAAPI nodes in node order, then V4L2 devices (8-bit only: ffmpeg's v4l2m2m encoders take
/// yuv420p/nv12), leaving out those in `demoted`.
pub fn hardware_encoders<'a>(
    codec: VideoCodec,
    ten_bit: bool,
    caps: &'a Capabilities,
    demoted: &[Demotion],
) -> Vec<HwEncoder<'a>> {
    let vaapi = caps.vaapi.devices.iter().filter_map(|d| {
        d.verified(codec)
            .filter(|e| !ten_bit || e.ten_bit)
            .map(|e| HwEncoder::Vaapi(d, e))
    });
    let v4l2 = caps.v4l2.devices.iter().flat_map(|d| {
        d.encoders
            .iter()
            .filter(|e| {
                !ten_bit
                    && e.verified
                    && e.codec == Some(codec)
                    && e.ffmpeg_encoder
                        .as_ref()
                        .is_some_and(|f| caps.v4l2.listed_encoders.contains(f))
            })
            .map(move |e| HwEncoder::V4l2(d, e))
    });
    vaapi
        .chain(v4l2)
        .filter(|h| !is_demoted(demoted, h.backend(), h.device(), h.encoder()))
        .collect()
}

/// The backend a job for `codec` starts on, given the demotions: the first verified hardware
/// encoder, else the CPU.
pub fn select_backend_avoiding(
    codec: VideoCodec,
    ten_bit: bool,
    caps: &Capabilities,
    demoted: &[Demotion],
) -> Backend {
    hardware_encoders(codec, ten_bit, caps, demoted)
        .first()
        .map_or(Backend::Cpu, HwEncoder::backend)
}

/// Backends with a verified encoder for `codec`, best first.
pub fn verified_backends(codec: VideoCodec, caps: &Capabilities) -> Vec<Backend> {
    backends(codec, false, caps)
}

fn backends(codec: VideoCodec, ten_bit: bool, caps: &Capabilities) -> Vec<Backend> {
    let mut out = Vec::new();
    if vaapi_choice(codec, ten_bit, caps).is_some() {
        out.push(Backend::Vaapi);
    }
    // V4L2 M2M: a natively verified device encoder that this ffmpeg can drive. Only 8-bit:
    // ffmpeg's v4l2m2m encoders take yuv420p/nv12 only.
    if !ten_bit && v4l2_choice(codec, caps).is_some() {
        out.push(Backend::V4l2m2m);
    }
    if caps
        .cpu_encoders
        .iter()
        .any(|e| e.codec == codec && e.verified)
    {
        out.push(Backend::Cpu);
    }
    out.sort_by(|a, b| b.cmp(a));
    out
}

/// The best verified backend for `codec`; `Backend::Cpu` when none is verified.
pub fn select_backend(codec: VideoCodec, caps: &Capabilities) -> Backend {
    select_backend_for(codec, false, caps)
}

/// Like [`select_backend`], for an encode that must be 10-bit: a VAAPI encoder that only
/// proved 8-bit is not chosen (CPU encoders all do 10-bit).
pub fn select_backend_for(codec: VideoCodec, ten_bit: bool, caps: &Capabilities) -> Backend {
    backends(codec, ten_bit, caps)
        .first()
        .copied()
        .unwrap_or(Backend::Cpu)
}

/// The first V4L2 device (in node order) with a verified encoder for `codec` that ffmpeg lists.
pub fn v4l2_choice(codec: VideoCodec, caps: &Capabilities) -> Option<(&V4l2Device, &V4l2Encoder)> {
    caps.v4l2.usable(codec)
}

/// The first render node (in node order) with a verified encoder for `codec`.
pub fn vaapi_choice(
    codec: VideoCodec,
    ten_bit: bool,
    caps: &Capabilities,
) -> Option<(&VaapiDevice, &VaapiEncoder)> {
    caps.vaapi.devices.iter().find_map(|d| {
        d.verified(codec)
            .filter(|e| !ten_bit || e.ten_bit)
            .map(|e| (d, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::{EncoderInfo, NodeAccess, RenderNode, V4l2Summary, VaapiSummary};
    use crate::model::RateControl;

    fn caps(cpu: &[(VideoCodec, bool)], vaapi: &[(&str, VideoCodec, bool, bool)]) -> Capabilities {
        let mut devices: Vec<VaapiDevice> = Vec::new();
        for (path, codec, verified, ten_bit) in vaapi {
            let encoder = VaapiEncoder {
                codec: *codec,
                encoder: format!("{codec}_vaapi"),
                verified: *verified,
                low_power: false,
                ten_bit: *ten_bit,
                rate_control: verified.then_some(RateControl::Icq),
                failure: None,
            };
            match devices.iter_mut().find(|d| d.node.path == *path) {
                Some(d) => d.encoders.push(encoder),
                None => devices.push(VaapiDevice {
                    node: RenderNode {
                        path: path.to_string(),
                        bus: Some("pci".into()),
                        vendor: Some("0x8086".into()),
                        device: None,
                        kernel_driver: Some("i915".into()),
                        compatible: None,
                        access: NodeAccess::Ok,
                    },
                    driver: Some("iHD".into()),
                    driver_vendor: None,
                    failure: None,
                    encoders: vec![encoder],
                }),
            }
        }
        Capabilities {
            ffmpeg_version: Some("5.1".into()),
            cpu_encoders: cpu
                .iter()
                .map(|(codec, verified)| EncoderInfo {
                    codec: *codec,
                    encoder: format!("cpu-{codec}"),
                    verified: *verified,
                })
                .collect(),
            probe_log: vec![],
            probed_at: String::new(),
            hwaccels: vec![],
            filters: vec![],
            vaapi: VaapiSummary {
                listed_encoders: vec![],
                devices,
                unavailable_reason: None,
            },
            v4l2: V4l2Summary::default(),
            fingerprint: String::new(),
            from_cache: false,
        }
    }

    #[test]
    fn vaapi_beats_cpu_when_verified() {
        let c = caps(
            &[(VideoCodec::Hevc, true), (VideoCodec::H264, true)],
            &[
                ("/dev/dri/renderD128", VideoCodec::Hevc, true, false),
                ("/dev/dri/renderD128", VideoCodec::H264, false, false),
            ],
        );
        assert_eq!(select_backend(VideoCodec::Hevc, &c), Backend::Vaapi);
        assert_eq!(
            verified_backends(VideoCodec::Hevc, &c),
            [Backend::Vaapi, Backend::Cpu]
        );
        // Listed but failed its test encode: the CPU encodes H.264.
        assert_eq!(select_backend(VideoCodec::H264, &c), Backend::Cpu);
        // 10-bit was not proved on the GPU.
        assert_eq!(select_backend_for(VideoCodec::Hevc, true, &c), Backend::Cpu);
    }

    #[test]
    fn cpu_is_the_fallback_even_when_nothing_is_verified() {
        let c = caps(&[(VideoCodec::Av1, false)], &[]);
        assert_eq!(select_backend(VideoCodec::Av1, &c), Backend::Cpu);
        assert!(verified_backends(VideoCodec::Av1, &c).is_empty());
        assert_eq!(select_backend(VideoCodec::Vp9, &c), Backend::Cpu);
    }

    #[test]
    fn the_first_node_with_a_verified_encoder_is_used() {
        let c = caps(
            &[],
            &[
                ("/dev/dri/renderD128", VideoCodec::Av1, false, false),
                ("/dev/dri/renderD129", VideoCodec::Av1, true, true),
                ("/dev/dri/renderD130", VideoCodec::Av1, true, true),
            ],
        );
        let (dev, enc) = vaapi_choice(VideoCodec::Av1, true, &c).unwrap();
        assert_eq!(dev.node.path, "/dev/dri/renderD129");
        assert!(enc.ten_bit);
        assert_eq!(select_backend(VideoCodec::Av1, &c), Backend::Vaapi);
        assert!(Backend::Vaapi > Backend::V4l2m2m && Backend::V4l2m2m > Backend::Cpu);
    }

    #[test]
    fn demoted_encoders_are_skipped_for_the_next_node_or_the_cpu() {
        let c = caps(
            &[(VideoCodec::Hevc, true)],
            &[
                ("/dev/dri/renderD128", VideoCodec::Hevc, true, false),
                ("/dev/dri/renderD129", VideoCodec::Hevc, true, false),
            ],
        );
        let demotion = |device: &str| Demotion {
            backend: Backend::Vaapi,
            device: device.into(),
            encoder: "hevc_vaapi".into(),
            failures: 3,
            reason: "encoder_failed".into(),
            summary: String::new(),
            since: String::new(),
        };
        let all = hardware_encoders(VideoCodec::Hevc, false, &c, &[]);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].device(), "/dev/dri/renderD128");
        let one = [demotion("/dev/dri/renderD128")];
        let rest = hardware_encoders(VideoCodec::Hevc, false, &c, &one);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].device(), "/dev/dri/renderD129");
        assert_eq!(rest[0].encoder(), "hevc_vaapi");
        let both = [
            demotion("/dev/dri/renderD128"),
            demotion("/dev/dri/renderD129"),
        ];
        assert_eq!(
            select_backend_avoiding(VideoCodec::Hevc, false, &c, &both),
            Backend::Cpu
        );
        assert_eq!(
            select_backend_avoiding(VideoCodec::Hevc, false, &c, &one),
            Backend::Vaapi
        );
    }

    #[test]
    fn a_verified_v4l2_encoder_beats_the_cpu_for_8_bit_only() {
        let mut c = caps(&[(VideoCodec::H264, true), (VideoCodec::Hevc, true)], &[]);
        let encoder = |codec: VideoCodec, fourcc: &str, ffmpeg: &str| V4l2Encoder {
            format: fourcc.into(),
            codec: Some(codec),
            ffmpeg_encoder: Some(ffmpeg.into()),
            verified: true,
            test_encode: None,
            problem: None,
        };
        c.v4l2 = V4l2Summary {
            listed_encoders: vec!["h264_v4l2m2m".into()],
            devices: vec![V4l2Device {
                path: "/dev/video11".into(),
                driver: "bcm2835-codec".into(),
                card: String::new(),
                bus_info: String::new(),
                role: crate::hw::Role::Encoder,
                mplane: true,
                output_formats: vec![],
                capture_formats: vec![],
                frame_sizes: vec![],
                encoders: vec![
                    encoder(VideoCodec::H264, "H264", "h264_v4l2m2m"),
                    // Verified natively, but this ffmpeg lacks hevc_v4l2m2m.
                    encoder(VideoCodec::Hevc, "HEVC", "hevc_v4l2m2m"),
                ],
                verified: true,
                error: None,
            }],
            unavailable_reason: None,
        };
        assert_eq!(select_backend(VideoCodec::H264, &c), Backend::V4l2m2m);
        assert_eq!(
            verified_backends(VideoCodec::H264, &c),
            [Backend::V4l2m2m, Backend::Cpu]
        );
        assert_eq!(select_backend_for(VideoCodec::H264, true, &c), Backend::Cpu);
        assert_eq!(select_backend(VideoCodec::Hevc, &c), Backend::Cpu);
        assert_eq!(
            v4l2_choice(VideoCodec::H264, &c).unwrap().0.path,
            "/dev/video11"
        );
    }
}
