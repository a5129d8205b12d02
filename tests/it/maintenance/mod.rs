//! Self-test and restore from the running server (issue 16): the self-test's report on a real
//! server with real encodes and library folders, kept and shown on the system page; a backup
//! restored through the API by the real binary, which restarts itself; damaged archives
//! refused with nothing changed.

mod restore;
mod selftest;
mod uploads;
