//! Authentication: Argon2id passwords, opaque session and API tokens stored only as SHA-256,
//! login limits (per-client throttle, per-name backoff, a bounded hashing queue, and known
//! devices that skip them), and the `Principal` a request acts as. The HTTP side
//! (cookies, headers, extractors) lives in `web::auth`.

mod backoff;
mod gate;
mod secrets;
mod throttle;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use utoipa::ToSchema;

use crate::model::{ClientKey, rfc3339};
use crate::store::{AccessLevel, ApiToken, Store, StoreError};
use backoff::UserBackoff;
use gate::HashGate;
use secrets::dummy_hash;
pub use secrets::{
    hash_password, new_secret, sha256, validate_password, validate_username, verify_password,
};
pub use throttle::Throttle;

/// Prefix of API tokens, so they are recognisable in configs and secret scanners.
pub const API_TOKEN_PREFIX: &str = "alc_";
/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest accepted password (Argon2 input; longer is a denial-of-service vector).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Wrong passwords sent with a known device's cookie before the device is forgotten (a
/// stolen cookie must not buy unthrottled guessing).
pub const DEVICE_FAILURE_LIMIT: u32 = 5;

/// The login throttles: per client (address or IPv6 /64) and per user name.
#[derive(Default)]
struct Throttles {
    clients: Throttle,
    users: UserBackoff,
}

/// A good login: the session token, and the device cookie to set when the browser is new.
#[derive(Debug)]
pub struct LoggedIn {
    pub session: String,
    pub new_device: Option<String>,
}

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// A logged-in user (cookie or Bearer session token).
    Session { username: String, via_cookie: bool },
    /// An API token.
    Token { id: u64, access_level: AccessLevel },
}

impl Principal {
    /// Sessions and `full_access` tokens may change things; `read_only` tokens may not.
    pub fn full_access(&self) -> bool {
        match self {
            Principal::Session { .. } => true,
            Principal::Token { access_level, .. } => *access_level == AccessLevel::FullAccess,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("too many failed logins; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("too many logins at once; retry in {retry_after} s")]
    Busy { retry_after: u64 },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed")]
    Hash,
    #[error("token {0} does not exist")]
    TokenNotFound(u64),
    #[error("the authentication task failed: {0}")]
    Task(String),
}

/// An API token as the API and the tokens page show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenView {
    pub id: u64,
    pub name: String,
    pub access_level: AccessLevel,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        TokenView {
            id: t.id,
            name: t.name,
            access_level: t.access_level,
            created_at: rfc3339(t.created_at),
            last_used_at: t.last_used_at.map(rfc3339),
            revoked_at: t.revoked_at.map(rfc3339),
        }
    }
}

/// Authentication service. Its work is blocking (Argon2 and redb); the async methods run it on
/// the blocking pool, the way `Store::call` does.
#[derive(Clone)]
pub struct Auth {
    store: Store,
    throttles: Arc<Mutex<Throttles>>,
    gate: HashGate,
    session_ttl_ms: i64,
    /// Bumped whenever a credential stops working (logout, token revoked), so that long-lived
    /// responses (the event stream) can check theirs again and end.
    revocations: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Auth {
    /// With the default login limits (half the cores hashing, a queue of 32).
    pub fn new(store: Store, session_days: u32) -> Auth {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Auth::with_limits(store, session_days, (cores / 2).max(1), 32)
    }

    /// `concurrent` password hashes at once for unknown devices, `queue` logins waiting.
    pub fn with_limits(store: Store, session_days: u32, concurrent: usize, queue: usize) -> Auth {
        // Compute the dummy hash now, off the request path, so the first login with an
        // unknown name takes no longer than one with a wrong password.
        std::thread::spawn(dummy_hash);
        Auth {
            store,
            throttles: Arc::new(Mutex::new(Throttles::default())),
            gate: HashGate::new(concurrent, queue),
            session_ttl_ms: session_days as i64 * 86_400_000,
            revocations: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// Tell long-lived responses that some credential stopped working.
    pub fn revoked(&self) {
        self.revocations.send_modify(|generation| *generation += 1);
    }

    /// Changes whenever [`Auth::revoked`] is called.
    pub fn revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revocations.subscribe()
    }

    pub fn session_ttl_secs(&self) -> i64 {
        self.session_ttl_ms / 1000
    }

    /// Run blocking auth work from async code.
    async fn call<T, F>(&self, f: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce(&Auth) -> Result<T, AuthError> + Send + 'static,
    {
        let auth = self.clone();
        tokio::task::spawn_blocking(move || f(&auth))
            .await
            .map_err(|e| AuthError::Task(e.to_string()))?
    }

    /// Create a user (first-run admin, console command).
    pub async fn create_user(&self, username: &str, password: &str) -> Result<(), AuthError> {
        let (username, password) = (username.to_string(), password.to_string());
        self.call(move |a| a.create_user_blocking(&username, &password))
            .await
    }

    /// [`Auth::create_user`] for the console and tests: blocking, never from async code.
    pub fn create_user_blocking(&self, username: &str, password: &str) -> Result<(), AuthError> {
        validate_username(username)?;
        validate_password(password)?;
        let phc = hash_password(password)?;
        self.store.create_user(username, &phc)?;
        Ok(())
    }

    /// Check credentials and open a session. `device` is the browser's device cookie, if it
    /// sent one: a device that logged in as this user before skips the throttles and has a
    /// hashing lane of its own (see `gate`); any other login is throttled per client and per
    /// name, and waits in a bounded queue for its turn to hash (503 beyond it).
    pub async fn login(
        &self,
        client: IpAddr,
        username: &str,
        password: &str,
        device: Option<&str>,
    ) -> Result<LoggedIn, AuthError> {
        let device_hash = device.filter(|d| d.len() <= 128).map(sha256);
        let known = match device_hash {
            Some(hash) => {
                let name = username.to_string();
                self.call(move |a| Ok(a.store.device(&hash)?))
                    .await?
                    .is_some_and(|d| d.username == name)
            }
            None => false,
        };
        if !known {
            let now = std::time::Instant::now();
            let mut t = self.throttles();
            // Counted before the password is checked; a success clears them.
            t.clients
                .attempt(ClientKey::of(client), now)
                .map_err(|retry_after| AuthError::RateLimited { retry_after })?;
            t.users
                .attempt(username, now)
                .map_err(|retry_after| AuthError::RateLimited { retry_after })?;
        }
        let (name, password) = (username.to_string(), password.to_string());
        let auth = self.clone();
        let device = known.then_some(device_hash).flatten();
        let logged_in = self
            .gate
            .run(known, move || auth.login_blocking(&name, &password, device))
            .await
            .map_err(|gate::Busy(retry_after)| AuthError::Busy { retry_after })??;
        let mut t = self.throttles();
        t.clients.success(ClientKey::of(client));
        t.users.success(username);
        Ok(logged_in)
    }

    fn login_blocking(
        &self,
        username: &str,
        password: &str,
        known_device: Option<[u8; 32]>,
    ) -> Result<LoggedIn, AuthError> {
        let user = self.store.get_user(username)?;
        let ok = match &user {
            Some(u) => verify_password(&u.password_phc, password),
            None => {
                verify_password(dummy_hash(), password);
                false
            }
        };
        if !ok {
            if let Some(hash) = known_device {
                self.store.device_failed(&hash, DEVICE_FAILURE_LIMIT)?;
            }
            return Err(AuthError::InvalidCredentials);
        }
        let secret = new_secret("")?;
        self.store
            .create_session(&secret.hash, username, self.session_ttl_ms)?;
        let new_device = match known_device {
            Some(hash) => {
                self.store.device_logged_in(&hash, username)?;
                None
            }
            None => {
                let device = new_secret("")?;
                self.store.device_logged_in(&device.hash, username)?;
                Some(device.plaintext)
            }
        };
        Ok(LoggedIn {
            session: secret.plaintext,
            new_device,
        })
    }

    /// End a session; streams opened with it end too. An unknown token changes nothing and
    /// wakes no stream.
    pub async fn logout(&self, token: &str) -> Result<(), AuthError> {
        let hash = sha256(token);
        let ended = self
            .call(move |a| Ok(a.store.delete_session(&hash)?))
            .await?;
        if ended {
            self.revoked();
        }
        Ok(())
    }

    /// Resolve a presented token: a session first, then an API token.
    pub async fn authenticate(
        &self,
        token: &str,
        via_cookie: bool,
    ) -> Result<Option<Principal>, AuthError> {
        let token = token.to_string();
        self.call(move |a| a.authenticate_now(&token, via_cookie))
            .await
    }

    fn authenticate_now(
        &self,
        token: &str,
        via_cookie: bool,
    ) -> Result<Option<Principal>, AuthError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let hash = sha256(token);
        if let Some(session) = self.store.touch_session(&hash, self.session_ttl_ms)? {
            return Ok(Some(Principal::Session {
                username: session.username,
                via_cookie,
            }));
        }
        if via_cookie || !token.starts_with(API_TOKEN_PREFIX) {
            return Ok(None);
        }
        match self.store.token_by_hash(&hash)? {
            Some(t) => {
                self.note_token_use(&t)?;
                Ok(Some(Principal::Token {
                    id: t.id,
                    access_level: t.access_level,
                }))
            }
            None => Ok(None),
        }
    }

    /// `last_used_at` is written at most once a minute per token, not on every request.
    fn note_token_use(&self, t: &ApiToken) -> Result<(), AuthError> {
        let now = crate::model::now_ms();
        if t.last_used_at.is_none_or(|at| now - at > 60_000) {
            self.store.touch_token(t.id)?;
        }
        Ok(())
    }

    /// Create an API token; returns its view and the plaintext (shown once).
    pub async fn create_token(
        &self,
        name: &str,
        level: AccessLevel,
    ) -> Result<(TokenView, String), AuthError> {
        let name = name.to_string();
        let (token, plaintext) = self
            .call(move |a| a.create_token_blocking(&name, level))
            .await?;
        Ok((token.into(), plaintext))
    }

    /// API tokens, newest first.
    pub async fn tokens(&self) -> Result<Vec<TokenView>, AuthError> {
        let tokens = self.call(|a| Ok(a.store.list_tokens()?)).await?;
        Ok(tokens.into_iter().map(TokenView::from).collect())
    }

    /// Revoke a token: it stops working at once, and event streams opened with it end.
    pub async fn revoke_token(&self, id: u64) -> Result<(), AuthError> {
        self.call(move |a| match a.store.revoke_token(id) {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound) => Err(AuthError::TokenNotFound(id)),
            Err(e) => Err(e.into()),
        })
        .await?;
        self.revoked();
        Ok(())
    }

    /// [`Auth::create_token`] for tests: blocking, never from async code.
    pub fn create_token_blocking(
        &self,
        name: &str,
        level: AccessLevel,
    ) -> Result<(ApiToken, String), AuthError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AuthError::Invalid(
                "token name must be 1-100 characters".into(),
            ));
        }
        let secret = new_secret(API_TOKEN_PREFIX)?;
        let token = self.store.create_token(name, level, &secret.hash)?;
        Ok((token, secret.plaintext))
    }

    fn throttles(&self) -> std::sync::MutexGuard<'_, Throttles> {
        self.throttles.lock().unwrap_or_else(|p| p.into_inner())
    }
}
