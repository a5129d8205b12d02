//! The media pipeline as a library (probe, decide, arguments, run, verify) and the `plan` command.

mod pipeline;
mod plan;
