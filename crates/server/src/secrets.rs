//! Credentials kept at rest (a calendar's secret address, a CalDAV password): sealed with the
//! server's secrets key (ChaCha20-Poly1305, ring's, as the bus between nodes), bound to what
//! they belong to, and tagged with the key that sealed them so a key can be rotated: the new key
//! seals, earlier ones still open until each credential is sealed again.
//!
//! Where the key comes from: `[secrets] key` (or `--secrets-key`, `PRESENTLY_SECRETS_KEY`),
//! earlier ones in `previous_keys`; without one, a one-node server on SQLite makes a random key
//! in `secrets.key` beside its database (readable by its account only).

use crate::error::AppError;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use std::path::Path;

/// A key's id: the first 8 hex digits of the SHA-256 of the key (not secret).
fn key_id(secret: &str) -> String {
    hex::encode(&Sha256::digest(format!("presently key id {secret}").as_bytes())[..4])
}

fn key(secret: &str) -> LessSafeKey {
    let bytes = Sha256::digest(format!("presently secrets key {secret}").as_bytes());
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &bytes).expect("a 32-byte key"))
}

/// The key that seals, and earlier ones that still open.
pub struct Sealer {
    keys: Vec<(String, LessSafeKey)>,
    random: SystemRandom,
}

impl Sealer {
    pub const MIN_LEN: usize = 16;

    /// `current` seals; `previous` still open. Each at least [`Sealer::MIN_LEN`] characters.
    pub fn new(current: &str, previous: &[String]) -> Result<Sealer, AppError> {
        let mut keys = Vec::new();
        for k in std::iter::once(current).chain(previous.iter().map(String::as_str)) {
            if k.chars().count() < Sealer::MIN_LEN {
                return Err(AppError::config(format!(
                    "a secrets key must have at least {} characters (make one with: openssl rand -base64 32)",
                    Sealer::MIN_LEN
                )));
            }
            keys.push((key_id(k), key(k)));
        }
        Ok(Sealer {
            keys,
            random: SystemRandom::new(),
        })
    }

    /// The key in `file`, made (random, readable by this account only) when there is none.
    pub fn from_file(file: &Path) -> Result<Sealer, AppError> {
        let secret = match std::fs::read_to_string(file) {
            Ok(s) => s.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| AppError::internal("no randomness for a secrets key"))?;
                let secret = base64::engine::general_purpose::STANDARD.encode(bytes);
                write_private(file, &secret).map_err(|e| {
                    AppError::config(format!(
                        "cannot write the secrets key {}: {e}; set [secrets] key instead",
                        file.display()
                    ))
                })?;
                tracing::info!(file = %file.display(), "made a secrets key for stored credentials");
                secret
            }
            Err(e) => {
                return Err(AppError::config(format!(
                    "cannot read the secrets key {}: {e}",
                    file.display()
                )))
            }
        };
        Sealer::new(&secret, &[])
    }

    /// Seals `plain` for `what` (a calendar's owner): the key's id and the sealed text.
    pub fn seal(&self, what: &str, plain: &[u8]) -> (String, String) {
        let (id, key) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .expect("the system's randomness");
        let mut data = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(what.as_bytes()),
            &mut data,
        )
        .expect("sealing cannot fail for a small input");
        let mut out = nonce.to_vec();
        out.extend(data);
        (
            id.clone(),
            base64::engine::general_purpose::STANDARD.encode(out),
        )
    }

    /// Opens what [`Sealer::seal`] made for `what` with the key `id`.
    pub fn open(&self, id: &str, what: &str, sealed: &str) -> Result<Vec<u8>, AppError> {
        let Some((_, key)) = self.keys.iter().find(|(k, _)| k == id) else {
            return Err(AppError::internal(format!(
                "a stored credential was sealed with a key this server does not have ({id}): add it to [secrets] previous_keys, or set the credential again"
            )));
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| AppError::internal("a stored credential is damaged"))?;
        if bytes.len() < NONCE_LEN {
            return Err(AppError::internal("a stored credential is damaged"));
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let mut data = data.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| AppError::internal("a stored credential is damaged"))?;
        let plain = key
            .open_in_place(nonce, Aad::from(what.as_bytes()), &mut data)
            .map_err(|_| AppError::internal("a stored credential does not open with its key"))?;
        Ok(plain.to_vec())
    }

    /// Whether `id` is the key that seals now (else a credential should be sealed again).
    pub fn is_current(&self, id: &str) -> bool {
        self.keys[0].0 == id
    }
}

fn write_private(file: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(file)?;
    f.write_all(secret.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_opens_only_with_its_key_and_for_its_owner() {
        let old = Sealer::new("an old secrets key, long", &[]).unwrap();
        let (id, sealed) = old.seal("u-1", b"https://calendar.example/secret");
        assert!(!sealed.contains("secret"));
        assert_eq!(
            old.open(&id, "u-1", &sealed).unwrap(),
            b"https://calendar.example/secret"
        );
        assert!(old.open(&id, "u-2", &sealed).is_err(), "bound to its owner");
        // Rotated: the new key seals, the old one still opens.
        let new = Sealer::new(
            "a new secrets key, longer",
            &["an old secrets key, long".into()],
        )
        .unwrap();
        assert!(!new.is_current(&id));
        assert_eq!(
            new.open(&id, "u-1", &sealed).unwrap(),
            b"https://calendar.example/secret"
        );
        let (id2, _) = new.seal("u-1", b"x");
        assert!(new.is_current(&id2));
        // Without the old key: said, not garbage.
        let alone = Sealer::new("a new secrets key, longer", &[]).unwrap();
        let e = alone.open(&id, "u-1", &sealed).unwrap_err();
        assert!(e.to_string().contains("previous_keys"), "{e}");
        assert!(Sealer::new("short", &[]).is_err());
    }
}
