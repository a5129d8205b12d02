//! The one integration-test binary. Each module covers an area; `support` starts the real
//! server (the library's `run`) on 127.0.0.1:0 with a temp data dir, and `clips` generates
//! test media once per run.

mod clips;
mod media;
mod smoke;
mod support;
