//! Hardware encoders: detection as seen on this machine, and the fallback to the CPU.

mod detection;
mod fallback;
