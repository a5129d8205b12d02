//! The server process: the harness's smoke test, the command line and config reload, and HTTPS.

mod cli;
mod smoke;
mod tls;
