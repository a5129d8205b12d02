//! The server process: the harness's smoke test, start-up before the job index is ready, the
//! command line and config reload, and HTTPS.

mod cli;
mod smoke;
mod startup;
mod tls;
