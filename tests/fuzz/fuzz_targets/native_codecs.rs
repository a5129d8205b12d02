//! The bitstream parsers behind the native probe on arbitrary bytes: H.264 and HEVC parameter
//! sets and configuration records, AV1's `av1C` and sequence header, VP9's `vpcC`, Dolby
//! Vision records, HDR metadata boxes, AAC's AudioSpecificConfig. None may panic; what they
//! return must be in range.
#![no_main]

use alchemist::media::native::{av1, codecs, colour, h264, hevc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for sps in [h264::parse_avcc(data), h264::parse_sps(data)].into_iter().flatten() {
        assert!(sps.chroma_format_idc <= 3 && (8..=14).contains(&sps.bit_depth));
    }
    if let Some(c) = hevc::parse_hvcc(data) {
        assert!(c.chroma_format_idc <= 3 && c.bit_depth <= 15);
    }
    let _ = hevc::parse_sps(data);
    if let Some(c) = av1::parse_av1c(data) {
        assert!(matches!(c.bit_depth, 8 | 10 | 12));
    }
    let _ = av1::parse_vpcc(data);
    let _ = colour::parse_dovi(data);
    let _ = colour::parse_mdcv(data);
    let _ = colour::parse_clli(data);
    let _ = codecs::aac_profile(data);
});
