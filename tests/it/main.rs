//! The one integration-test binary, one folder per area. `support` holds every shared helper:
//! the real server (the library's `run`) on 127.0.0.1:0 with a temp data dir, the event-stream
//! reader, `wait_until`, generated clips, and the qemu harness of the appliance boot tests.

mod api;
mod appliance;
mod backup;
mod engine;
mod hw;
mod integrations;
mod logs;
mod maintenance;
mod media;
mod mqtt;
mod notify;
mod output;
mod pages;
mod profiles;
mod quality;
mod queue;
mod reliability;
mod schedule;
mod server;
mod streams;
mod support;
mod watch;
