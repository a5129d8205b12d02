//! The command line: its arguments (clap) and what each command does, through the library's
//! public API. `serve` runs the server until SIGINT or SIGTERM; the other commands do their one
//! thing and exit.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use alchemist::config::{Config, DEFAULT_DATA_DIR, Overrides};

#[derive(Parser)]
#[command(name = "alchemist", version, about = "NAS media library transcoder")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Data directory (redb store, config file).
        #[arg(long, env = "ALCHEMIST_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Address to listen on, e.g. 0.0.0.0:3000.
        #[arg(long, env = "ALCHEMIST_LISTEN")]
        listen: Option<String>,
        /// Library folder to scan (repeatable).
        #[arg(long = "library", env = "ALCHEMIST_LIBRARY", value_delimiter = ':')]
        libraries: Vec<PathBuf>,
        /// Config file (default: <data-dir>/alchemist.toml when present).
        #[arg(long, env = "ALCHEMIST_CONFIG")]
        config: Option<PathBuf>,
        /// PEM certificate (chain): serve HTTPS on --listen. Needs --tls-key.
        #[arg(long, env = "ALCHEMIST_TLS_CERT")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert.
        #[arg(long, env = "ALCHEMIST_TLS_KEY")]
        tls_key: Option<PathBuf>,
        /// With TLS: also listen for plain HTTP here and redirect it to HTTPS, e.g. 0.0.0.0:80.
        #[arg(long, env = "ALCHEMIST_HTTP_LISTEN")]
        http_listen: Option<String>,
    },
    /// Manage administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// TLS certificates.
    Tls {
        #[command(subcommand)]
        command: TlsCommand,
    },
    /// Print the OpenAPI document the server serves at /api/openapi.json.
    Openapi,
    /// Restore a backup (from GET /api/system/backup or <data-dir>/backups/) into a data
    /// directory whose server is stopped. The archive is checked first; the current state is
    /// backed up into <data-dir>/backups/ before the store and config are replaced.
    Restore {
        #[arg(long, env = "ALCHEMIST_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        /// The backup archive (.tar).
        file: PathBuf,
    },
    /// Print what would be done with each file (directories are walked); encodes nothing.
    Plan {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// One JSON array instead of text.
        #[arg(long)]
        json: bool,
        /// Target encoder: libx265, libsvtav1 or libx264.
        #[arg(long, default_value = "libx265")]
        encoder: String,
        /// Start from a built-in profile (balanced, space_saver, compatible) instead.
        #[arg(long)]
        profile: Option<String>,
        #[arg(long, env = "ALCHEMIST_FFPROBE", default_value = "ffprobe")]
        ffprobe: PathBuf,
    },
    /// Detect encoders now (CPU test encodes, VAAPI render nodes) and print what can encode
    /// what, why hardware is or is not used, and every probe command with its output.
    Probe {
        /// The capabilities as JSON instead of a report.
        #[arg(long)]
        json: bool,
        #[arg(long, env = "ALCHEMIST_FFMPEG", default_value = "ffmpeg")]
        ffmpeg: PathBuf,
    },
}

#[derive(Subcommand)]
enum TlsCommand {
    /// Write a self-signed certificate and its key (mode 0600) for this box's names. Refuses
    /// (exit status 1) when either file already exists: nothing is ever overwritten.
    Init {
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        key: PathBuf,
        /// Host name for the certificate (default: the system's); NAME.local, localhost and
        /// the loopback addresses are added.
        #[arg(long)]
        hostname: Option<String>,
        /// An extra IP address for the certificate (repeatable).
        #[arg(long = "ip")]
        ips: Vec<IpAddr>,
        /// An extra DNS name for the certificate (repeatable), e.g. the mDNS name the box
        /// announces (`[discovery] hostname`) when it is not the host name.
        #[arg(long = "name")]
        names: Vec<String>,
    },
    /// Print the SHA-256 fingerprint of a PEM certificate, as browsers show it.
    Fingerprint {
        #[arg(long)]
        cert: PathBuf,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator; the password is read from standard input.
    Create {
        #[arg(long, env = "ALCHEMIST_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
        #[arg(long)]
        username: String,
    },
}

/// Run the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            data_dir,
            listen,
            libraries,
            config,
            tls_cert,
            tls_key,
            http_listen,
        } => serve(Overrides {
            data_dir,
            listen,
            libraries,
            config_file: config,
            tls_cert,
            tls_key,
            http_listen,
        }),
        Command::Tls {
            command:
                TlsCommand::Init {
                    cert,
                    key,
                    hostname,
                    ips,
                    names,
                },
        } => tls_init(cert, key, hostname, ips, names),
        Command::Tls {
            command: TlsCommand::Fingerprint { cert },
        } => {
            println!("{}", alchemist::tls::fingerprint(&cert)?);
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { data_dir, username },
        } => admin_create(data_dir, &username),
        Command::Plan {
            paths,
            json,
            encoder,
            profile,
            ffprobe,
        } => plan(&paths, json, &encoder, profile.as_deref(), &ffprobe),
        Command::Probe { json, ffmpeg } => probe(json, &ffmpeg),
        Command::Restore { data_dir, file } => {
            let done = alchemist::backup::restore(&data_dir, &file)
                .with_context(|| format!("restore of {} refused", file.display()))?;
            if let Some(previous) = &done.previous {
                println!("the previous state was saved to {}", previous.display());
            }
            println!(
                "restored a backup of {} (alchemist {}) into {}",
                done.manifest.created,
                done.manifest.product_version,
                data_dir.display()
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", alchemist::openapi().to_pretty_json()?);
            Ok(())
        }
    }
}

fn serve(overrides: Overrides) -> anyhow::Result<()> {
    let mut config = Config::load(overrides.clone())?;
    // A restore staged by the running server (system page, POST /api/system/restore) is
    // applied before the store opens; the config is read again, the archive may replace it.
    match alchemist::backup::apply_pending(&config.data_dir) {
        Ok(Some(done)) => {
            tracing::warn!(
                created = %done.manifest.created,
                previous = ?done.previous,
                "restored a backup staged before the restart"
            );
            config = Config::load(overrides)?;
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "the staged restore was not applied; starting on the current state")
        }
    }
    // Without its log files the server still serves: say so on standard error and go on.
    match alchemist::logs::install(&config.data_dir, &config.logs) {
        Ok(()) => alchemist::logs::refresh_filters(),
        Err(e) => tracing::warn!(error = %e, "server logs are not kept in files"),
    }
    let data_dir = config.data_dir.clone();
    let signalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runtime = tokio::runtime::Runtime::new()?;
    let by_signal = signalled.clone();
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let http_redirect = match config.tls.as_ref().and_then(|t| t.http_listen) {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?,
            ),
            None => None,
        };
        let listeners = alchemist::Listeners {
            main: listener,
            http_redirect,
        };
        let shutdown = CancellationToken::new();
        let signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down");
            by_signal.store(true, std::sync::atomic::Ordering::SeqCst);
            signal.cancel();
        });
        alchemist::run_with(config, listeners, shutdown).await?;
        anyhow::Ok(())
    });
    // A blocking task still running (a notification's HTTP attempt waits up to its timeout)
    // does not hold the exit, whether the server stopped or failed: dropping the runtime
    // would wait for it without limit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    served?;
    // The server stopped itself to restore a backup: start again (same process id, same
    // arguments, so the appliance's init script and a shell see one server) and apply it
    // first. Stopped by a signal instead, the next start applies it.
    if !signalled.load(std::sync::atomic::Ordering::SeqCst)
        && alchemist::backup::pending_path(&data_dir).is_file()
    {
        tracing::warn!("restarting to restore the staged backup");
        let err = restart_self();
        bail!("cannot restart to restore the backup: {err}");
    }
    Ok(())
}

/// Replace this process with a new run of the same binary and arguments. Every descriptor
/// Rust opens is close-on-exec, so the listening sockets and the store's lock are released.
fn restart_self() -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_else(|| "alchemist".into());
    std::process::Command::new("/proc/self/exe")
        .arg0(argv0)
        .args(args)
        .exec()
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn plan(
    paths: &[PathBuf],
    json: bool,
    encoder: &str,
    preset: Option<&str>,
    ffprobe: &std::path::Path,
) -> anyhow::Result<()> {
    use alchemist::media::plan::{EncodeSettings, Profile};
    use alchemist::media::report;
    let profile = match preset {
        Some(name) => Profile::preset(name).with_context(|| {
            format!("unknown profile `{name}` ({})", Profile::PRESETS.join(", "))
        })?,
        None => Profile::from_settings(&EncodeSettings {
            encoder: encoder.parse().map_err(anyhow::Error::msg)?,
            crf: None,
            preset: None,
            threads: 0,
        }),
    };
    let files = report::expand(paths);
    let runtime = tokio::runtime::Runtime::new()?;
    let reports = runtime.block_on(report::plan_paths(ffprobe, &profile, files));
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        print!("{}", report::render_text(&reports));
    }
    Ok(())
}

fn probe(json: bool, ffmpeg: &std::path::Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let caps = runtime.block_on(alchemist::hw::detect(ffmpeg));
    if json {
        let report = alchemist::hw::ProbeReport::new(caps);
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", alchemist::hw::render_text(&caps));
    }
    Ok(())
}

fn tls_init(
    cert: PathBuf,
    key: PathBuf,
    hostname: Option<String>,
    ips: Vec<IpAddr>,
    names: Vec<String>,
) -> anyhow::Result<()> {
    use alchemist::tls::{CertRequest, default_hostname, init_self_signed};
    let hostname = hostname.unwrap_or_else(default_hostname);
    let mut req = CertRequest::new(&cert, &key, &hostname);
    req.ips = ips;
    req.dns_names = names;
    init_self_signed(&req)?;
    println!(
        "self-signed certificate for {} written to {} (key {})",
        req.names().join(", "),
        cert.display(),
        key.display()
    );
    Ok(())
}

fn admin_create(data_dir: PathBuf, username: &str) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut password)
        .context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("no password on standard input");
    }
    let store = alchemist::store::Store::open(&data_dir)?;
    let auth = alchemist::Auth::new(store, 30);
    auth.create_user_blocking(username, password)?;
    println!("admin `{username}` created in {}", data_dir.display());
    Ok(())
}
