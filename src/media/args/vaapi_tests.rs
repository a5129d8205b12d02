//! Golden tests: whole VAAPI argument vectors for plans the planner makes from recorded
//! fixtures (8-bit H.264 → HEVC with CQP, HDR10 → HEVC Main10 with ICQ, interlaced MPEG-2 →
//! H.264 in low-power mode, AV1 with CQP, ICQ and QVBR, HEVC on AMD's radeonsi in MP4), plus
//! the refusals. Each test names the ffmpeg or driver behaviour it holds the vector to.

use super::*;
use crate::media::args::cpu::tests::{strings, words};
use crate::media::plan::{ContainerChoice, OutputContainer};
use crate::model::CpuEncoder;

fn planned(fixture: &str, encoder: CpuEncoder) -> Plan {
    crate::media::args::cpu::tests::planned(fixture, encoder, ContainerChoice::Auto)
}

fn opts(rate_control: RateControl, low_power: bool) -> VaapiOptions {
    VaapiOptions {
        device: PathBuf::from("/dev/dri/renderD128"),
        rate_control,
        low_power,
        max_bitrate: None,
        driver: Some("iHD".into()),
    }
}

fn golden(plan: &Plan, opts: &VaapiOptions) -> Vec<String> {
    strings(
        build_vaapi_args(
            plan,
            Path::new("/media/in.mkv"),
            Path::new("/media/.out.mkv.alchemist-tmp-7"),
            opts,
        )
        .unwrap(),
    )
}

#[test]
fn h264_to_hevc_with_cqp() {
    let p = planned("h264_aac", CpuEncoder::Libx265);
    assert_eq!(
        golden(&p, &opts(RateControl::Cqp, false)),
        words(
            "-hide_banner -nostdin -y \
             -init_hw_device vaapi=va:/dev/dri/renderD128 -filter_hw_device va \
             -i file:/media/in.mkv -map 0:V:0 -map 0:a:0 \
             -vf format=nv12,hwupload -c:v hevc_vaapi -rc_mode CQP -qp 28 \
             -tag:v hvc1 -c:a:0 copy -map_metadata 0 -map_chapters 0 \
             -movflags +faststart -f mp4 file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn hdr10_to_hevc_main10_with_icq() {
    let p = planned("hdr10_h264", CpuEncoder::Libx265);
    assert_eq!(
        golden(&p, &opts(RateControl::Icq, false)),
        words(
            "-hide_banner -nostdin -y \
             -init_hw_device vaapi=va:/dev/dri/renderD128 -filter_hw_device va \
             -i file:/media/in.mkv -map 0:V:0 -map 0:a:0 \
             -vf format=p010,hwupload -c:v hevc_vaapi -profile:v main10 \
             -rc_mode ICQ -global_quality 28 \
             -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc \
             -c:a:0 copy -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn interlaced_mpeg2_to_h264_in_low_power_mode() {
    let p = planned("mpeg2_interlaced", CpuEncoder::Libx264);
    assert_eq!(
        golden(&p, &opts(RateControl::Cqp, true)),
        words(
            "-hide_banner -nostdin -y \
             -init_hw_device vaapi=va:/dev/dri/renderD128 -filter_hw_device va \
             -i file:/media/in.mkv -map 0:V:0 -map 0:a:0 \
             -vf bwdif=mode=send_frame:parity=auto:deint=all,format=nv12,hwupload \
             -c:v h264_vaapi -low_power 1 -rc_mode CQP -qp 23 \
             -c:a:0 libopus -b:a:0 64000 -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

/// `av1_vaapi` has no `-qp` (vaapi_encode_av1.c lists only the common and RC options), so CQP
/// quality goes through `-global_quality`, which the encoder takes as `q_idx` and clips to
/// 0–255 (`q_idx_p = av_clip(ctx->rc_quality, 0, AV1_MAX_QUANT)`). SVT-AV1 CRF 35 → q_idx 140.
#[test]
fn av1_cqp_puts_q_idx_in_global_quality_never_qp() {
    let p = Plan::simple(CpuEncoder::Libsvtav1, OutputContainer::Mkv, 35, "8");
    let v = golden(&p, &opts(RateControl::Cqp, false));
    assert_eq!(
        v,
        words(
            "-hide_banner -nostdin -y \
             -init_hw_device vaapi=va:/dev/dri/renderD128 -filter_hw_device va \
             -i file:/media/in.mkv -map 0:V:0 \
             -vf format=nv12,hwupload -c:v av1_vaapi -rc_mode CQP -global_quality 140 \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
    assert!(!v.iter().any(|a| a == "-qp"), "{v:?}");
}

/// ICQ's quality is the driver's 1–51 factor for every codec: vaapi_encode.c sends
/// `ICQ_quality_factor = av_clip(rc_quality, 1, 51)`. A q_idx-scaled value (4 × CRF) would be
/// clipped to 51, the worst quality, for every CRF from 13 up; CRF 0–63 maps onto 1–51.
#[test]
fn av1_icq_uses_the_driver_1_to_51_scale() {
    let p = Plan::simple(CpuEncoder::Libsvtav1, OutputContainer::Mkv, 35, "8");
    assert_eq!(
        golden(&p, &opts(RateControl::Icq, false)),
        words(
            "-hide_banner -nostdin -y \
             -init_hw_device vaapi=va:/dev/dri/renderD128 -filter_hw_device va \
             -i file:/media/in.mkv -map 0:V:0 \
             -vf format=nv12,hwupload -c:v av1_vaapi -rc_mode ICQ -global_quality 28 \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
    // Different CRFs stay different qualities (before, 13 and 50 both became 51).
    let q = |crf| vaapi_quality(VideoCodec::Av1, RateControl::Icq, crf);
    assert_eq!((q(13), q(35), q(50), q(63)), (11, 28, 40, 51));
}

/// QVBR also sends the quality as `ICQ_quality_factor` (clipped to 1–51), so it uses the ICQ
/// scale, with the ceiling as `-b:v`/`-maxrate` (vaapi_encode.c: QVBR needs a bit rate).
#[test]
fn av1_with_qvbr_uses_the_icq_scale_and_a_ceiling() {
    let p = Plan::simple(CpuEncoder::Libsvtav1, OutputContainer::Mkv, 30, "8");
    let mut o = opts(RateControl::Qvbr, false);
    o.max_bitrate = Some(4_000_000);
    assert_eq!(
        golden(&p, &o),
        words(
            "-hide_banner -nostdin -y \
             -init_hw_device vaapi=va:/dev/dri/renderD128 -filter_hw_device va \
             -i file:/media/in.mkv -map 0:V:0 \
             -vf format=nv12,hwupload -c:v av1_vaapi \
             -rc_mode QVBR -global_quality 24 -b:v 4000000 -maxrate 4000000 \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

/// Mesa's (radeonsi) HEVC encoder writes in-band parameter sets that disagree with the
/// extradata ffmpeg builds, and `hvc1` MP4 players read only the extradata: Jellyfin's
/// EncodingHelper adds `-flags:v -global_header -bsf:v extract_extradata=remove=0` for
/// `hevc_vaapi` on AMD ("The in-band Parameter Sets generated by the AMD HEVC VA-API encoder
/// is inconsistent with the extradata generated by ffmpeg"). Only there: H.264 on AMD and HEVC
/// on Intel keep ffmpeg's extradata.
#[test]
fn amd_hevc_in_mp4_takes_its_extradata_from_the_stream() {
    let p = planned("h264_aac", CpuEncoder::Libx265);
    let mut amd = opts(RateControl::Cqp, false);
    amd.driver = Some("radeonsi".into());
    assert_eq!(
        golden(&p, &amd),
        words(
            "-hide_banner -nostdin -y \
             -init_hw_device vaapi=va:/dev/dri/renderD128 -filter_hw_device va \
             -i file:/media/in.mkv -map 0:V:0 -map 0:a:0 \
             -vf format=nv12,hwupload -c:v hevc_vaapi -rc_mode CQP -qp 28 \
             -flags:v -global_header -bsf:v extract_extradata=remove=0 \
             -tag:v hvc1 -c:a:0 copy -map_metadata 0 -map_chapters 0 \
             -movflags +faststart -f mp4 file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
    let h264 = Plan::simple(CpuEncoder::Libx264, OutputContainer::Mp4, 23, "medium");
    assert!(
        !golden(&h264, &amd)
            .iter()
            .any(|a| a.contains("extract_extradata"))
    );
    assert!(
        !golden(&p, &opts(RateControl::Cqp, false))
            .iter()
            .any(|a| a.contains("extract_extradata"))
    );
}

#[test]
fn streams_are_handled_exactly_like_the_cpu_path() {
    for (fixture, encoder) in [
        ("h264_many_audio", CpuEncoder::Libx265),
        ("h264_ass_attachment", CpuEncoder::Libx265),
        ("movtext", CpuEncoder::Libx265),
    ] {
        let p = planned(fixture, encoder);
        let cpu: Vec<String> = crate::media::args::build_args(
            &p,
            Path::new("/media/in.mkv"),
            Path::new("/media/.out.mkv.alchemist-tmp-7"),
        )
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .collect();
        let gpu = golden(&p, &opts(RateControl::Icq, false));
        // Mapping: everything from `-i` to the video encoder options.
        let maps = |v: &[String]| {
            let from = v.iter().position(|a| a == "-i").unwrap();
            let to = v.iter().position(|a| a == "-vf" || a == "-c:v").unwrap();
            v[from..to].to_vec()
        };
        assert_eq!(maps(&cpu), maps(&gpu), "{fixture}");
        // Audio, subtitles, attachments, metadata and muxer: from the first per-stream codec.
        let tail = |v: &[String]| {
            let from = v
                .iter()
                .position(|a| a.starts_with("-c:a:") || a.starts_with("-c:s:") || a == "-tag:v")
                .unwrap();
            v[from..].to_vec()
        };
        assert_eq!(tail(&cpu), tail(&gpu), "{fixture}");
    }
}

#[test]
fn remux_needs_no_gpu() {
    let p = planned("hevc_mpegts", CpuEncoder::Libx265);
    assert!(p.video.is_none());
    let gpu = golden(&p, &opts(RateControl::Cqp, false));
    assert!(!gpu.iter().any(|a| a.contains("vaapi")));
    assert!(gpu.windows(2).any(|w| w[0] == "-c:v" && w[1] == "copy"));
}

#[test]
fn impossible_plans_are_refused() {
    let mut p = Plan::simple(CpuEncoder::Libx264, OutputContainer::Mkv, 23, "medium");
    p.video.as_mut().unwrap().ten_bit = true;
    let run = |p: &Plan, o: &VaapiOptions| {
        build_vaapi_args(p, Path::new("/i.mkv"), Path::new("/o.mkv"), o).unwrap_err()
    };
    assert_eq!(
        run(&p, &opts(RateControl::Cqp, false)),
        VaapiArgsError::TenBitH264
    );
    let p = Plan::simple(CpuEncoder::Libx265, OutputContainer::Mkv, 28, "medium");
    assert_eq!(
        run(&p, &opts(RateControl::Qvbr, false)),
        VaapiArgsError::QvbrWithoutBitrate
    ); // Tonemapping stays on the CPU: the job is routed there (see `engine::job::backend`).
    let mut p = Plan::simple(CpuEncoder::Libx265, OutputContainer::Mkv, 28, "medium");
    p.video.as_mut().unwrap().tonemap = Some(crate::profiles::Tonemapper::Zscale);
    assert_eq!(
        run(&p, &opts(RateControl::Cqp, false)),
        VaapiArgsError::Tonemap
    );
}

#[test]
fn quality_mapping_is_clamped_to_each_scale() {
    let q = vaapi_quality;
    assert_eq!(q(VideoCodec::Hevc, RateControl::Cqp, 28), 28);
    assert_eq!(q(VideoCodec::Hevc, RateControl::Icq, 28), 28);
    assert_eq!(q(VideoCodec::H264, RateControl::Cqp, 0), 1);
    assert_eq!(q(VideoCodec::H264, RateControl::Icq, 60), 51);
    assert_eq!(q(VideoCodec::Av1, RateControl::Cqp, 35), 140);
    assert_eq!(q(VideoCodec::Av1, RateControl::Cqp, 63), 252);
    assert_eq!(q(VideoCodec::Av1, RateControl::Icq, 0), 1);
    assert_eq!(RateControl::Cqp.quality_option(VideoCodec::Hevc), "-qp");
    assert_eq!(
        RateControl::Cqp.quality_option(VideoCodec::Av1),
        "-global_quality"
    );
    assert_eq!(
        RateControl::Icq.quality_option(VideoCodec::H264),
        "-global_quality"
    );
    // VP9 is probed by nothing and targeted by no profile.
    assert_eq!(vaapi_encoder(VideoCodec::Vp9), None);
}
