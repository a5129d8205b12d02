//! The `alchemist` binary: sets up logging, parses the command line and runs the command
//! (`cli`); everything else lives in the library.

mod cli;

use clap::Parser;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn main() -> anyhow::Result<()> {
    // Standard error follows ALCHEMIST_LOG; the files in <data>/logs/ follow `[logs] level`
    // once `serve` has read the config (each layer has its own filter).
    // Debug lines of the libraries are never shown (`logs::not_a_dependencys_debug`).
    let asked = tracing_subscriber::EnvFilter::try_from_env("ALCHEMIST_LOG")
        .unwrap_or_else(|_| "info".into());
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(asked.and(filter_fn(alchemist::logs::not_a_dependencys_debug)));
    tracing_subscriber::registry()
        .with(stderr)
        .with(alchemist::logs::layer())
        .init();
    cli::run(cli::Cli::parse())
}
