//! The hardware choice over capability records shaped like real devices: an Intel and an AMD
//! render node (VAAPI), a Raspberry Pi 4 bcm2835-codec H.264 encoder (V4L2) with the stride its
//! native test encode measured, demotions, and the MP4 re-plan a V4L2 encode needs.

use super::*;
use crate::hw::{
    NodeAccess, PixelFormat, RenderNode, Role, StrideProbe, TestEncode, V4l2Summary, VaapiDevice,
    VaapiEncoder, VaapiSummary,
};
use crate::media::plan::{EncodeSettings, OutputContainer, Plan};
use crate::model::{CpuEncoder, RateControl, VideoCodec};

fn caps_with(codec: VideoCodec, verified: bool, ten_bit: bool) -> Capabilities {
    Capabilities {
        ffmpeg_version: None,
        cpu_encoders: Vec::new(),
        probe_log: Vec::new(),
        probed_at: String::new(),
        hwaccels: vec!["vaapi".into()],
        filters: Vec::new(),
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

fn words(target: &HwTarget, plan: &Plan) -> Vec<String> {
    target
        .argv(plan, Path::new("/m/a.mkv"), Path::new("/m/.a.tmp"))
        .unwrap()
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect()
}

/// A Raspberry Pi 4's encoder node as the probe records it (raspberrypi/linux
/// `bcm2835-v4l2-codec.c`): H.264 on CAPTURE, YU12/NV12 on OUTPUT, ENUM_FRAMESIZES 32–1920 in
/// steps of 2, and the native test encode's TRY_FMT at 258×258 from YU12: bytesperline 320
/// (`ALIGN(258, 64)`), sizeimage 320 × 258 × 3/2.
fn pi4(stride: Option<StrideProbe>) -> Capabilities {
    let encoder = V4l2Encoder {
        format: "H264".into(),
        codec: Some(VideoCodec::H264),
        ffmpeg_encoder: Some("h264_v4l2m2m".into()),
        verified: true,
        test_encode: Some(TestEncode {
            width: 64,
            height: 64,
            raw_format: "YU12".into(),
            coded_format: "H264".into(),
            frames_in: 8,
            frames_out: 8,
            bytes_out: 3000,
            head: "0000000127".into(),
            elapsed_ms: 40,
            stride,
        }),
        problem: None,
    };
    let raw = |f: &str| PixelFormat {
        fourcc: f.into(),
        description: String::new(),
        compressed: false,
    };
    let mut caps = caps_with(VideoCodec::Hevc, false, false);
    caps.v4l2 = V4l2Summary {
        listed_encoders: vec!["h264_v4l2m2m".into()],
        devices: vec![V4l2Device {
            path: "/dev/video11".into(),
            driver: "bcm2835-codec".into(),
            card: "bcm2835-codec-encode".into(),
            bus_info: "platform:bcm2835-codec".into(),
            role: Role::Encoder,
            mplane: true,
            output_formats: vec![raw("YU12"), raw("YV12"), raw("NV12"), raw("NV21")],
            capture_formats: vec![PixelFormat {
                fourcc: "H264".into(),
                description: "H.264".into(),
                compressed: true,
            }],
            frame_sizes: vec![(
                "H264".into(),
                FrameSizes::Stepwise {
                    min_width: 32,
                    max_width: 1920,
                    step_width: 2,
                    min_height: 32,
                    max_height: 1920,
                    step_height: 2,
                },
            )],
            encoders: vec![encoder],
            verified: true,
            error: None,
        }],
        unavailable_reason: None,
    };
    caps
}

const PI_YU12: StrideProbe = StrideProbe {
    width: 258,
    height: 258,
    bytesperline: 320,
    sizeimage: 320 * 258 * 3 / 2,
};

fn source(width: u32, height: u32) -> VideoStream {
    VideoStream {
        codec: "mpeg2video".into(),
        width,
        height,
        fps: Some(25.0),
        bitrate: Some(6_000_000),
        ..VideoStream::default()
    }
}

/// The DVD case end to end: the Pi reports a step of 2, its test encode measured
/// 64-byte rows, and the job scales 720 → 704 keeping 576 (see `media::args::v4l2`).
#[test]
fn a_dvd_rip_on_the_pi_gets_the_drivers_row_alignment() {
    let caps = pi4(Some(PI_YU12));
    let mp4 = Plan::simple(CpuEncoder::Libx264, OutputContainer::Mp4, 23, "medium");
    let t = hardware_target(&mp4, Some(&source(720, 576)), &caps, &[]).expect("h264_v4l2m2m");
    assert_eq!(
        (t.backend, t.encoder.as_str(), t.device.as_str()),
        (Backend::V4l2m2m, "h264_v4l2m2m", "/dev/video11")
    );
    assert!(t.needs_mp4());
    let g = geometry(&caps.v4l2.devices[0], &caps.v4l2.devices[0].encoders[0]);
    assert_eq!(
        (g.step_width, g.max_width, g.row_align, g.plane_rows_align),
        (2, Some(1920), Some(64), Some(2))
    );
    let argv = words(&t, &mp4);
    assert!(
        argv.windows(2).any(|w| w == ["-vf", "scale=704:576"]),
        "{argv:?}"
    );
    assert!(
        argv.windows(2).any(|w| w == ["-b:v", "1014000"]),
        "{argv:?}"
    );
    // A record from before the stride was measured: ffmpeg's side alone still gives 704.
    let old = pi4(None);
    let t = hardware_target(&mp4, Some(&source(720, 576)), &old, &[]).unwrap();
    assert!(words(&t, &mp4).iter().any(|a| a == "scale=704:576"));
    // UHD is scaled into the Pi's 1920 maximum.
    let t = hardware_target(&mp4, Some(&source(3840, 2160)), &caps, &[]).unwrap();
    assert!(words(&t, &mp4).iter().any(|a| a == "scale=1920:1080"));
    // A Matroska plan is chosen for V4L2 (the stage plans it for MP4), yet its own arguments
    // are refused: the V4L2 encoder writes no extradata.
    let mkv = plan(CpuEncoder::Libx264, false);
    let t = hardware_target(&mkv, Some(&source(720, 576)), &caps, &[]).unwrap();
    assert!(t.argv(&mkv, Path::new("/i"), Path::new("/o")).is_err());
    // Without a probed frame rate there is nothing to size the bit rate from: the CPU.
    let unknown = VideoStream {
        fps: None,
        ..source(720, 576)
    };
    assert!(hardware_target(&mp4, Some(&unknown), &caps, &[]).is_none());
    // HEVC has no V4L2 encoder here: the CPU.
    let hevc = Plan::simple(CpuEncoder::Libx265, OutputContainer::Mp4, 28, "medium");
    assert!(hardware_target(&hevc, Some(&source(720, 576)), &caps, &[]).is_none());
}

#[test]
fn a_verified_vaapi_encoder_is_chosen_for_its_codec_and_depth_only() {
    let caps = caps_with(VideoCodec::Hevc, true, false);
    let hevc = plan(CpuEncoder::Libx265, false);
    let t = hardware_target(&hevc, None, &caps, &[]).expect("hevc_vaapi is verified");
    assert_eq!(
        (t.backend, t.encoder.as_str(), t.device.as_str()),
        (Backend::Vaapi, "hevc_vaapi", "/dev/dri/renderD128")
    );
    assert!(!t.needs_mp4());
    assert_eq!(crate::engine::hardware::hardware_sessions(&caps), 1);
    assert!(
        words(&t, &hevc)
            .windows(2)
            .any(|w| w == ["-rc_mode", "ICQ"])
    );
    // No verified H.264 encoder: the CPU.
    assert!(hardware_target(&plan(CpuEncoder::Libx264, false), None, &caps, &[]).is_none());
    // 10-bit needs a 10-bit verified encoder.
    assert!(hardware_target(&plan(CpuEncoder::Libx265, true), None, &caps, &[]).is_none());
    let caps10 = caps_with(VideoCodec::Hevc, true, true);
    assert!(hardware_target(&plan(CpuEncoder::Libx265, true), None, &caps10, &[]).is_some());
    // Listed but not verified: the CPU.
    let unverified = caps_with(VideoCodec::Hevc, false, false);
    assert!(hardware_target(&hevc, None, &unverified, &[]).is_none()); // A tonemapping plan is encoded on the CPU, even with a verified encoder.
    let mut sdr = hevc.clone();
    sdr.video.as_mut().unwrap().tonemap = Some(crate::profiles::Tonemapper::Zscale);
    assert!(hardware_target(&sdr, None, &caps, &[]).is_none());
}

/// The libva driver the probe found decides the AMD HEVC workaround (Jellyfin's
/// EncodingHelper: `-flags:v -global_header -bsf:v extract_extradata=remove=0` for
/// `hevc_vaapi` on radeonsi).
#[test]
fn the_probed_driver_reaches_the_arguments() {
    let mut caps = caps_with(VideoCodec::Hevc, true, false);
    let hevc = Plan::simple(CpuEncoder::Libx265, OutputContainer::Mp4, 28, "medium");
    let intel = hardware_target(&hevc, None, &caps, &[]).unwrap();
    assert!(
        !words(&intel, &hevc)
            .iter()
            .any(|a| a.starts_with("extract_extradata"))
    );
    caps.vaapi.devices[0].driver = Some("radeonsi".into());
    let amd = hardware_target(&hevc, None, &caps, &[]).unwrap();
    let argv = words(&amd, &hevc);
    assert!(
        argv.windows(4).any(|w| w
            == [
                "-flags:v",
                "-global_header",
                "-bsf:v",
                "extract_extradata=remove=0"
            ]),
        "{argv:?}"
    );
}

#[test]
fn a_demoted_encoder_is_not_chosen() {
    let caps = caps_with(VideoCodec::Hevc, true, false);
    let hevc = plan(CpuEncoder::Libx265, false);
    let target = hardware_target(&hevc, None, &caps, &[]).unwrap();
    let demoted = [Demotion {
        backend: Backend::Vaapi,
        device: "/dev/dri/renderD128".into(),
        encoder: "hevc_vaapi".into(),
        failures: 3,
        reason: "encoder_stalled".into(),
        summary: String::new(),
        since: String::new(),
    }];
    assert_eq!(target.key().device, "/dev/dri/renderD128");
    assert!(hardware_target(&hevc, None, &caps, &demoted).is_none());
}

fn info(fixture: &str) -> MediaInfo {
    let path = format!(
        "{}/tests/fixtures/ffprobe/{fixture}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    crate::media::normalize::normalize(&std::fs::read(path).unwrap(), 0).unwrap()
}

fn mkv_plan(info: &MediaInfo, profile: &Profile) -> Plan {
    match plan::plan(info, profile, &profiles::Capabilities::all_cpu()) {
        Decision::Transcode(p) => p,
        other => panic!("{other:?}"),
    }
}

/// A V4L2 job writes MP4 when the profile leaves the container open and MP4 keeps every
/// stream as it is kept in Matroska; otherwise the CPU encodes the Matroska plan.
#[test]
fn v4l2_jobs_are_planned_for_mp4_only_when_nothing_is_lost() {
    let caps = profiles::Capabilities::all_cpu();
    let profile = Profile::from_settings(&EncodeSettings {
        encoder: CpuEncoder::Libx264,
        crf: None,
        preset: None,
        threads: 0,
    });
    let mpeg2 = info("mpeg2_interlaced");
    let mkv = mkv_plan(&mpeg2, &profile);
    assert_eq!(mkv.container, OutputContainer::Mkv);
    let mp4 = mp4_plan(&mpeg2, &profile, &mkv, &caps).unwrap();
    assert_eq!(mp4.container, OutputContainer::Mp4);
    assert_eq!(mp4.audio.len(), mkv.audio.len());
    // Picture subtitles only fit in Matroska.
    let pgs = info("h264_pgs");
    let pgs_profile = Profile::from_settings(&EncodeSettings {
        encoder: CpuEncoder::Libx265,
        crf: None,
        preset: None,
        threads: 0,
    });
    let plan_pgs = mkv_plan(&pgs, &pgs_profile);
    assert!(mp4_plan(&pgs, &pgs_profile, &plan_pgs, &caps).is_err());
    // ASS with fonts: styling and attachments would be lost.
    let ass = info("h264_ass_attachment");
    let plan_ass = mkv_plan(&ass, &pgs_profile);
    assert!(mp4_plan(&ass, &pgs_profile, &plan_ass, &caps).is_err());
    // The owner asked for Matroska.
    let mut mkv_profile = profile.clone();
    mkv_profile.container = ContainerChoice::Mkv;
    assert_eq!(
        mp4_plan(&mpeg2, &mkv_profile, &mkv, &caps),
        Err("the profile asks for Matroska")
    );
}
