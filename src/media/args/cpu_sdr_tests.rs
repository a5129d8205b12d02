//! Golden tests of HDR to SDR on request: the tonemapping chain (zscale or libplacebo) after any
//! deinterlacing, the BT.709 tags, and the skip when the build has no tonemapper.

use super::*;

/// The plan for `fixture` with a profile asking for SDR output, with `caps`' tonemapper.
fn planned_sdr(
    fixture: &str,
    ten_bit: bool,
    tonemap: Option<crate::profiles::Tonemapper>,
) -> Decision {
    let path = format!(
        "{}/tests/fixtures/ffprobe/{fixture}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let info = normalize(&std::fs::read(path).unwrap(), 0).unwrap();
    let mut profile = Profile::from_settings(&EncodeSettings {
        encoder: CpuEncoder::Libx265,
        crf: None,
        preset: None,
        threads: 0,
    });
    profile.hdr = crate::profiles::HdrMode::Sdr;
    profile.ten_bit = ten_bit;
    let caps = Capabilities {
        tonemap,
        ..Capabilities::all_cpu()
    };
    plan(&info, &profile, &caps)
}

#[test]
fn hdr10_to_sdr_is_tonemapped_with_zscale_at_8_bits_and_tagged_bt709() {
    let Decision::Transcode(p) = planned_sdr(
        "hdr10_h264",
        false,
        Some(crate::profiles::Tonemapper::Zscale),
    ) else {
        panic!("not a transcode")
    };
    assert_eq!(
        golden(&p),
        words(
            "-hide_banner -nostdin -y -i file:/media/in.mkv \
             -map 0:V:0 -map 0:a:0 \
             -vf zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,\
             tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p \
             -c:v libx265 -preset medium -crf 28 -pix_fmt yuv420p \
             -color_primaries bt709 -color_trc bt709 -colorspace bt709 \
             -x265-params log-level=error -c:a:0 copy \
             -map_metadata 0 -map_chapters 0 \
             -f matroska file:/media/.out.mkv.alchemist-tmp-7"
        )
    );
}

#[test]
fn hlg_hevc_to_sdr_with_libplacebo_at_10_bits_is_encoded_though_already_hevc() {
    let Decision::Transcode(p) = planned_sdr(
        "hlg_hevc",
        true,
        Some(crate::profiles::Tonemapper::Libplacebo),
    ) else {
        panic!("an HEVC source wanted as SDR is encoded, not skipped")
    };
    let args = golden(&p);
    let vf = args.iter().position(|a| a == "-vf").unwrap();
    assert_eq!(
        args[vf + 1],
        "libplacebo=tonemapping=auto:colorspace=bt709:color_primaries=bt709:color_trc=bt709:\
         range=tv:format=yuv420p10le"
    );
    let pix = args.iter().position(|a| a == "-pix_fmt").unwrap();
    assert_eq!(args[pix + 1], "yuv420p10le");
    assert_eq!(p.explanation.measured["hdr"], "hdr_tonemapped_to_sdr");
    assert_eq!(p.explanation.measured["tonemapper"], "libplacebo");
}

#[test]
fn deinterlacing_comes_before_tonemapping() {
    let mut v = planned("hdr10_h264", CpuEncoder::Libx265, ContainerChoice::Auto)
        .video
        .unwrap();
    v.deinterlace = true;
    v.tonemap = Some(crate::profiles::Tonemapper::Zscale);
    v.ten_bit = false;
    let chain = super::filter_chain(&v).unwrap();
    assert!(
        chain.starts_with("bwdif=mode=send_frame:parity=auto:deint=all,zscale=t=linear"),
        "{chain}"
    );
}

#[test]
fn sdr_without_a_tonemapper_skips_and_hdr_is_preserved_by_default() {
    match planned_sdr("hdr10_h264", false, None) {
        Decision::Skip(r) => assert_eq!(r.code(), "tonemap_unavailable"),
        other => panic!("{other:?}"),
    }
    let p = planned("hdr10_h264", CpuEncoder::Libx265, ContainerChoice::Auto);
    assert_eq!(p.explanation.measured["hdr"], "hdr_preserved");
    assert_eq!(p.video.unwrap().tonemap, None);
    // An SDR source is untouched by `hdr: sdr`.
    match planned_sdr("h264_aac", false, None) {
        Decision::Transcode(p) => assert_eq!(p.video.unwrap().tonemap, None),
        other => panic!("{other:?}"),
    }
}
