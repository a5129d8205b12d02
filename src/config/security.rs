//! The `[security]` table: which host names the server answers for (DNS rebinding), where
//! library folders may live, and the limits that keep a hostile client from taking the box
//! down (connections, timeouts, password hashing). Every key has a safe default; see README's
//! "Security" section.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Connections one client (an IPv4 address or an IPv6 /64) may hold open: a browser opens
/// about six, the event stream one more; more is an attack or a misconfigured proxy.
pub const DEFAULT_MAX_CONNECTIONS_PER_CLIENT: usize = 64;
/// A client that has not sent a request's headers within this time (its first request, or the
/// next one on a kept-alive connection) is disconnected.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(15);
/// A TLS handshake not finished within this time is dropped; a real browser needs a few
/// hundred milliseconds on a slow board.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A request (its body included) not answered within this time gets 408; the event stream
/// and downloads are answered at once and then stream, so this does not limit them.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Logins waiting for a password hash beyond this are answered 503 at once.
pub const DEFAULT_LOGIN_QUEUE: usize = 32;
/// File descriptors kept for everything but client connections (the store, ffmpeg's pipes and
/// files, the library walk).
pub const RESERVED_FDS: u64 = 256;
/// Upper bound of the automatic connection limit.
pub const MAX_AUTO_CONNECTIONS: u64 = 16_384;

/// `[security]` as written in the file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityFile {
    /// Host names (besides `localhost`, the box's name, `NAME.local` and IP addresses) the
    /// server answers for, e.g. a name your router gives it.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Folders under which library folders may be added; absent = anywhere but system
    /// locations.
    pub library_roots: Option<Vec<PathBuf>>,
    /// Open connections in all; absent or 0 = from the file descriptor limit.
    pub max_connections: Option<usize>,
    pub max_connections_per_client: Option<usize>,
    pub header_timeout_seconds: Option<u64>,
    pub tls_handshake_timeout_seconds: Option<u64>,
    pub request_timeout_seconds: Option<u64>,
    /// Password hashes computed at once; absent or 0 = half the cores (at least 1).
    pub login_concurrency: Option<usize>,
    pub login_queue: Option<usize>,
}

/// Validated `[security]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SecuritySettings {
    pub allowed_hosts: Vec<String>,
    /// `None`: anywhere but the system locations (`library::SYSTEM_LOCATIONS`).
    pub library_roots: Option<Vec<PathBuf>>,
    /// 0 = from the file descriptor limit when the server starts.
    pub max_connections: usize,
    pub max_connections_per_client: usize,
    pub header_timeout: Duration,
    pub handshake_timeout: Duration,
    pub request_timeout: Duration,
    /// 0 = half the cores (at least 1).
    pub login_concurrency: usize,
    pub login_queue: usize,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        SecuritySettings {
            allowed_hosts: Vec::new(),
            library_roots: None,
            max_connections: 0,
            max_connections_per_client: DEFAULT_MAX_CONNECTIONS_PER_CLIENT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            login_concurrency: 0,
            login_queue: DEFAULT_LOGIN_QUEUE,
        }
    }
}

impl SecuritySettings {
    /// Password hashes at once: the setting, or half the cores (at least 1).
    pub fn login_concurrency(&self) -> usize {
        if self.login_concurrency > 0 {
            return self.login_concurrency;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cores / 2).max(1)
    }

    /// Connections in all: the setting, or what the file descriptor limit leaves.
    pub fn max_connections(&self, fd_limit: u64) -> usize {
        if self.max_connections > 0 {
            return self.max_connections;
        }
        fd_limit
            .saturating_sub(RESERVED_FDS)
            .clamp(64, MAX_AUTO_CONNECTIONS) as usize
    }
}

fn seconds(
    key: &'static str,
    value: Option<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(0) => Err(ConfigError::Invalid {
            key,
            message: "must be at least 1 second".into(),
        }),
        Some(s) if s > 3600 => Err(ConfigError::Invalid {
            key,
            message: "must be at most 3600 seconds".into(),
        }),
        Some(s) => Ok(Duration::from_secs(s)),
    }
}

/// Validate `[security]`.
pub fn security_settings(file: &SecurityFile) -> Result<SecuritySettings, ConfigError> {
    for host in &file.allowed_hosts {
        let ok = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !ok {
            return Err(ConfigError::Invalid {
                key: "security.allowed_hosts",
                message: format!("`{host}` is not a host name"),
            });
        }
    }
    if let Some(roots) = &file.library_roots
        && let Some(bad) = roots.iter().find(|r| !r.is_absolute())
    {
        return Err(ConfigError::Invalid {
            key: "security.library_roots",
            message: format!("`{}` is not an absolute path", bad.display()),
        });
    }
    let d = SecuritySettings::default();
    Ok(SecuritySettings {
        allowed_hosts: file
            .allowed_hosts
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        library_roots: file.library_roots.clone(),
        max_connections: file.max_connections.unwrap_or(0),
        max_connections_per_client: file
            .max_connections_per_client
            .unwrap_or(d.max_connections_per_client)
            .max(1),
        header_timeout: seconds(
            "security.header_timeout_seconds",
            file.header_timeout_seconds,
            d.header_timeout,
        )?,
        handshake_timeout: seconds(
            "security.tls_handshake_timeout_seconds",
            file.tls_handshake_timeout_seconds,
            d.handshake_timeout,
        )?,
        request_timeout: seconds(
            "security.request_timeout_seconds",
            file.request_timeout_seconds,
            d.request_timeout,
        )?,
        login_concurrency: file.login_concurrency.unwrap_or(0),
        login_queue: file.login_queue.unwrap_or(d.login_queue),
    })
}
