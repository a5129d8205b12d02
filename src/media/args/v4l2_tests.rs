//! Golden tests: whole V4L2 argument vectors for plans the planner makes from recorded
//! fixtures (H.264 → HEVC on a 16-aligned encoder, which scales 1080 → 1072; interlaced
//! MPEG-2 → H.264 on a Raspberry-Pi-like 64-aligned encoder; a plain H.264 encode capped by the
//! source bit rate on an NV12-only device), the bit-rate formula, and the refusals.

use super::*;
use crate::media::args::cpu::tests::{strings, words};
use crate::media::plan::{ContainerChoice, OutputContainer};
use crate::model::CpuEncoder;

fn planned(fixture: &str, encoder: CpuEncoder) -> Plan {
    crate::media::args::cpu::tests::planned(fixture, encoder, ContainerChoice::Auto)
}

fn opts(width: u32, height: u32, fps: f64, formats: &[&str], align: u32) -> V4l2Options {
    V4l2Options {
        width,
        height,
        fps,
        source_bitrate: None,
        input_formats: formats.iter().map(|f| f.to_string()).collect(),
        align,
    }
}

fn golden(plan: &Plan, opts: &V4l2Options) -> Vec<String> {
    strings(
        build_v4l2_args(
            plan,
            Path::new("/media/in.mkv"),
            Path::new("/media/.out.mkv.alchemist-tmp-7"),
            opts,
        )
        .unwrap(),
    )
}

#[test]
fn h264_to_hevc_on_a_16_aligned_encoder() {
    let p = planned("h264_aac", CpuEncoder::Libx265);
    assert_eq!(
        golden(&p, &opts(1920, 1080, 25.0, &["YU12", "NV12"], 16)),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv -map 0:V:0 -map 0:a:0 \
             -vf scale=1920:1072 -c:v hevc_v4l2m2m -pix_fmt yuv420p -b:v 1877000 -g 250 \
             -tag:v hvc1 -c:a:0 copy -map_metadata 0 -map_chapters 0 \
             -movflags +faststart -f mp4 file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn interlaced_mpeg2_to_h264_deinterlaces_then_scales_to_64() {
    let p = planned("mpeg2_interlaced", CpuEncoder::Libx264);
    assert_eq!(
        golden(&p, &opts(720, 576, 25.0, &["YU12"], 64)),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv -map 0:V:0 -map 0:a:0 \
             -vf bwdif=mode=send_frame:parity=auto:deint=all,scale=704:576 \
             -c:v h264_v4l2m2m -pix_fmt yuv420p -b:v 1014000 -g 250 \
             -c:a:0 libopus -b:a:0 64000 -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn aligned_source_on_an_nv12_device_is_capped_by_the_source_rate() {
    let p = Plan::simple(CpuEncoder::Libx264, OutputContainer::Mkv, 23, "medium");
    let mut o = opts(1280, 720, 30.0, &["NV12", "RGB3"], 2);
    o.source_bitrate = Some(2_000_000);
    assert_eq!(
        golden(&p, &o),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv -map 0:V:0 \
             -c:v h264_v4l2m2m -pix_fmt nv12 -b:v 1600000 -g 300 \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn bitrate_formula() {
    let o = opts(1920, 1080, 30.0, &["YU12"], 2);
    // 0.10 bpp × 1920 × 1080 × 30 = 6.22 Mb/s at CRF 23.
    assert_eq!(target_bitrate(VideoCodec::H264, 23, &o), 6_221_000);
    // Six CRF steps halve it; HEVC needs 35 % less.
    assert_eq!(target_bitrate(VideoCodec::H264, 29, &o), 3_110_000);
    assert_eq!(target_bitrate(VideoCodec::Hevc, 23, &o), 4_044_000);
    // Tiny or low-rate sources never fall to ffmpeg's 200 kb/s default.
    let tiny = opts(64, 64, 5.0, &["YU12"], 2);
    assert_eq!(target_bitrate(VideoCodec::Hevc, 40, &tiny), MIN_BITRATE);
    let mut capped = o.clone();
    capped.source_bitrate = Some(100_000);
    assert_eq!(target_bitrate(VideoCodec::H264, 23, &capped), MIN_BITRATE);
    assert_eq!(aligned_size(1921, 1081, 0), (1920, 1080));
    assert_eq!(aligned_size(1920, 1080, 16), (1920, 1072));
}

#[test]
fn refusals_and_remux() {
    let yuv = opts(1920, 1080, 25.0, &["YU12"], 2);
    let hdr = planned("hdr10_h264", CpuEncoder::Libx265);
    let run = |p: &Plan, o: &V4l2Options| {
        build_v4l2_args(p, Path::new("/in.mkv"), Path::new("/out.mkv"), o)
    };
    assert_eq!(run(&hdr, &yuv), Err(V4l2ArgsError::TenBit));
    let av1 = Plan::simple(CpuEncoder::Libsvtav1, OutputContainer::Mkv, 30, "8");
    assert_eq!(run(&av1, &yuv), Err(V4l2ArgsError::Codec(VideoCodec::Av1)));
    let h264 = Plan::simple(CpuEncoder::Libx264, OutputContainer::Mkv, 23, "medium");
    let rgb = opts(1920, 1080, 25.0, &["RGB3"], 2);
    assert_eq!(run(&h264, &rgb), Err(V4l2ArgsError::PixelFormat));
    let no_fps = opts(1920, 1080, 0.0, &["YU12"], 2);
    assert_eq!(run(&h264, &no_fps), Err(V4l2ArgsError::Geometry));
    let mut remux = h264.clone();
    remux.video = None;
    assert_eq!(
        run(&remux, &yuv).unwrap(),
        build_args(&remux, Path::new("/in.mkv"), Path::new("/out.mkv"))
    );
}
