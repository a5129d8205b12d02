//! Secrets: Argon2id password hashes, random opaque tokens stored only as SHA-256, and the
//! rules for user names and passwords.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};

use super::{AuthError, MAX_PASSWORD_LEN, MIN_PASSWORD_LEN};

/// A fresh secret and the hash under which it is stored.
pub struct NewSecret {
    pub plaintext: String,
    pub hash: [u8; 32],
}

pub fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// 256 random bits, hex encoded, with an optional prefix.
pub fn new_secret(prefix: &str) -> Result<NewSecret, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| AuthError::Hash)?;
    let plaintext = format!("{prefix}{}", hex::encode(bytes));
    let hash = sha256(&plaintext);
    Ok(NewSecret { plaintext, hash })
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|_| AuthError::Hash)?;
    Ok(hash.to_string())
}

pub fn verify_password(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// A real hash verified for unknown users, so both failures take the same time.
pub(super) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

pub fn validate_username(name: &str) -> Result<(), AuthError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AuthError::Invalid(
            "username must be 1-64 characters of letters, digits and . _ - @".into(),
        ))
    }
}

pub fn validate_password(password: &str) -> Result<(), AuthError> {
    if password.chars().count() < MIN_PASSWORD_LEN || password.len() > MAX_PASSWORD_LEN {
        return Err(AuthError::Invalid(format!(
            "password must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::API_TOKEN_PREFIX;

    #[test]
    fn passwords_hash_and_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password(&phc, "correct horse"));
        assert!(!verify_password(&phc, "wrong horse"));
        assert!(!verify_password("garbage", "x"));
    }

    #[test]
    fn secrets_are_random_and_prefixed() {
        let a = new_secret(API_TOKEN_PREFIX).unwrap();
        let b = new_secret(API_TOKEN_PREFIX).unwrap();
        assert_ne!(a.plaintext, b.plaintext);
        assert!(a.plaintext.starts_with("alc_"));
        assert_eq!(a.plaintext.len(), 4 + 64);
        assert_eq!(a.hash, sha256(&a.plaintext));
    }

    #[test]
    fn username_and_password_rules() {
        assert!(validate_username("admin").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username("a b").is_err());
        assert!(validate_password("short").is_err());
        assert!(validate_password("long enough").is_ok());
    }
}
