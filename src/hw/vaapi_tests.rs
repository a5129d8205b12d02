//! Golden probe argument vectors, the attempt ladder (pure, and against the real ffmpeg, which
//! with no GPU here exercises the failure paths) and the detection of ignored options.

use super::*;
use crate::hw::discover::NodeAccess;

fn words(v: Vec<OsString>) -> String {
    v.into_iter()
        .map(|a| a.into_string().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn golden_init_and_test_encode_vectors() {
    assert_eq!(
        words(init_args("/dev/dri/renderD128")),
        "-hide_banner -nostdin -v verbose -init_hw_device vaapi=va:/dev/dri/renderD128 \
         -f lavfi -i nullsrc=s=64x64:r=25 -frames:v 1 -f null -"
    );
    let first = Attempt {
        low_power: false,
        rate_control: RateControl::Icq,
        ten_bit: false,
    };
    // `-v warning`: fftools' "has not been used for any stream" is a warning.
    assert_eq!(
        words(test_encode_args(
            "/dev/dri/renderD128",
            (VideoCodec::Hevc, "hevc_vaapi"),
            first
        )),
        "-hide_banner -nostdin -v warning -init_hw_device vaapi=va:/dev/dri/renderD128 \
         -filter_hw_device va -f lavfi -i testsrc2=size=256x256:rate=25 -frames:v 5 \
         -vf format=nv12,hwupload -c:v hevc_vaapi -rc_mode ICQ -global_quality 25 -f null -"
    );
    let ten_bit_lp_cqp = Attempt {
        low_power: true,
        rate_control: RateControl::Cqp,
        ten_bit: true,
    };
    assert_eq!(
        words(test_encode_args(
            "/dev/dri/renderD129",
            (VideoCodec::Hevc, "hevc_vaapi"),
            ten_bit_lp_cqp
        )),
        "-hide_banner -nostdin -v warning -init_hw_device vaapi=va:/dev/dri/renderD129 \
         -filter_hw_device va -f lavfi -i testsrc2=size=256x256:rate=25 -frames:v 5 \
         -vf format=p010,hwupload -c:v hevc_vaapi -profile:v main10 -low_power 1 \
         -rc_mode CQP -qp 25 -f null -"
    );
    // av1_vaapi has no `-qp`: its CQP quality is `-global_quality` (q_idx), as in jobs.
    let av1 = words(test_encode_args(
        "/dev/dri/renderD128",
        (VideoCodec::Av1, "av1_vaapi"),
        ten_bit_lp_cqp,
    ));
    assert!(
        av1.ends_with(
            "-c:v av1_vaapi -profile:v main -low_power 1 -rc_mode CQP -global_quality 25 \
             -f null -"
        ),
        "{av1}"
    );
    assert!(!av1.contains("-qp"), "{av1}");
    assert!(!VAAPI_ENCODERS.iter().any(|(_, e)| *e == "vp9_vaapi"));
}

/// The ladder. "No usable encoding entrypoint" → low power (Jasper/Elkhart Lake expose only
/// VDEnc); any other failure of an ICQ encode → CQP, because a low-power encoder without HuC
/// firmware fails ICQ with a generic driver error, not "RC mode not supported"
/// (intel/media-driver#1306, #618). Device-level problems end the ladder.
#[test]
fn icq_failures_of_any_kind_retry_with_cqp() {
    let icq = Attempt {
        low_power: false,
        rate_control: RateControl::Icq,
        ten_bit: false,
    };
    let lp = next_attempt(icq, Problem::EntrypointUnsupported).unwrap();
    assert!(lp.low_power && lp.rate_control == RateControl::Icq);
    // Jasper Lake without HuC: the low-power ICQ encode fails inside the driver.
    let cqp = next_attempt(lp, Problem::Failed).unwrap();
    assert!(cqp.low_power && cqp.rate_control == RateControl::Cqp);
    assert_eq!(next_attempt(cqp, Problem::Failed), None);
    for p in [Problem::RateControlUnsupported, Problem::OptionIgnored] {
        assert_eq!(next_attempt(icq, p).unwrap().rate_control, RateControl::Cqp);
    }
    for p in [
        Problem::NoDevice,
        Problem::PermissionDenied,
        Problem::DriverMissing,
        Problem::NotInBuild,
        Problem::ProfileUnsupported,
    ] {
        assert_eq!(next_attempt(icq, p), None, "{p:?}");
    }
    assert_eq!(next_attempt(lp, Problem::EntrypointUnsupported), None);
}

/// An encode that exits 0 but ignored the quality is not verified: at `-v warning` ffmpeg says
/// so (fftools for an option no opened encoder has, recorded here with Debian's ffmpeg 5.1 and
/// `-c:v mpeg4 -qp 25`; vaapi_encode.c when no quality reached the rate control).
#[test]
fn an_ignored_quality_option_fails_the_attempt() {
    let unused = "Codec AVOption qp (use constant quantizer mode) specified for output file #0 \
                  (pipe:) has not been used for any stream. The most likely reason is either \
                  wrong type (e.g. a video option with no video streams) or that it is a \
                  private option of some encoder which was not actually used for any stream.\n";
    let f = super::classify(unused, true, NodeAccess::Ok).unwrap_err();
    assert_eq!(f.problem, Problem::OptionIgnored);
    assert_eq!(f.problem.code(), "option_ignored");
    let default = "[av1_vaapi @ 0x55d0] No quality level set; using default (25).\n";
    let f = super::classify(default, true, NodeAccess::Ok).unwrap_err();
    assert_eq!(f.detail, "No quality level set; using default (25).");
}

fn node(path: &str) -> RenderNode {
    RenderNode {
        path: path.into(),
        bus: None,
        vendor: None,
        device: None,
        kernel_driver: None,
        compatible: None,
        access: NodeAccess::Missing,
    }
}

#[tokio::test]
async fn a_missing_node_stops_after_the_driver_step() {
    // Real ffmpeg, real failure: there is no /dev/dri on this machine.
    let mut log = Vec::new();
    let listed = vec!["hevc_vaapi".to_string(), "h264_vaapi".to_string()];
    let dev = verify_device(
        &mut log,
        Path::new("/usr/bin/ffmpeg"),
        node("/nonexistent/dri/renderD128"),
        &listed,
    )
    .await;
    assert_eq!(dev.failure.as_ref().unwrap().problem, Problem::NoDevice);
    assert!(dev.encoders.is_empty());
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].backend, "vaapi");
    assert_eq!(log[0].step, "driver");
    assert!(
        log[0].output.contains("No VA display found"),
        "{}",
        log[0].output
    );
    assert!(dev.verified(VideoCodec::Hevc).is_none());
}

#[tokio::test]
async fn encoder_ladder_records_every_attempt() {
    // /dev/null opens but is no DRM device; ffmpeg only says the device creation failed, a
    // generic failure: ICQ, then CQP (which fails the same way), both logged.
    let mut log = Vec::new();
    let e = verify_encoder(
        &mut log,
        Path::new("/usr/bin/ffmpeg"),
        "/dev/null",
        NodeAccess::Ok,
        (VideoCodec::Hevc, "hevc_vaapi"),
    )
    .await;
    assert!(!e.verified && !e.low_power && !e.ten_bit);
    let failure = e.failure.unwrap();
    assert_eq!(failure.problem, Problem::Failed);
    assert!(
        failure.detail.starts_with("Device creation failed"),
        "{failure:?}"
    );
    let steps: Vec<&str> = log.iter().map(|l| l.step.as_str()).collect();
    assert_eq!(
        steps,
        ["test_encode:hevc_vaapi:ICQ", "test_encode:hevc_vaapi:CQP"]
    );
    assert!(log[0].command.contains("-v warning"));
    assert!(log[1].command.contains("-rc_mode CQP -qp 25"));
}
