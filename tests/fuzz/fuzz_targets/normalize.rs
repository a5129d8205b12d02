//! ffprobe JSON → `MediaInfo` → a decision under every built-in profile → the ffmpeg argument
//! vector. Nothing on that path may panic, whatever ffprobe (or a hostile file) made it print;
//! and what the normaliser accepts must be internally sane.
#![no_main]

use std::path::Path;

use alchemist::media::args::build_args;
use alchemist::media::normalize::normalize;
use alchemist::media::plan::{Decision, plan};
use alchemist::profiles::{Capabilities, Profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(info) = normalize(data, data.len() as u64) else {
        return;
    };
    assert!(info.duration.is_finite() && info.duration >= 0.0, "{info:?}");
    let caps = Capabilities::all_cpu();
    for name in Profile::PRESETS {
        let Some(profile) = Profile::preset(name) else {
            continue;
        };
        match plan(&info, &profile, &caps) {
            Decision::Skip(reason) => {
                let e = reason.explanation();
                assert!(!e.code.is_empty() && !e.summary.is_empty());
            }
            Decision::Remux(p) | Decision::Transcode(p) => {
                let args = build_args(&p, Path::new("/in/x.mkv"), Path::new("/in/.x.tmp"));
                assert!(args.len() > 4);
            }
        }
    }
});
