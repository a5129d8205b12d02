//! Every helper the integration tests share, one module per kind. Tests import from here, never
//! from each other: an area's folder holds only its tests and what no other area needs.
//!
//! - `server`: the real server on 127.0.0.1:0 with a temp data dir (`TestServer`)
//! - `wait`: `wait_until` and the time bounds every wait uses
//! - `sse`: the event stream, events of a job, quiet windows
//! - `api`, `shapes`, `openapi`: requests, problem documents, response shapes, the routes
//! - `jobs`: scans, enqueues, job details, a long encode in flight
//! - `library`: a paused server with a scanned library of fake files
//! - `pages`: the HTML pages without JavaScript
//! - `clips`, `files`, `procs`: generated media, files on disk, processes in /proc
//! - `binary`: the `alchemist` binary run as a process
//! - `https`, `raw`: an HTTPS client trusting one certificate, raw HTTP/1.1 exchanges
//! - `rng`, `tmpfs`: a seeded RNG, a small disk to fill (needs root)
//! - `qemu`: the appliance boot tests' harness
//! - `served`: the `alchemist serve` binary with an admin signed in, and log lines on demand

pub mod api;
pub mod binary;
pub mod clips;
pub mod files;
pub mod https;
pub mod jobs;
pub mod library;
pub mod openapi;
pub mod pages;
pub mod procs;
pub mod qemu;
pub mod raw;
pub mod rng;
pub mod served;
pub mod server;
pub mod shapes;
pub mod sse;
pub mod tmpfs;
pub mod wait;

pub use server::{ADMIN, PASSWORD, TestServer, create_admin};
pub use wait::{LONG_JOB, PROMPT, SHORT_JOB, wait_until};
