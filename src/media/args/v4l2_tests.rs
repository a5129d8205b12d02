//! Golden tests: whole V4L2 argument vectors for plans the planner makes from recorded
//! fixtures, each on a device described the way the probe sees it, and the rules behind them.
//! The Raspberry Pi's bcm2835-codec (raspberrypi/linux, `bcm2835-v4l2-codec.c`) is the model:
//! ENUM_FRAMESIZES answers a 32–1920 × 32–1920 range in steps of 2, while TRY_FMT pads a YU12
//! row to 64 bytes and an NV12 row to 32 (`bytesperline_align` = 64/32 for the ENCODE role,
//! `get_bytesperline` = `ALIGN(width, align)`), and ffmpeg copies rows at its own line size
//! (`v4l2_buffer_swframe_to_buf`). Also: H.264 → HEVC on a 16-stepped encoder (hantro-like),
//! the bit-rate formula, the MP4-only rule and the refusals.

use super::*;
use crate::media::args::cpu::tests::{strings, words};
use crate::media::plan::{ContainerChoice, OutputContainer};
use crate::model::CpuEncoder;

fn planned(fixture: &str, encoder: CpuEncoder) -> Plan {
    crate::media::args::cpu::tests::planned(fixture, encoder, ContainerChoice::Auto)
}

fn planned_mp4(fixture: &str, encoder: CpuEncoder) -> Plan {
    crate::media::args::cpu::tests::planned(fixture, encoder, ContainerChoice::Mp4)
}

/// What the probe records for the Pi's encoder: steps of 2, 1920×1920 at most, and (measured
/// by TRY_FMT at an unaligned width) rows padded to `row_align`, planes not padded in height.
fn pi(row_align: u32) -> V4l2Geometry {
    V4l2Geometry {
        step_width: 2,
        step_height: 2,
        max_width: Some(1920),
        max_height: Some(1920),
        row_align: Some(row_align),
        plane_rows_align: Some(2),
    }
}

fn opts(
    (width, height, fps): (u32, u32, f64),
    formats: &[&str],
    device: V4l2Geometry,
) -> V4l2Options {
    V4l2Options {
        width,
        height,
        fps,
        source_bitrate: None,
        input_formats: formats.iter().map(|f| f.to_string()).collect(),
        device,
    }
}

fn golden(plan: &Plan, opts: &V4l2Options) -> Vec<String> {
    strings(
        build_v4l2_args(
            plan,
            Path::new("/media/in.mkv"),
            Path::new("/media/.out.mp4.alchemist-tmp-7"),
            opts,
        )
        .unwrap(),
    )
}

/// The case: a 720×576 DVD rip on the Pi. ENUM_FRAMESIZES says step 2, so the old rule
/// kept 720; the driver reads 768-byte rows (ALIGN(720, 64)) while ffmpeg writes 720-byte
/// ones, and the encode is sheared yet exits 0. 704 is the largest multiple of 64 below 720;
/// the height stays 576 (the driver does not pad the plane height when encoding). Interlaced,
/// so bwdif runs first; MP4, because the V4L2 encoder writes no extradata for Matroska.
#[test]
fn dvd_720x576_on_the_pi_is_scaled_to_704_wide_and_keeps_its_height() {
    let p = planned_mp4("mpeg2_interlaced", CpuEncoder::Libx264);
    assert_eq!(p.container, OutputContainer::Mp4);
    assert_eq!(
        golden(&p, &opts((720, 576, 25.0), &["YU12", "NV12"], pi(64))),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv -map 0:V:0 -map 0:a:0 \
             -vf bwdif=mode=send_frame:parity=auto:deint=all,scale=704:576 \
             -c:v h264_v4l2m2m -pix_fmt yuv420p -b:v 1014000 -g 250 \
             -c:a:0 aac -b:a:0 96000 -map_metadata 0 -map_chapters 0 \
             -movflags +faststart -f mp4 file:/media/.out.mp4.alchemist-tmp-7"
        )
    );
}

/// The same rule without a stride measurement (a record from before the probe measured it):
/// ffmpeg's side alone asks for 64 with yuv420p, so a step-2 device still gets 704.
#[test]
fn without_a_measured_stride_yuv420p_still_aligns_to_64() {
    let step2 = V4l2Geometry {
        row_align: None,
        plane_rows_align: None,
        ..pi(64)
    };
    assert_eq!(alignment("yuv420p", &step2), (64, 2));
    assert_eq!(output_size(720, 576, (64, 2), &step2), (704, 576));
    assert_eq!(output_size(854, 480, (64, 2), &step2), (832, 480));
}

/// NV12 rows are padded to 32 on the Pi: 1440 (a 32-multiple) needs no scale with NV12, while
/// with YU12 (64) it becomes 1408. The height is never aligned like the width: 1080 stays.
#[test]
fn nv12_aligns_to_32_and_yu12_to_64() {
    let p = Plan::simple(CpuEncoder::Libx264, OutputContainer::Mp4, 23, "medium");
    let nv12 = golden(&p, &opts((1440, 1080, 25.0), &["NV12"], pi(32)));
    assert!(!nv12.iter().any(|a| a == "-vf"), "{nv12:?}");
    assert!(
        nv12.windows(2).any(|w| w == ["-pix_fmt", "nv12"]),
        "{nv12:?}"
    );
    let yu12 = golden(&p, &opts((1440, 1080, 25.0), &["YU12"], pi(64)));
    assert!(
        yu12.windows(2).any(|w| w == ["-vf", "scale=1408:1080"]),
        "{yu12:?}"
    );
}

/// bcm2835-codec's `MAX_W_CODEC`/`MAX_H_CODEC` are 1920: TRY_FMT would clamp a 3840-wide
/// format to 1920 while ffmpeg still copies 3840-wide rows. A UHD source is scaled to fit,
/// keeping its aspect ratio.
#[test]
fn a_uhd_source_is_scaled_into_the_pis_1920_maximum() {
    let p = Plan::simple(CpuEncoder::Libx264, OutputContainer::Mp4, 23, "medium");
    let v = golden(&p, &opts((3840, 2160, 25.0), &["YU12"], pi(64)));
    assert!(
        v.windows(2).any(|w| w == ["-vf", "scale=1920:1080"]),
        "{v:?}"
    );
    // Portrait: the height is the limit.
    assert_eq!(output_size(1080, 3840, (64, 2), &pi(64)), (512, 1920));
}

/// A hantro/coda-like encoder whose frame sizes step by 16 in both directions: the width is
/// already a 64-multiple, the height drops to the device's step (1072), as the driver requires.
#[test]
fn h264_to_hevc_on_a_16_stepped_encoder() {
    let p = planned("h264_aac", CpuEncoder::Libx265);
    let sixteen = V4l2Geometry {
        step_width: 16,
        step_height: 16,
        ..V4l2Geometry::PLAIN
    };
    assert_eq!(
        golden(&p, &opts((1920, 1080, 25.0), &["YU12", "NV12"], sixteen)),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv -map 0:V:0 -map 0:a:0 \
             -vf scale=1920:1072 -c:v hevc_v4l2m2m -pix_fmt yuv420p -b:v 1877000 -g 250 \
             -tag:v hvc1 -c:a:0 copy -map_metadata 0 -map_chapters 0 \
             -movflags +faststart -f mp4 file:/media/.out.mp4.alchemist-tmp-7"
        )
    );
}

#[test]
fn aligned_source_on_an_nv12_device_is_capped_by_the_source_rate() {
    let p = Plan::simple(CpuEncoder::Libx264, OutputContainer::Mp4, 23, "medium");
    let mut o = opts((1280, 720, 30.0), &["NV12", "RGB3"], V4l2Geometry::PLAIN);
    o.source_bitrate = Some(2_000_000);
    assert_eq!(
        golden(&p, &o),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv -map 0:V:0 \
             -c:v h264_v4l2m2m -pix_fmt nv12 -b:v 1600000 -g 300 \
             -map_metadata 0 -map_chapters 0 \
             -movflags +faststart -f mp4 file:/media/.out.mp4.alchemist-tmp-7"
        )
    );
}

#[test]
fn bitrate_formula() {
    let o = opts((1920, 1080, 30.0), &["YU12"], V4l2Geometry::PLAIN);
    // 0.10 bpp × 1920 × 1080 × 30 = 6.22 Mb/s at CRF 23.
    assert_eq!(target_bitrate(VideoCodec::H264, 23, &o), 6_221_000);
    // Six CRF steps halve it; HEVC needs 35 % less.
    assert_eq!(target_bitrate(VideoCodec::H264, 29, &o), 3_110_000);
    assert_eq!(target_bitrate(VideoCodec::Hevc, 23, &o), 4_044_000);
    // Tiny or low-rate sources never fall to ffmpeg's 200 kb/s default.
    let tiny = opts((64, 64, 5.0), &["YU12"], V4l2Geometry::PLAIN);
    assert_eq!(target_bitrate(VideoCodec::Hevc, 40, &tiny), MIN_BITRATE);
    let mut capped = o.clone();
    capped.source_bitrate = Some(100_000);
    assert_eq!(target_bitrate(VideoCodec::H264, 23, &capped), MIN_BITRATE);
    // A measured row alignment that is not a power of two still combines with ffmpeg's.
    let odd = V4l2Geometry {
        row_align: Some(48),
        ..V4l2Geometry::PLAIN
    };
    assert_eq!(alignment("yuv420p", &odd), (192, 2));
    assert_eq!(alignment("nv12", &V4l2Geometry::PLAIN), (32, 2));
}

/// Matroska is refused: `v4l2_m2m_enc.c` sets no extradata, and the Matroska muxer cannot
/// write the H.264/HEVC `CodecPrivate` its header needs without it.
#[test]
fn refusals_and_remux() {
    let yuv = opts((1920, 1080, 25.0), &["YU12"], V4l2Geometry::PLAIN);
    let hdr = planned("hdr10_h264", CpuEncoder::Libx265);
    let run = |p: &Plan, o: &V4l2Options| {
        build_v4l2_args(p, Path::new("/in.mkv"), Path::new("/out.mp4"), o)
    };
    assert_eq!(run(&hdr, &yuv), Err(V4l2ArgsError::TenBit));
    let av1 = Plan::simple(CpuEncoder::Libsvtav1, OutputContainer::Mp4, 30, "8");
    assert_eq!(run(&av1, &yuv), Err(V4l2ArgsError::Codec(VideoCodec::Av1)));
    let h264 = Plan::simple(CpuEncoder::Libx264, OutputContainer::Mp4, 23, "medium");
    let mkv = Plan::simple(CpuEncoder::Libx264, OutputContainer::Mkv, 23, "medium");
    assert_eq!(run(&mkv, &yuv), Err(V4l2ArgsError::Container));
    let rgb = opts((1920, 1080, 25.0), &["RGB3"], V4l2Geometry::PLAIN);
    assert_eq!(run(&h264, &rgb), Err(V4l2ArgsError::PixelFormat));
    let no_fps = opts((1920, 1080, 0.0), &["YU12"], V4l2Geometry::PLAIN);
    assert_eq!(run(&h264, &no_fps), Err(V4l2ArgsError::Geometry));
    let narrow = opts((48, 480, 25.0), &["YU12"], V4l2Geometry::PLAIN);
    assert_eq!(run(&h264, &narrow), Err(V4l2ArgsError::Geometry));
    let mut remux = mkv.clone();
    remux.video = None;
    assert_eq!(
        run(&remux, &yuv).unwrap(),
        build_args(&remux, Path::new("/in.mkv"), Path::new("/out.mp4"))
    );
}
