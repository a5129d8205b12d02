//! Classification and test-encode choices over capability data shaped like what real drivers
//! answer: vicodec (Linux 6.1, as `v4l2-ctl --all` printed it in the qemu guest: device caps
//! 0x04208000, 28 raw OUTPUT formats, FWHT on CAPTURE, stepwise 64..4096 step 8), a Raspberry
//! Pi 4 `bcm2835-codec` H.264 encoder (multi-planar), its decoder node, and a UVC camera.

use super::encode::{
    EncodeError, EncodeProblem, STRIDE_PROBE_SIDE, StrideProbe, TestEncode, choose_raw,
    choose_size, classify_errno, fill_frame,
};
use super::*;

fn fmt(fourcc: &str, compressed: bool) -> PixelFormat {
    PixelFormat {
        fourcc: fourcc.into(),
        description: String::new(),
        compressed,
    }
}

fn raws(list: &[&str]) -> Vec<PixelFormat> {
    list.iter().map(|f| fmt(f, false)).collect()
}

fn vicodec_encoder() -> NodeInfo {
    NodeInfo {
        path: "/dev/video0".into(),
        driver: "vicodec".into(),
        card: "vicodec".into(),
        bus_info: "platform:vicodec".into(),
        capabilities: 0x8420_8000,
        device_caps: 0x0420_8000,
        output: raws(&[
            "YU12", "YV12", "422P", "NV12", "NV21", "NV16", "NV61", "NV24", "NV42", "YUYV", "YVYU",
            "UYVY", "VYUY", "BGR3", "RGB3", "HSV3", "BGR4", "XR24", "AR24", "RGB4", "BX24", "BA24",
            "RX24", "RA24", "XB24", "AB24", "HSV4", "GREY",
        ]),
        capture: vec![PixelFormat {
            fourcc: "FWHT".into(),
            description: "FWHT (compressed)".into(),
            compressed: true,
        }],
        frame_sizes: vec![(
            "FWHT".into(),
            FrameSizes::Stepwise {
                min_width: 640,
                max_width: 4096,
                step_width: 8,
                min_height: 360,
                max_height: 2160,
                step_height: 8,
            },
        )],
    }
}

fn pi4_encoder() -> NodeInfo {
    NodeInfo {
        path: "/dev/video11".into(),
        driver: "bcm2835-codec".into(),
        card: "bcm2835-codec-encode".into(),
        bus_info: "platform:bcm2835-codec".into(),
        capabilities: 0x8420_4000,
        device_caps: 0x0420_4000,
        output: raws(&["YU12", "YV12", "NV12", "NV21", "RGBP", "RGB3"]),
        capture: vec![fmt("H264", true)],
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
    }
}

#[test]
fn vicodec_is_an_fwht_encoder_ffmpeg_cannot_drive() {
    let d = classify_node(&vicodec_encoder());
    assert_eq!(d.role, Role::Encoder);
    assert!(!d.mplane);
    assert_eq!(d.output_formats.len(), 28);
    assert_eq!(d.encoders.len(), 1);
    let e = &d.encoders[0];
    assert_eq!(e.format, "FWHT");
    assert_eq!(d.raw_formats()[..2], ["YU12", "YV12"]);
    assert!(matches!(
        d.frame_sizes_of("FWHT"),
        Some(FrameSizes::Stepwise { step_width: 8, .. })
    ));
    assert_eq!(d.frame_sizes_of("H264"), None);
    assert_eq!(e.codec, None);
    assert_eq!(e.ffmpeg_encoder, None);
    assert!(!e.verified);
}

#[test]
fn pi4_h264_is_an_mplane_encoder_for_h264_v4l2m2m() {
    let d = classify_node(&pi4_encoder());
    assert_eq!(d.role, Role::Encoder);
    assert!(d.mplane);
    assert_eq!(d.encoders[0].codec, Some(VideoCodec::H264));
    assert_eq!(
        d.encoders[0].ffmpeg_encoder.as_deref(),
        Some("h264_v4l2m2m")
    );
}

#[test]
fn decoders_cameras_and_converters_are_not_encoders() {
    let mut dec = pi4_encoder();
    dec.output = vec![fmt("H264", true), fmt("HEVC", false)];
    dec.capture = raws(&["YU12", "NV12"]);
    let d = classify_node(&dec);
    assert_eq!(d.role, Role::Decoder);
    assert!(d.encoders.is_empty());
    // A capture-only node (UVC camera): no M2M capability bits at all.
    let mut cam = vicodec_encoder();
    cam.driver = "uvcvideo".into();
    cam.capabilities = 0x8420_0001;
    cam.device_caps = 0x0420_0001;
    assert_eq!(classify_node(&cam).role, Role::NotM2m);
    // An M2M scaler: raw in, raw out.
    let mut conv = vicodec_encoder();
    conv.capture = raws(&["NV12"]);
    assert_eq!(classify_node(&conv).role, Role::Other);
}

#[test]
fn device_caps_are_used_only_when_the_driver_sets_them() {
    assert_eq!(m2m_kind(0x8420_8000, 0x0420_8000), Some(false));
    assert_eq!(m2m_kind(0x8420_c000, 0x0420_4000), Some(true));
    // Old driver without V4L2_CAP_DEVICE_CAPS: the device-wide bits count.
    assert_eq!(m2m_kind(0x0420_8000, 0), Some(false));
    // The physical device has an M2M node, but this node only captures.
    assert_eq!(m2m_kind(0x8000_8001, 0x0000_0001), None);
}

#[test]
fn fourcc_round_trip_and_known_coded_formats() {
    assert_eq!(fourcc("H264"), 0x3436_3248);
    assert_eq!(fourcc_str(fourcc("FWHT")), "FWHT");
    assert_eq!(fourcc_str(fourcc("BGR3")), "BGR3");
    assert_eq!(fourcc_str(0x0000_0041), "A???");
    assert!(is_coded("HEVC") && is_coded("VP80") && !is_coded("NV12"));
    assert_eq!(ffmpeg_encoder("HEVC"), Some("hevc_v4l2m2m"));
    assert_eq!(ffmpeg_encoder("VP80"), Some("vp8_v4l2m2m"));
    assert_eq!(ffmpeg_encoder("FWHT"), None);
    assert_eq!(c_str(b"vicodec\0\0garbage"), "vicodec");
}

#[test]
fn test_encode_size_and_raw_format_choices() {
    let vicodec = vicodec_encoder();
    assert_eq!(choose_size(Some(&vicodec.frame_sizes[0].1)), (640, 360));
    let odd = FrameSizes::Stepwise {
        min_width: 48,
        max_width: 1920,
        step_width: 32,
        min_height: 96,
        max_height: 1080,
        step_height: 16,
    };
    assert_eq!(choose_size(Some(&odd)), (80, 96));
    let discrete = FrameSizes::Discrete {
        sizes: vec![(1280, 720), (176, 144), (640, 480)],
    };
    assert_eq!(choose_size(Some(&discrete)), (176, 144));
    assert_eq!(choose_size(None), (64, 64));
    assert_eq!(choose_raw(&vicodec.output).unwrap().fourcc, "YU12");
    assert_eq!(choose_raw(&raws(&["RGB3", "NV12"])).unwrap().fourcc, "NV12");
    assert_eq!(choose_raw(&raws(&["RGB3"])).unwrap().fourcc, "RGB3");
    assert!(choose_raw(&[fmt("H264", true)]).is_none());
}

#[test]
fn gradient_frames_differ_and_chroma_is_grey() {
    let mut a = vec![0u8; 64 * 64 * 3 / 2];
    let mut b = a.clone();
    fill_frame(&mut a, 64, 64, 0);
    fill_frame(&mut b, 64, 64, 1);
    assert_eq!(&a[..3], &[0, 1, 2]);
    assert_eq!(a[64], 1);
    assert_eq!(b[0], 4);
    assert!(a[64 * 64..].iter().all(|v| *v == 128));
    // A buffer shorter than the luma plane is filled without panicking.
    fill_frame(&mut [0u8; 10], 64, 64, 3);
}

#[test]
fn errnos_become_typed_problems() {
    assert_eq!(
        classify_errno(EncodeError::FormatRejected, Some(libc::EBUSY)),
        EncodeError::Busy
    );
    assert_eq!(
        classify_errno(EncodeError::Busy, Some(libc::EACCES)),
        EncodeError::PermissionDenied
    );
    assert_eq!(
        classify_errno(EncodeError::BufferSetup, Some(libc::ENOMEM)),
        EncodeError::BufferSetup
    );
}

fn summary_with(encoder: V4l2Encoder, listed: &[&str]) -> V4l2Summary {
    let mut d = classify_node(&pi4_encoder());
    d.verified = encoder.verified;
    d.encoders = vec![encoder];
    V4l2Summary {
        listed_encoders: listed.iter().map(|s| s.to_string()).collect(),
        devices: vec![d],
        unavailable_reason: None,
    }
}

fn h264(verified: bool, problem: Option<EncodeProblem>) -> V4l2Encoder {
    V4l2Encoder {
        format: "H264".into(),
        codec: Some(VideoCodec::H264),
        ffmpeg_encoder: Some("h264_v4l2m2m".into()),
        verified,
        test_encode: verified.then(|| TestEncode {
            width: 64,
            height: 64,
            raw_format: "YU12".into(),
            coded_format: "H264".into(),
            frames_in: 8,
            frames_out: 8,
            bytes_out: 4000,
            head: "0000000167".into(),
            elapsed_ms: 12,
            stride: None,
        }),
        problem,
    }
}

#[test]
fn usable_needs_verified_and_listed_by_ffmpeg() {
    let ok = summary_with(h264(true, None), &["h264_v4l2m2m"]);
    assert_eq!(ok.usable(VideoCodec::H264).unwrap().0.path, "/dev/video11");
    assert!(ok.usable(VideoCodec::Hevc).is_none());
    assert_eq!(unavailable_reason(&ok, "/dev"), None);
    let unlisted = summary_with(h264(true, None), &[]);
    assert!(unlisted.usable(VideoCodec::H264).is_none());
    let why = unavailable_reason(&unlisted, "/dev").unwrap();
    assert!(why.contains("lacks h264_v4l2m2m"), "{why}");
    let failed = summary_with(
        h264(
            false,
            Some(EncodeProblem {
                error: EncodeError::BufferSetup,
                detail: "buffers: Cannot allocate memory".into(),
            }),
        ),
        &["h264_v4l2m2m"],
    );
    let why = unavailable_reason(&failed, "/dev").unwrap();
    assert!(why.contains("test encode failed: buffer_setup"), "{why}");
}

#[test]
fn reasons_for_no_nodes_and_only_fwht() {
    let none = V4l2Summary::default();
    assert_eq!(
        unavailable_reason(&none, "/dev").unwrap(),
        "there is no V4L2 video node under /dev"
    );
    let mut d = classify_node(&vicodec_encoder());
    d.encoders[0].verified = true;
    let fwht = V4l2Summary {
        listed_encoders: vec!["h264_v4l2m2m".into()],
        devices: vec![d],
        unavailable_reason: None,
    };
    let why = unavailable_reason(&fwht, "/dev").unwrap();
    assert!(
        why.contains("/dev/video0 FWHT (vicodec): verified natively, but ffmpeg has no encoder"),
        "{why}"
    );
}

#[test]
fn video_nodes_are_found_in_numeric_order_and_probing_an_empty_dev_is_quiet() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["video10", "video2", "video0", "videoX", "media0"] {
        std::fs::write(tmp.path().join(name), b"").unwrap();
    }
    let nodes: Vec<String> = video_nodes(tmp.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(nodes, ["video0", "video2", "video10"]);
    // Plain files are not devices: QUERYCAP fails, which is logged, not fatal.
    let mut log = Vec::new();
    let devices = probe_all(tmp.path(), &mut log);
    assert_eq!(devices.len(), 3);
    assert!(devices.iter().all(|d| d.error.is_some()));
    assert_eq!(log[0].step, "discover");
    assert!(log[1..].iter().all(|e| !e.ok && e.backend == "v4l2m2m"));
    let mut log = Vec::new();
    assert!(probe_all(&tmp.path().join("missing"), &mut log).is_empty());
    assert!(log[0].output.contains("no video nodes"), "{:?}", log[0]);
}

/// The probe the qemu guest printed: every node classifies the same way from its recorded
/// formats, the summary's reason is what the pure function says, and the encode was FWHT.
#[test]
fn recorded_vicodec_probe_classifies_the_same() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/v4l2/vicodec_probe.json"
    ))
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let summary: V4l2Summary = serde_json::from_value(v["v4l2"].clone()).unwrap();
    let roles: Vec<Role> = summary.devices.iter().map(|d| d.role).collect();
    assert_eq!(roles, [Role::Encoder, Role::Decoder, Role::Decoder]);
    for d in &summary.devices {
        let info = NodeInfo {
            path: d.path.clone(),
            driver: d.driver.clone(),
            card: d.card.clone(),
            bus_info: d.bus_info.clone(),
            capabilities: 0x8420_8000,
            device_caps: 0x0420_8000,
            output: d.output_formats.clone(),
            capture: d.capture_formats.clone(),
            frame_sizes: d.frame_sizes.clone(),
        };
        let again = classify_node(&info);
        assert_eq!(again.role, d.role, "{}", d.path);
        assert_eq!(again.encoders.len(), d.encoders.len(), "{}", d.path);
    }
    let enc = &summary.devices[0];
    let fourccs = |fs: &[PixelFormat]| fs.iter().map(|f| f.fourcc.clone()).collect::<Vec<_>>();
    assert_eq!(
        fourccs(&enc.output_formats),
        fourccs(&vicodec_encoder().output)
    );
    assert_eq!(enc.frame_sizes, vicodec_encoder().frame_sizes);
    assert!(enc.verified);
    let t = enc.encoders[0].test_encode.as_ref().unwrap();
    assert_eq!((t.frames_in, t.frames_out, t.width), (8, 8, 640));
    assert!(t.head.starts_with("4f4f4f4f"), "FWHT magic: {}", t.head);
    assert_eq!(
        unavailable_reason(&summary, "/dev"),
        summary.unavailable_reason
    );
    assert_eq!(summary.usable(VideoCodec::H264), None);
}

/// TRY_FMT at 258×258 tells how a driver pads. bcm2835-codec (raspberrypi/linux,
/// `bcm2835-v4l2-codec.c`): `get_bytesperline` = `ALIGN(width * depth / 8,
/// bytesperline_align[ENCODE])` with 64 for YU12 and 32 for NV12, and `get_sizeimage` =
/// `bytesperline * height * 3 / 2` (no height padding when encoding). A Qualcomm-style NV12
/// (iris/venus: 128-byte rows, 32-line planes) and a driver with extra buffer padding too.
#[test]
fn stride_probes_give_the_drivers_row_and_plane_alignment() {
    let side = STRIDE_PROBE_SIDE;
    let probe = |bytesperline, sizeimage| StrideProbe {
        width: side,
        height: side,
        bytesperline,
        sizeimage,
    };
    let pi_yu12 = probe(320, 320 * side * 3 / 2);
    assert_eq!(
        (pi_yu12.row_align(), pi_yu12.plane_rows_align()),
        (Some(64), Some(2))
    );
    let pi_nv12 = probe(288, 288 * side * 3 / 2);
    assert_eq!(pi_nv12.row_align(), Some(32));
    let qcom = probe(384, 384 * 288 * 3 / 2);
    assert_eq!(
        (qcom.row_align(), qcom.plane_rows_align()),
        (Some(128), Some(32))
    );
    // vicodec packs rows: the probe says 2, i.e. no constraint beyond 4:2:0.
    let packed = probe(side, side * side * 3 / 2);
    assert_eq!(
        (packed.row_align(), packed.plane_rows_align()),
        (Some(2), Some(2))
    );
    // Metadata after the planes, or a stride no power of two explains: not known.
    assert_eq!(
        probe(320, 320 * side * 3 / 2 + 4096).plane_rows_align(),
        None
    );
    assert_eq!(probe(300, 300 * side * 3 / 2).row_align(), None);
}
