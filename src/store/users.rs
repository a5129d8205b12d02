//! Users, sessions and API tokens as stored. Secrets never reach this layer in plaintext:
//! sessions and tokens are keyed by their SHA-256, passwords are Argon2id PHC strings.

use redb::{ReadableTable, ReadableTableMetadata};

use super::codec::{decode, encode};
use super::records::{AccessLevel, ApiToken, Session, User};
use super::tables::*;
use super::{Result, Store, StoreError};
use crate::model::now_ms;

impl Store {
    pub fn user_count(&self) -> Result<u64> {
        let read = self.read()?;
        let t = read.open_table(USERS)?;
        Ok(t.iter()?.count() as u64)
    }

    /// Create a user; `Conflict` when the name is taken.
    pub fn create_user(&self, username: &str, password_phc: &str) -> Result<User> {
        self.write(|txn| {
            let mut users = txn.open_table(USERS)?;
            if users.get(username)?.is_some() {
                return Err(StoreError::Conflict(format!("user `{username}` exists")));
            }
            let now = now_ms();
            let user = User {
                username: username.to_string(),
                password_phc: password_phc.to_string(),
                created_at: now,
                password_changed_at: now,
            };
            users.insert(username, encode(&user).as_slice())?;
            Ok(user)
        })
    }

    pub fn get_user(&self, username: &str) -> Result<Option<User>> {
        let read = self.read()?;
        let t = read.open_table(USERS)?;
        match t.get(username)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }

    /// Change a password and end every session of that user.
    pub fn set_password(&self, username: &str, password_phc: &str) -> Result<()> {
        self.write(|txn| {
            let mut users = txn.open_table(USERS)?;
            let mut user: User = match users.get(username)? {
                Some(v) => decode(v.value())?,
                None => return Err(StoreError::NotFound),
            };
            user.password_phc = password_phc.to_string();
            user.password_changed_at = now_ms();
            users.insert(username, encode(&user).as_slice())?;
            let mut sessions = txn.open_table(SESSIONS)?;
            sessions.retain(|_, v| {
                decode::<Session>(v)
                    .map(|s| s.username != username)
                    .unwrap_or(false)
            })?;
            Ok(())
        })
    }

    pub fn create_session(&self, token_hash: &[u8], username: &str, ttl_ms: i64) -> Result<()> {
        self.write(|txn| {
            let now = now_ms();
            let s = Session {
                username: username.to_string(),
                created_at: now,
                expires_at: now + ttl_ms,
            };
            txn.open_table(SESSIONS)?
                .insert(token_hash, encode(&s).as_slice())?;
            Ok(())
        })
    }

    /// A live session, extended (sliding expiry) when more than a day of it has been used.
    /// Read, expiry and extension happen in one write transaction, so a logout racing with
    /// a request cannot be undone by the extension.
    pub fn touch_session(&self, token_hash: &[u8], ttl_ms: i64) -> Result<Option<Session>> {
        const DAY_MS: i64 = 86_400_000;
        let now = now_ms();
        // Most requests need no write: look first in a read transaction.
        let current: Option<Session> = {
            let read = self.read()?;
            let t = read.open_table(SESSIONS)?;
            match t.get(token_hash)? {
                Some(v) => Some(decode(v.value())?),
                None => None,
            }
        };
        match current {
            None => return Ok(None),
            Some(s) if s.expires_at > now && s.expires_at - now >= ttl_ms - DAY_MS => {
                return Ok(Some(s));
            }
            Some(_) => {}
        }
        self.write(|txn| {
            let mut t = txn.open_table(SESSIONS)?;
            let stored: Option<Session> = match t.get(token_hash)? {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            let Some(mut s) = stored else {
                return Ok(None);
            };
            if s.expires_at <= now {
                t.remove(token_hash)?;
                return Ok(None);
            }
            s.expires_at = now + ttl_ms;
            t.insert(token_hash, encode(&s).as_slice())?;
            Ok(Some(s))
        })
    }

    /// Delete a session; `false` when there was none. An unknown token costs a read only: a
    /// sign-out needs no credential, so a flood of made-up ones must not be a flood of durable
    /// writes (each an fsync on the box's flash).
    pub fn delete_session(&self, token_hash: &[u8]) -> Result<bool> {
        let known = self
            .read()?
            .open_table(SESSIONS)?
            .get(token_hash)?
            .is_some();
        if !known {
            return Ok(false);
        }
        self.write(|txn| Ok(txn.open_table(SESSIONS)?.remove(token_hash)?.is_some()))
    }

    /// Remove expired sessions; returns how many.
    pub fn prune_sessions(&self) -> Result<usize> {
        let now = now_ms();
        self.write(|txn| {
            let mut t = txn.open_table(SESSIONS)?;
            let before = t.len()?;
            t.retain(|_, v| {
                decode::<Session>(v)
                    .map(|s| s.expires_at > now)
                    .unwrap_or(false)
            })?;
            Ok((before - t.len()?) as usize)
        })
    }

    pub fn create_token(
        &self,
        name: &str,
        access_level: AccessLevel,
        token_hash: &[u8],
    ) -> Result<ApiToken> {
        self.write(|txn| {
            let id = Store::next_id(txn, "next_token_id")?;
            let token = ApiToken {
                id,
                name: name.to_string(),
                access_level,
                created_at: now_ms(),
                last_used_at: None,
                revoked_at: None,
            };
            txn.open_table(API_TOKENS)?
                .insert(id, encode(&token).as_slice())?;
            txn.open_table(API_TOKEN_HASHES)?.insert(token_hash, id)?;
            Ok(token)
        })
    }

    /// Every token, newest first (revoked ones included, marked).
    pub fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        let read = self.read()?;
        let t = read.open_table(API_TOKENS)?;
        let mut out = Vec::new();
        for e in t.iter()?.rev() {
            out.push(decode(e?.1.value())?);
        }
        Ok(out)
    }

    /// Revoke a token: its hash is removed, so it stops working at once. Idempotent.
    pub fn revoke_token(&self, id: u64) -> Result<ApiToken> {
        self.write(|txn| {
            let mut tokens = txn.open_table(API_TOKENS)?;
            let mut token: ApiToken = match tokens.get(id)? {
                Some(v) => decode(v.value())?,
                None => return Err(StoreError::NotFound),
            };
            if token.revoked_at.is_none() {
                token.revoked_at = Some(now_ms());
                tokens.insert(id, encode(&token).as_slice())?;
                let mut hashes = txn.open_table(API_TOKEN_HASHES)?;
                hashes.retain(|_, v| v != id)?;
            }
            Ok(token)
        })
    }

    /// The live token with this hash.
    pub fn token_by_hash(&self, token_hash: &[u8]) -> Result<Option<ApiToken>> {
        let read = self.read()?;
        let Some(id) = read
            .open_table(API_TOKEN_HASHES)?
            .get(token_hash)?
            .map(|v| v.value())
        else {
            return Ok(None);
        };
        let t = read.open_table(API_TOKENS)?;
        let token: Option<ApiToken> = match t.get(id)? {
            Some(v) => Some(decode(v.value())?),
            None => None,
        };
        Ok(token.filter(|t| t.revoked_at.is_none()))
    }

    /// Record a use of a token.
    pub fn touch_token(&self, id: u64) -> Result<()> {
        self.write(|txn| {
            let mut tokens = txn.open_table(API_TOKENS)?;
            let token: Option<ApiToken> = match tokens.get(id)? {
                Some(v) => Some(decode(v.value())?),
                None => None,
            };
            if let Some(mut token) = token {
                token.last_used_at = Some(now_ms());
                tokens.insert(id, encode(&token).as_slice())?;
            }
            Ok(())
        })
    }
}
