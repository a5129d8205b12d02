//! One configuration source. Values come from, in order of precedence: command-line flags,
//! `ALCHEMIST_*` environment variables (both through clap), the TOML config file, then built-in
//! defaults. The result is validated once; no I/O here beyond reading the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::{CpuEncoder, OriginalPolicy, VerifyMode};

mod backup;
pub mod board;
mod discovery;
mod live;
mod logs;
mod notify;
mod proxy;
mod security;
mod transcode;
mod watch;

pub use backup::{BackupFile, BackupSettings, backup_settings};
pub use board::BoardSettings;
pub use discovery::{DiscoveryFile, DiscoverySettings, discovery_settings};
pub use live::LiveSettings;
pub use logs::{LogSettings, LogsFile, log_settings};
pub use notify::{LowSpaceSettings, NotifyFile, low_space_settings};
pub use proxy::{ProxyFile, ProxySettings, proxy_settings};
pub use security::{SecurityFile, SecuritySettings, security_settings};
pub use transcode::{
    DEFAULT_TRASH_DAYS, TranscodeFile, TranscodeSettings, changed_keys, transcode_settings,
};
pub use watch::{WatchFile, WatchSettings, changed_watch_keys, watch_settings};

/// Default listen address: loopback, so a fresh install is not exposed until configured.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// Name of the config file looked up in the data directory when none is given.
pub const CONFIG_FILE_NAME: &str = "alchemist.toml";
/// Environment variable that shortens the wait before the first automatic retry of a failed
/// job, in milliseconds. For tests and field debugging, so deliberately not a documented
/// option: the engine's default (`engine::retry`) is right for a NAS.
pub const RETRY_BASE_ENV: &str = "ALCHEMIST_RETRY_BASE_MS";
/// How long a hardware encode may make no progress before it is killed and done on the CPU
/// (milliseconds; the engine's default when unset). Tests shorten it.
pub const STALL_TIMEOUT_ENV: &str = "ALCHEMIST_STALL_TIMEOUT_MS";

/// The TOML file. Every key optional; unknown keys are an error so typos are caught.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    #[serde(default)]
    pub libraries: Vec<PathBuf>,
    pub ffmpeg: Option<PathBuf>,
    pub ffprobe: Option<PathBuf>,
    #[serde(default)]
    pub transcode: TranscodeFile,
    pub session_days: Option<u32>,
    pub scan_on_start: Option<bool>,
    /// `[board]`: status LED and temperature sensor; absent = off.
    #[serde(default)]
    pub board: board::BoardFile,
    /// `[tls]`: serve HTTPS on `listen` with this certificate and key.
    pub tls: Option<TlsFile>,
    /// `[security]`: allowed host names, library roots, connection and login limits.
    #[serde(default)]
    pub security: SecurityFile,
    /// `[watch]`: watching library folders for new files.
    #[serde(default)]
    pub watch: WatchFile,
    /// `[notifications]`: when a library filesystem counts as low on space.
    #[serde(default)]
    pub notifications: NotifyFile,
    /// `[backup]`: automatic backups.
    #[serde(default)]
    pub backup: BackupFile,
    /// `[logs]`: the server's log files and their rotation.
    #[serde(default)]
    pub logs: LogsFile,
    /// `[proxy]`: a path prefix and the reverse proxies whose forwarding headers count.
    #[serde(default)]
    pub proxy: ProxyFile,
    /// `[discovery]`: announcing the box over mDNS.
    #[serde(default)]
    pub discovery: DiscoveryFile,
}

/// `[tls]` table. `cert` and `key` come together; `http_listen` adds a plain-HTTP listener
/// that redirects to HTTPS (the health probes answer on it directly).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub http_listen: Option<String>,
}

/// Values given on the command line or in the environment (already merged by clap).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub libraries: Vec<PathBuf>,
    pub config_file: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub http_listen: Option<String>,
}

/// The validated configuration the program runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Library folders to register at start (in addition to those stored).
    pub libraries: Vec<PathBuf>,
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    pub transcode: TranscodeSettings,
    /// Sliding session lifetime.
    pub session_days: u32,
    pub scan_on_start: bool,
    /// The file the config was read from, watched for hand edits.
    pub config_file: Option<PathBuf>,
    /// Wait before the first automatic retry; `None` = the engine's default.
    /// From [`RETRY_BASE_ENV`] only.
    pub retry_base: Option<Duration>,
    /// How long a hardware encode may make no progress; `None` = the engine's default.
    /// From [`STALL_TIMEOUT_ENV`] only.
    pub stall_timeout: Option<Duration>,
    /// Board I/O (`[board]`); off unless configured.
    pub board: BoardSettings,
    /// HTTPS on `listen` when set.
    pub tls: Option<TlsSettings>,
    pub security: SecuritySettings,
    pub watch: WatchSettings,
    /// `[notifications]`: the low-space thresholds.
    pub low_space: LowSpaceSettings,
    pub backup: BackupSettings,
    /// `[logs]`: size-rotated log files in `<data>/logs/`.
    pub logs: LogSettings,
    /// `[proxy]`: base path and trusted reverse proxies.
    pub proxy: ProxySettings,
    /// `[discovery]`: mDNS announcement; off unless configured.
    pub discovery: DiscoverySettings,
}

/// Validated `[tls]` settings (the files are read when the server starts).
#[derive(Debug, Clone, PartialEq)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Plain-HTTP listener that redirects to HTTPS.
    pub http_listen: Option<SocketAddr>,
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Config {
    /// Defaults only (used by tests and as the base of `load`).
    pub fn defaults(data_dir: &Path) -> Config {
        Config {
            data_dir: data_dir.to_path_buf(),
            listen: DEFAULT_LISTEN.parse().expect("constant address parses"),
            libraries: Vec::new(),
            ffmpeg: PathBuf::from("ffmpeg"),
            ffprobe: PathBuf::from("ffprobe"),
            transcode: TranscodeSettings {
                original: OriginalPolicy::Keep,
                trash_days: DEFAULT_TRASH_DAYS,
                verify: VerifyMode::Sample,
                encoder: CpuEncoder::Libx265,
                crf: None,
                preset: None,
                segment_seconds: transcode::DEFAULT_SEGMENT_SECONDS,
                segment_min_seconds: transcode::DEFAULT_SEGMENT_MIN_SECONDS,
            },
            session_days: 30,
            scan_on_start: true,
            config_file: None,
            retry_base: None,
            stall_timeout: None,
            board: BoardSettings::default(),
            tls: None,
            security: SecuritySettings::default(),
            watch: WatchSettings::default(),
            low_space: LowSpaceSettings::default(),
            backup: BackupSettings::default(),
            logs: LogSettings::default(),
            proxy: ProxySettings::default(),
            discovery: DiscoverySettings::default(),
        }
    }

    /// Build the configuration from overrides and the config file they point to (explicitly, or
    /// `<data_dir>/alchemist.toml` when it exists).
    pub fn load(overrides: Overrides) -> Result<Config, ConfigError> {
        let explicit = overrides.config_file.clone();
        let guessed_dir = overrides
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let path = explicit
            .clone()
            .or_else(|| Some(guessed_dir.join(CONFIG_FILE_NAME)).filter(|p| p.is_file()));
        let file = match &path {
            Some(p) => read_file(p)?,
            None => FileConfig::default(),
        };
        let mut config = Config::from_parts(&overrides, &file)?;
        config.config_file = path;
        config.retry_base = retry_base(std::env::var(RETRY_BASE_ENV).ok().as_deref())?;
        config.stall_timeout = positive_ms(
            STALL_TIMEOUT_ENV,
            std::env::var(STALL_TIMEOUT_ENV).ok().as_deref(),
        )?;
        Ok(config)
    }

    /// Merge overrides over a parsed file, then validate. Pure.
    pub fn from_parts(overrides: &Overrides, file: &FileConfig) -> Result<Config, ConfigError> {
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let mut config = Config::defaults(&data_dir);
        let listen = overrides
            .listen
            .clone()
            .or_else(|| file.listen.clone())
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        config.listen = listen.parse().map_err(|_| ConfigError::Invalid {
            key: "listen",
            message: format!("`{listen}` is not an ADDRESS:PORT"),
        })?;
        config.libraries = file.libraries.clone();
        for lib in &overrides.libraries {
            if !config.libraries.contains(lib) {
                config.libraries.push(lib.clone());
            }
        }
        if let Some(p) = &file.ffmpeg {
            config.ffmpeg = p.clone();
        }
        if let Some(p) = &file.ffprobe {
            config.ffprobe = p.clone();
        }
        config.transcode = transcode_settings(&file.transcode)?;
        if let Some(days) = file.session_days {
            if days == 0 || days > 3650 {
                return Err(ConfigError::Invalid {
                    key: "session_days",
                    message: "must be between 1 and 3650".into(),
                });
            }
            config.session_days = days;
        }
        if let Some(scan) = file.scan_on_start {
            config.scan_on_start = scan;
        }
        config.board = board::board_settings(&file.board)?;
        config.tls = tls_settings(overrides, file.tls.as_ref(), config.listen)?;
        config.security = security_settings(&file.security)?;
        config.watch = watch_settings(&file.watch)?;
        config.low_space = low_space_settings(&file.notifications)?;
        config.backup = backup_settings(&file.backup)?;
        config.logs = log_settings(&file.logs)?;
        config.proxy = proxy_settings(&file.proxy)?;
        config.discovery = discovery_settings(&file.discovery)?;
        Ok(config)
    }
}

/// Merge and validate `[tls]`: both files or neither; a redirect listener only with TLS and
/// not on the HTTPS address.
fn tls_settings(
    overrides: &Overrides,
    file: Option<&TlsFile>,
    listen: SocketAddr,
) -> Result<Option<TlsSettings>, ConfigError> {
    let file = file.cloned().unwrap_or_default();
    let cert = overrides.tls_cert.clone().or(file.cert);
    let key = overrides.tls_key.clone().or(file.key);
    let http_listen = overrides.http_listen.clone().or(file.http_listen);
    let (cert, key) = match (cert, key) {
        (Some(c), Some(k)) => (c, k),
        (None, None) => {
            return match http_listen {
                Some(_) => Err(ConfigError::Invalid {
                    key: "tls.http_listen",
                    message: "redirects to HTTPS, so it needs tls.cert and tls.key".into(),
                }),
                None => Ok(None),
            };
        }
        _ => {
            return Err(ConfigError::Invalid {
                key: "tls",
                message: "`cert` and `key` must be given together".into(),
            });
        }
    };
    let http_listen = match http_listen {
        None => None,
        Some(text) => {
            let addr: SocketAddr = text.parse().map_err(|_| ConfigError::Invalid {
                key: "tls.http_listen",
                message: format!("`{text}` is not an ADDRESS:PORT"),
            })?;
            if addr.port() == listen.port() && addr.port() != 0 {
                return Err(ConfigError::Invalid {
                    key: "tls.http_listen",
                    message: format!("port {} is the HTTPS port (`listen`)", addr.port()),
                });
            }
            Some(addr)
        }
    };
    Ok(Some(TlsSettings {
        cert,
        key,
        http_listen,
    }))
}

/// Parse [`RETRY_BASE_ENV`]: whole milliseconds, at least 1. Pure.
pub fn retry_base(value: Option<&str>) -> Result<Option<Duration>, ConfigError> {
    positive_ms(RETRY_BASE_ENV, value)
}

/// Parse a duration variable `key`: whole milliseconds, at least 1; unset or blank is `None`.
/// Pure.
pub fn positive_ms(
    key: &'static str,
    value: Option<&str>,
) -> Result<Option<Duration>, ConfigError> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match text.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms))),
        _ => Err(ConfigError::Invalid {
            key,
            message: format!("`{text}` is not a positive number of milliseconds"),
        }),
    }
}

/// Read and parse a config file.
pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|message| ConfigError::Parse {
        path: path.to_path_buf(),
        message,
    })
}

/// Parse config text. Pure.
pub fn parse(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| e.message().to_string())
}

#[cfg(test)]
mod tests;
