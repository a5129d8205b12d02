//! Wiring: load the TLS certificate (if configured), open the store (its job index builds in
//! the background), start the engine, register configured library folders, watch the config
//! file, serve HTTP or HTTPS (plus the optional plain-HTTP redirect listener) until shutdown,
//! then stop the engine so interrupted jobs go back to the queue.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
use crate::config::{
    Config, LiveSettings, WatchSettings, changed_keys, changed_watch_keys, read_file,
    transcode_settings, watch_settings,
};
use crate::engine::{Engine, EngineConfig, FolderError};
use crate::events::{Event, EventBus};
use crate::model::LogLevel;
use crate::serve::Limits;
use crate::store::{Store, StoreError};
use crate::tls::TlsError;

/// How often the config file is checked for hand edits.
const CONFIG_POLL: Duration = Duration::from_secs(2);

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot start the engine: {0}")]
    Engine(#[from] crate::engine::EngineError),
    #[error("library folder {path}: {message}")]
    Folder { path: PathBuf, message: String },
    #[error("server error: {0}")]
    Serve(#[from] std::io::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("a plain-HTTP redirect listener was given, but TLS is not configured")]
    RedirectWithoutTls,
}

/// The sockets the server answers on (bound by the caller, so tests can use port 0).
pub struct Listeners {
    /// HTTPS when the config has `[tls]`, else plain HTTP.
    pub main: TcpListener,
    /// Plain HTTP that redirects to HTTPS (`[tls] http_listen`); only with TLS.
    pub http_redirect: Option<TcpListener>,
}

/// Run the server on `listener` (HTTPS when `config.tls` is set) until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let listeners = Listeners {
        main: listener,
        http_redirect: None,
    };
    run_with(config, listeners, shutdown).await
}

/// Run the server on all of `listeners` until `shutdown` is cancelled.
pub async fn run_with(
    config: Config,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    // First, so a wrong certificate path fails the start before anything else happens.
    let tls = tls_config(&config, &listeners)?;
    // Quick: the job index is built in the background (`store::load`), so the server listens
    // (and answers `/api/health`) at once; `/api/ready` says when the index is there.
    let store = {
        let dir = config.data_dir.clone();
        tokio::task::spawn_blocking(move || Store::open(&dir))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??
    };
    run_on(config, store, tls, listeners, shutdown).await
}

/// [`run_with`] on a store the caller opened: a test that holds the index build back
/// (`Store::open_deferred`) to see the server before the index is ready.
pub async fn run_with_store(
    config: Config,
    store: Store,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let tls = tls_config(&config, &listeners)?;
    run_on(config, store, tls, listeners, shutdown).await
}

/// The TLS settings of `config`, checked against the listeners.
fn tls_config(
    config: &Config,
    listeners: &Listeners,
) -> Result<Option<std::sync::Arc<rustls::ServerConfig>>, AppError> {
    match &config.tls {
        Some(t) => Ok(Some(crate::tls::server_config(&t.cert, &t.key)?)),
        None if listeners.http_redirect.is_some() => Err(AppError::RedirectWithoutTls),
        None => Ok(None),
    }
}

async fn run_on(
    config: Config,
    store: Store,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> Result<(), AppError> {
    let events = EventBus::new();
    let engine_shutdown = CancellationToken::new();
    // The workers start once the server listens (see `serve`).
    let listening = CancellationToken::new();
    let engine = Engine::start(
        store.clone(),
        events.clone(),
        EngineConfig {
            ffmpeg: config.ffmpeg.clone(),
            ffprobe: config.ffprobe.clone(),
            transcode: config.transcode.clone(),
            retry_base: config.retry_base,
            stall_timeout: config.stall_timeout,
            library_roots: config.security.library_roots.clone(),
            data_dir: config.data_dir.clone(),
            watch: config.watch.clone(),
            low_space: config.low_space,
            config_file: config.config_file.clone(),
            backup: config.backup.clone(),
            start_gate: Some(listening.clone()),
        },
        engine_shutdown.clone(),
    )
    .await?;
    let board = crate::board::start(&config.board, &engine);
    crate::mqtt::start(&engine, &store, &board);
    for path in &config.libraries {
        match engine.folders.add(path.clone(), true, None).await {
            Ok(folder) => tracing::info!(path = ?folder.path, "library folder added"),
            Err(FolderError::Exists(_)) => {}
            Err(e) => {
                return Err(AppError::Folder {
                    path: path.clone(),
                    message: e.to_string(),
                });
            }
        }
    }
    if let Some(file) = config.config_file.clone() {
        tokio::spawn(watch_config(
            file,
            (engine.settings.clone(), engine.folders.clone()),
            config.watch.clone(),
            events.clone(),
            shutdown.clone(),
        ));
    }
    if config.scan_on_start {
        engine.scanner.start();
    }
    let mut allowed_hosts = config.security.allowed_hosts.clone();
    if config.discovery.mdns {
        // The name announced over mDNS is one the box answers for.
        allowed_hosts.push(format!("{}.local", config.discovery.hostname));
    }
    let hosts = crate::web::AllowedHosts::new(&crate::tls::default_hostname(), &allowed_hosts);
    let app = crate::web::router(crate::web::Services {
        store: store.clone(),
        engine: engine.clone(),
        auth: Auth::with_limits(
            store.clone(),
            config.session_days,
            config.security.login_concurrency(),
            config.security.login_queue,
        ),
        board,
        shutdown: shutdown.clone(),
        secure_cookies: tls.is_some(),
        hosts: hosts.clone(),
        request_timeout: config.security.request_timeout,
        config_file: config.config_file.clone(),
        maintenance: crate::web::Maintenance::new(
            config.ffmpeg.clone(),
            config.ffprobe.clone(),
            config.low_space,
        ),
        proxy: config.proxy.clone(),
    });
    let served = serve(app, listeners, tls, &config, hosts, shutdown, listening).await;
    engine.shutdown().await;
    served
}

/// Serve `app` on the main listener (over TLS when `tls` is set) and, when given, the redirect
/// router on the plain-HTTP one, until shutdown, under the `[security]` limits. Once both
/// accept, `listening` is cancelled: it holds the engine's workers back until then.
async fn serve(
    app: axum::Router,
    listeners: Listeners,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    config: &Config,
    hosts: crate::web::AllowedHosts,
    shutdown: CancellationToken,
    listening: CancellationToken,
) -> Result<(), AppError> {
    let addr = listeners.main.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let fd_limit = match crate::process::raise_fd_limit() {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            1024
        }
    };
    let security = &config.security;
    let limits = Limits {
        max_connections: security.max_connections(fd_limit),
        max_per_client: security.max_connections_per_client,
        header_timeout: security.header_timeout,
        handshake_timeout: security.handshake_timeout,
    };
    tracing::info!(
        %addr,
        scheme,
        data_dir = %config.data_dir.display(),
        max_connections = limits.max_connections,
        "serving"
    );
    let announcer = announce(config, addr.port(), tls.is_some(), &listeners, &hosts);
    let main = crate::serve::serve(
        listeners.main,
        tls,
        app.clone(),
        limits.clone(),
        shutdown.clone(),
    );
    let redirect = async {
        let Some(plain) = listeners.http_redirect else {
            return Ok(());
        };
        tracing::info!(addr = %plain.local_addr()?, "redirecting plain HTTP to HTTPS");
        let router = crate::web::https_redirect(app.clone(), addr.port(), hosts);
        crate::serve::serve(plain, None, router, limits.clone(), shutdown.clone()).await
    };
    // Polled after both servers' first poll, which starts their accept loops: from here the
    // engine's workers (hardware detection's ffmpeg, the first jobs) take the cores.
    let release = async {
        listening.cancel();
    };
    let (main, redirect, ()) = tokio::join!(main, redirect, release);
    if let Some(announcer) = announcer {
        let _ = tokio::task::spawn_blocking(move || announcer.stop()).await;
        let _ = std::fs::remove_file(config.data_dir.join(crate::discovery::NAME_FILE));
    }
    main?;
    redirect?;
    Ok(())
}

/// Announce the listeners over mDNS when `[discovery] mdns` is on, and say where the box is:
/// in the log, and in `<data>/mdns-name` for the console. When another device already has the
/// name and the box takes another, it answers for that one too (`hosts`) and says so.
/// A failure (no multicast-capable interface) is logged, not fatal: the box still serves.
fn announce(
    config: &Config,
    port: u16,
    tls: bool,
    listeners: &Listeners,
    hosts: &crate::web::AllowedHosts,
) -> Option<crate::discovery::Announcer> {
    // A name left by a run that crashed is not this one's.
    let _ = std::fs::remove_file(config.data_dir.join(crate::discovery::NAME_FILE));
    if !config.discovery.mdns {
        return None;
    }
    let redirect = listeners
        .http_redirect
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.port());
    let services = crate::discovery::announcements(port, tls, redirect);
    let base = &config.proxy.base_path;
    let configured = config.discovery.hostname.clone();
    let renamed = {
        let (hosts, services, base) = (hosts.clone(), services.clone(), base.clone());
        let (data_dir, configured) = (config.data_dir.clone(), configured.clone());
        move |label: &str| {
            hosts.add(&format!("{label}.local"));
            crate::discovery::write_name(&data_dir, label);
            for s in &services {
                let url = crate::discovery::url(label, s, &base);
                tracing::warn!(
                    %url,
                    service = s.kind,
                    "another device on the network answers to {configured}.local: this box is \
                     announced as {label}.local instead; open {url}"
                );
            }
        }
    };
    // Written before the responder starts: a rename it makes later writes over it.
    crate::discovery::write_name(&config.data_dir, &configured);
    match crate::discovery::Announcer::start(&config.discovery, &services, base, renamed) {
        Ok(announcer) => {
            for s in &services {
                let url = crate::discovery::url(&configured, s, base);
                tracing::info!(%url, service = s.kind, "announced over mDNS: open {url}");
            }
            Some(announcer)
        }
        Err(e) => {
            let _ = std::fs::remove_file(config.data_dir.join(crate::discovery::NAME_FILE));
            tracing::warn!(error = %e, "cannot announce the box over mDNS");
            None
        }
    }
}

/// Reload hot settings (`[transcode]` and `[watch]`) when the config file changes; publish
/// `config_updated` with the keys that changed.
async fn watch_config(
    path: PathBuf,
    (settings, folders): (LiveSettings, crate::engine::Folders),
    mut watch: WatchSettings,
    events: EventBus,
    shutdown: CancellationToken,
) {
    let mtime = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut last: Option<SystemTime> = mtime(&path);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CONFIG_POLL) => {}
            _ = shutdown.cancelled() => return,
        }
        let now = mtime(&path);
        if now == last {
            continue;
        }
        last = now;
        // Each table on its own: a mistake in one does not hold up the other.
        let file = match read_file(&path) {
            Ok(f) => f,
            Err(e) => {
                not_applied(&events, &e);
                continue;
            }
        };
        let mut keys = Vec::new();
        match transcode_settings(&file.transcode) {
            Ok(new) => {
                let changed = changed_keys(&settings.get(), &new);
                if !changed.is_empty() {
                    settings.set(new);
                    keys.extend(changed);
                }
            }
            Err(e) => not_applied(&events, &e),
        }
        match watch_settings(&file.watch) {
            Ok(new) => {
                let changed = changed_watch_keys(&watch, &new);
                if !changed.is_empty() {
                    folders.apply_watch_settings(new.clone());
                    watch = new;
                    keys.extend(changed);
                }
            }
            Err(e) => not_applied(&events, &e),
        }
        if !keys.is_empty() {
            tracing::info!(?keys, "config file reloaded");
            events.publish(Event::ConfigUpdated { keys });
        }
    }
}

/// Say that an edit of the config file was refused: the running settings stay.
fn not_applied(events: &EventBus, e: &crate::config::ConfigError) {
    tracing::warn!(error = %e, "config file changed but is invalid; keeping the old settings");
    events.publish(Event::Log {
        job_id: None,
        level: LogLevel::Warning,
        message: format!("config file not applied: {e}"),
    });
}
