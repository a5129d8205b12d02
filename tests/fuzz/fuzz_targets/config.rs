//! The config file: any text either parses and validates into a `Config` or is refused with a
//! message; neither step may panic.
#![no_main]

use alchemist::config::{Config, Overrides, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(file) => {
            let _ = Config::from_parts(&Overrides::default(), &file);
        }
        Err(message) => assert!(!message.is_empty()),
    }
});
