//! The one integration-test binary. Each module covers an area; `support` starts the real
//! server (the library's `run`) on 127.0.0.1:0 with a temp data dir, and `clips` generates
//! test media once per run.

mod api_auth;
mod api_errors;
mod api_shapes;
mod appliance;
mod browser;
mod browser_eyes;
mod browser_pages;
mod cli;
mod clips;
mod engine_control;
mod engine_e2e;
mod faults;
mod hw;
mod hw_fallback;
mod kill;
mod media;
mod openapi;
mod pages;
mod pages_actions;
mod pages_content;
mod pages_profiles;
mod plan_cli;
mod profiles;
mod profiles_engine;
mod profiles_nested;
mod qemu;
mod reliability;
mod remux;
mod replace;
mod restart;
mod retry;
mod schema_fuzz;
mod smoke;
mod support;
mod tls;
