//! Reliability under abuse: load, SIGKILL, hostile input, malformed media, attacks on auth.
//!
//! Issue 7's suite: concurrent API load while real encodes run (`load`), SIGKILL of the real
//! binary during store write bursts (`crash`) and at random points of a library's encodes and
//! replacements (`kill`), malformed and random media files through the engine
//! (`media_inputs`), hostile input to every documented route plus symlinks out of a library
//! folder (`hostile`), and attacks on authentication (`auth_abuse`). Each test prints its
//! counts (requests, cycles, inputs) so the closing note of the issue can cite them.

mod auth_abuse;
mod boundaries;
mod crash;
mod floods;
mod hostile;
mod kill;
mod load;
mod media_inputs;
