//! Golden probe argument vectors and the attempt ladder against the real ffmpeg (which, with
//! no GPU here, exercises the failure paths).

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
    assert_eq!(
        words(test_encode_args("/dev/dri/renderD128", "hevc_vaapi", first)),
        "-hide_banner -nostdin -v error -init_hw_device vaapi=va:/dev/dri/renderD128 \
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
            "hevc_vaapi",
            ten_bit_lp_cqp
        )),
        "-hide_banner -nostdin -v error -init_hw_device vaapi=va:/dev/dri/renderD129 \
         -filter_hw_device va -f lavfi -i testsrc2=size=256x256:rate=25 -frames:v 5 \
         -vf format=p010,hwupload -c:v hevc_vaapi -profile:v main10 -low_power 1 \
         -rc_mode CQP -qp 25 -f null -"
    );
    let av1 = words(test_encode_args(
        "/dev/dri/renderD128",
        "av1_vaapi",
        ten_bit_lp_cqp,
    ));
    assert!(
        av1.contains("-c:v av1_vaapi -profile:v main -low_power 1"),
        "{av1}"
    );
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
    // /dev/null opens but is no DRM device; at `-v error` ffmpeg only says the device
    // creation failed, which is not a retryable problem: one attempt, logged.
    let mut log = Vec::new();
    let e = verify_encoder(
        &mut log,
        Path::new("/usr/bin/ffmpeg"),
        "/dev/null",
        NodeAccess::Ok,
        VideoCodec::Hevc,
        "hevc_vaapi",
    )
    .await;
    assert!(!e.verified && !e.low_power && !e.ten_bit);
    let failure = e.failure.unwrap();
    assert_eq!(failure.problem, Problem::Failed);
    assert!(
        failure.detail.starts_with("Device creation failed"),
        "{failure:?}"
    );
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].step, "test_encode:hevc_vaapi:ICQ");
    assert!(log[0].command.contains("-v error"));
}
