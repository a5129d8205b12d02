//! Alchemist: turns a home media library into a smaller, better-encoded one on the NAS that
//! stores it. One binary serves the REST + SSE API, keeps all state in one redb file, scans
//! library folders and drives ffmpeg.
//!
//! Module map (dependencies run downwards: `web` → `engine` → `media`, `hw` → `process`;
//! `store`, `events`, `config` and `model` import none of those):

mod app; // wiring: open the store, start the engine, serve until shutdown
mod auth; // passwords, sessions, API tokens, throttling
pub mod backup; // backups: consistent store snapshot + config in a tar, validation, restore
mod board; // status LED and thermal guard through linux-embedded-hal; off unless configured
pub mod config; // one config source: TOML file + ALCHEMIST_* env + CLI, validated
mod discovery; // mDNS: announcing NAME.local and the web interface on the LAN
mod engine; // job state machine, dispatch, modes, pause/drain, scanner, recovery
mod events; // the Event enum and the broadcast bus with a replay ring
pub mod hw; // encoder capabilities
pub mod logs; // the server's own log: size-rotated JSON lines in <data>/logs/, read back, live tail
pub mod media; // probe → normalize → plan → args → run → verify
pub mod model; // shared vocabulary: job states, codecs, explanations
mod mqtt; // Home Assistant over MQTT: discovery, state, switch and mode commands
mod net; // the outbound HTTP client (ureq over rustls/ring), shared by notifications and integrations
pub mod process; // the only code that spawns, suspends and kills child processes
pub mod profiles; // encoding profiles: what they are, their rules, and the service that resolves them
mod resources; // live telemetry: CPU, memory, GPU busy, temperatures, uptime
mod serve; // the server loop: connection limits, TLS handshakes, header timeouts
pub mod store; // the only code that touches redb
pub mod tls; // HTTPS: rustls config from PEM files, TLS listener, first-boot certificate
mod update; // firmware updates: A/B slots through RAUC (status, verified install, reboot)
mod web; // HTTP: routes, problem+json errors, SSE, OpenAPI

// The deliberate public surface, for `main`, the tests, the benchmarks and the fuzz targets:
// the server itself, and the pieces they drive directly. Everything else is crate-private.
pub use app::{AppError, Listeners, run, run_with, run_with_store};
pub use auth::{Auth, sha256, verify_password};
pub use engine::originals;
pub use web::openapi;

#[cfg(test)]
mod layering_tests;
