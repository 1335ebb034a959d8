//! Passwords (argon2id) and secrets (device tokens, API keys): random, shown once, stored as a
//! SHA-256 hash so a copy of the database signs no one in.

use crate::error::AppError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Device tokens start with this, API keys with [`KEY_PREFIX`], so a wrong kind of secret gets
/// a precise error.
pub const TOKEN_PREFIX: &str = "pd_";
pub const KEY_PREFIX: &str = "pk_";
/// One-time codes: an invite, or an administrator's password reset.
pub const CODE_PREFIX: &str = "pc_";

pub fn hash_password(password: &str) -> Result<String, AppError> {
    if password.chars().count() < 4 {
        return Err(AppError::invalid(
            "the password is too short: use at least 4 characters",
        ));
    }
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("cannot hash the password: {e}")))
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A new secret with its prefix, and the hash to store.
pub fn new_secret(prefix: &str) -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", hex::encode(bytes));
    let hash = hash_secret(&secret);
    (secret, hash)
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh server-side id such as `u-3f2a…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
