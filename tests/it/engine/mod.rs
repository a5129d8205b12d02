//! The engine end to end with real ffmpeg: jobs, control, faults, retries, restarts, replace.

mod control;
mod e2e;
mod faults;
mod paused_mode;
mod remux;
mod replace;
mod restart;
mod retry;
mod segments;
