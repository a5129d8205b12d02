//! Arbitrary bytes as an MP4/MOV file: the native header parser returns facts or declines,
//! never panics or loops, and facts it accepts turn into `MediaInfo` or a decline.
#![no_main]

use std::io::Cursor;

use alchemist::media::native::{info, mp4};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let size = data.len() as u64;
    if let Ok(facts) = mp4::read(&mut Cursor::new(data), size) {
        assert!(facts.streams.len() <= alchemist::media::native::MAX_STREAMS);
        if let Ok(i) = info::media_info(&facts, size) {
            assert!(i.duration.is_finite() && i.duration > 0.0, "{i:?}");
        }
    }
});
