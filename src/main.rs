//! The `alchemist` binary: sets up logging, parses the command line and runs the command
//! (`cli`); everything else lives in the library.

mod cli;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ALCHEMIST_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    cli::run(cli::Cli::parse())
}
