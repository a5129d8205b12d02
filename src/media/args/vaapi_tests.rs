//! Golden tests: whole VAAPI argument vectors for plans the planner makes from recorded
//! fixtures (8-bit H.264 → HEVC with CQP, HDR10 → HEVC Main10 with ICQ, interlaced MPEG-2 →
//! H.264 in low-power mode, AV1 with QVBR), plus the refusals.

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

#[test]
fn av1_with_qvbr_uses_the_q_index_scale_and_a_ceiling() {
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
             -rc_mode QVBR -global_quality 120 -b:v 4000000 -maxrate 4000000 \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
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
    );
}

#[test]
fn quality_mapping_is_clamped_to_each_scale() {
    assert_eq!(vaapi_quality(VideoCodec::Hevc, 28), 28);
    assert_eq!(vaapi_quality(VideoCodec::H264, 0), 1);
    assert_eq!(vaapi_quality(VideoCodec::H264, 60), 51);
    assert_eq!(vaapi_quality(VideoCodec::Av1, 35), 140);
    assert_eq!(vaapi_quality(VideoCodec::Av1, 63), 252);
    assert_eq!(vaapi_quality(VideoCodec::Vp9, 0), 1);
    assert_eq!(vaapi_encoder(VideoCodec::Vp9), "vp9_vaapi");
}
