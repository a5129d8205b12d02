//! Quality targets with real ffmpeg: the CRF search on samples of clips of different
//! complexity (`sampling`), and jobs whose profile has a target (`engine`): encoded at the
//! found CRF with the measured score near the target, or skipped after only the sample encodes.

mod engine;
mod forecast;
mod sampling;

use std::path::PathBuf;

use crate::support::clips::generate;

/// A clip of `seconds` at 320×180, 10 fps, keyframes every second, in MPEG-2 at high quality
/// (so the CPU encoders have something to save). `noisy` adds strong temporal noise: the hard
/// case for an encoder.
pub fn clip(name: &str, seconds: u32, noisy: bool) -> PathBuf {
    let noise = if noisy { ",noise=alls=40:allf=t" } else { "" };
    generate(
        name,
        &format!(
            "-f lavfi -i testsrc2=size=320x180:rate=10:duration={seconds}{noise} \
             -c:v mpeg2video -q:v 2 -g 10 -pix_fmt yuv420p -f matroska"
        ),
    )
}
