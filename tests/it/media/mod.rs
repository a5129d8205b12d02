//! The media pipeline as a library (probe, decide, arguments, run, verify), the native probe
//! against ffprobe, and the `plan` command.

mod native_probe;
mod pipeline;
mod plan;
