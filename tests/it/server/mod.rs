//! The server process: the harness's smoke test, start-up before the job index is ready, the
//! command line and config reload, HTTPS, and running behind a reverse proxy.

mod cli;
mod mdns;
mod proxy;
mod smoke;
mod startup;
mod tls;
