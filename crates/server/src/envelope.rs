//! The envelope events cross between nodes in. Anyone who can reach NATS could otherwise read
//! every presence change and publish events every node would act on (a teammate's status, a
//! notification with any link, a closed connection, a state nobody stored). So each event is
//! sealed with the cluster's secret (ChaCha20-Poly1305: authenticated and encrypted, bound to
//! the cluster's subject) and carries the sending node's id, a sequence number and the time it
//! was sent. A node opens only what a holder of the secret sealed, and admits it only once and
//! only while it is fresh ([`Freshness`]): a captured event replayed later is dropped too.
//!
//! Pure apart from the random nonces: no I/O, the time is passed in.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The first byte of every sealed event: the envelope's format.
const FORMAT: u8 = 1;

/// How far an event's time may be from the receiver's clock (either way), and how long a node
/// remembers the sequence numbers it admitted.
pub const FRESH_MS: i64 = 60_000;

/// A cluster secret: at least [`ClusterSecret::MIN_LEN`] characters, shared by every node of a
/// cluster. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterSecret(String);

impl ClusterSecret {
    pub const MIN_LEN: usize = 16;

    pub fn parse(secret: impl Into<String>) -> Result<ClusterSecret, String> {
        let secret = secret.into().trim().to_string();
        if secret.chars().count() < Self::MIN_LEN {
            return Err(format!(
                "the cluster secret is too short (at least {} characters): generate one with `openssl rand -base64 32`",
                Self::MIN_LEN
            ));
        }
        Ok(ClusterSecret(secret))
    }

    fn key(&self) -> LessSafeKey {
        let digest = Sha256::new()
            .chain_update(b"presently cluster bus v1\0")
            .chain_update(self.0.as_bytes())
            .finalize();
        LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &digest).expect("a 32-byte key is a valid key"),
        )
    }
}

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterSecret(…)")
    }
}

/// Seals with the current secret; opens with it or any secret still accepted (while a new
/// secret rolls out, see docs/cluster.md).
pub struct Sealer {
    seal: LessSafeKey,
    open: Vec<LessSafeKey>,
    context: Vec<u8>,
    random: SystemRandom,
}

impl Sealer {
    /// `context` (the cluster's subject) is bound into every envelope: an event sealed for
    /// another cluster with the same secret does not open here.
    pub fn new(current: &ClusterSecret, accepted: &[ClusterSecret], context: &str) -> Sealer {
        let mut open = vec![current.key()];
        open.extend(accepted.iter().filter(|s| *s != current).map(|s| s.key()));
        Sealer {
            seal: current.key(),
            open,
            context: context.as_bytes().to_vec(),
            random: SystemRandom::new(),
        }
    }

    /// `[format][nonce][ciphertext and tag]`.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .expect("the system's random source works");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.context),
                &mut body,
            )
            .expect("sealing an event cannot fail");
        out.extend_from_slice(&body);
        out
    }

    /// The plaintext, or `None` when a holder of no accepted secret sealed it (or it was
    /// altered, or sealed for another cluster).
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != FORMAT {
            return None;
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..1 + NONCE_LEN].try_into().ok()?;
        for key in &self.open {
            let mut body = sealed[1 + NONCE_LEN..].to_vec();
            if let Ok(plain) = key.open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.context),
                &mut body,
            ) {
                return Some(plain.to_vec());
            }
        }
        None
    }
}

/// Why an authentic event was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stale {
    /// Sent too long ago, or from a clock too far ahead: more than [`FRESH_MS`] away.
    OutsideWindow { skew_ms: i64 },
    /// This node admitted this node's event with this sequence number (or a later one) already.
    Replayed,
}

/// Admits each node's events once, in its order, while fresh. Remembers the last sequence
/// number of each node heard from within the window (only nodes holding the secret, so a few).
#[derive(Debug, Default)]
pub struct Freshness {
    nodes: HashMap<String, (u64, i64)>,
}

impl Freshness {
    pub fn admit(&mut self, node: &str, seq: u64, at: i64, now: i64) -> Result<(), Stale> {
        let skew_ms = at - now;
        if skew_ms.abs() > FRESH_MS {
            return Err(Stale::OutsideWindow { skew_ms });
        }
        match self.nodes.get_mut(node) {
            Some((last, _)) if seq <= *last => return Err(Stale::Replayed),
            Some(entry) => *entry = (seq, now),
            None => {
                // A node silent for two windows is forgotten: anything it sent then is stale.
                self.nodes
                    .retain(|_, (_, heard)| now - *heard <= 2 * FRESH_MS);
                self.nodes.insert(node.to_string(), (seq, now));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> ClusterSecret {
        ClusterSecret::parse(s).unwrap()
    }

    #[test]
    fn only_a_holder_of_an_accepted_secret_opens_what_was_sealed_for_this_cluster() {
        let (old, new) = (
            secret("the old secret, long enough"),
            secret("the new secret, long enough"),
        );
        let a = Sealer::new(&old, &[], "presently.c.events");
        let sealed = a.seal(b"{\"event\":\"org_changed\"}");
        assert_eq!(
            a.open(&sealed).as_deref(),
            Some(&b"{\"event\":\"org_changed\"}"[..])
        );
        // Rolling to a new secret: a node on the new one still opens the old one's events.
        let rolled = Sealer::new(&new, std::slice::from_ref(&old), "presently.c.events");
        assert!(rolled.open(&sealed).is_some());
        assert!(Sealer::new(&new, &[], "presently.c.events")
            .open(&sealed)
            .is_none());
        // Another cluster's subject with the same secret, a flipped bit, garbage: refused.
        assert!(Sealer::new(&old, &[], "presently.d.events")
            .open(&sealed)
            .is_none());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(a.open(&altered).is_none());
        assert!(a.open(b"{\"node\":\"n\",\"event\":{}}").is_none());
        assert!(a.open(&[]).is_none());
        // Two seals of one event differ (fresh nonces), and do not show it.
        let again = a.seal(b"{\"event\":\"org_changed\"}");
        assert_ne!(sealed, again);
        assert!(!String::from_utf8_lossy(&sealed).contains("org_changed"));
    }

    #[test]
    fn a_secret_is_long_enough_and_never_printed() {
        assert!(ClusterSecret::parse("short")
            .unwrap_err()
            .contains("openssl rand"));
        let s = secret("a secret that is long enough");
        assert!(!format!("{s:?}").contains("long enough"));
    }

    #[test]
    fn each_event_is_admitted_once_in_order_and_only_while_fresh() {
        let mut f = Freshness::default();
        let now = 1_000_000;
        assert_eq!(f.admit("n1", 1, now, now), Ok(()));
        assert_eq!(f.admit("n1", 2, now + 5, now + 10), Ok(()));
        assert_eq!(f.admit("n1", 2, now + 5, now + 10), Err(Stale::Replayed));
        assert_eq!(f.admit("n1", 1, now, now + 10), Err(Stale::Replayed));
        assert_eq!(f.admit("n2", 1, now, now + 10), Ok(()));
        assert_eq!(
            f.admit("n3", 1, now - FRESH_MS - 1, now),
            Err(Stale::OutsideWindow {
                skew_ms: -FRESH_MS - 1
            })
        );
        assert_eq!(
            f.admit("n3", 1, now + FRESH_MS + 1, now),
            Err(Stale::OutsideWindow {
                skew_ms: FRESH_MS + 1
            })
        );
        assert_eq!(f.admit("n3", 1, now + FRESH_MS, now), Ok(()));
        // Nodes not heard from for two windows are forgotten when another appears.
        let later = now + 3 * FRESH_MS;
        assert_eq!(f.admit("n4", 1, later, later), Ok(()));
        assert_eq!(f.nodes.len(), 1);
    }
}
