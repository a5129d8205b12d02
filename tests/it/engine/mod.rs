//! The engine end to end with real ffmpeg: jobs, control, faults, retries, restarts, replace.

pub mod control;
pub mod e2e;
pub mod faults;
mod remux;
mod replace;
mod restart;
mod retry;
