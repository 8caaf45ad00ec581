//! Webhook signing secrets at rest: sealed with XChaCha20-Poly1305 under the operator's key
//! (`secret_key_file`), or kept in plain text when no key is set.
//!
//! A sealed secret reads `sealed:v1:<key id>:<base64 of nonce ‖ ciphertext>`. The key id is the
//! first 8 bytes of the key's SHA-256, in hex: a server given the wrong key says so rather than
//! failing to decrypt, and `briefing rotate-secret-key` knows what it re-encrypts. The
//! subscription's name is the associated data, so a sealed secret copied onto another row does
//! not open there. A random 24-byte nonce per seal is safe for any number of secrets.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};

use super::{StoreError, StoreResult};

const SEALED_PREFIX: &str = "sealed:v1:";
const NONCE_BYTES: usize = 24;

/// One 32-byte key and its id.
struct SecretKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// Seals and opens the secrets of one store. `Default` keeps them in plain text.
#[derive(Clone, Default)]
pub struct SecretSealer {
    key: Option<Arc<SecretKey>>,
}

impl fmt::Debug for SecretSealer {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(formatter, "SecretSealer(key {})", key.id),
            None => formatter.write_str("SecretSealer(plain text)"),
        }
    }
}

impl SecretSealer {
    /// Reads a key file: 32 bytes in base64 (what `openssl rand -base64 32` prints).
    pub fn from_key_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read the key file {}: {error}", path.display()))?;
        let key: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|key| key.try_into().ok())
            .ok_or_else(|| {
                format!(
                    "the key file {} must hold 32 bytes in base64 (openssl rand -base64 32)",
                    path.display()
                )
            })?;
        Ok(Self::from_key(&key))
    }

    fn from_key(key: &[u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        let id = digest[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Self {
            key: Some(Arc::new(SecretKey {
                id,
                cipher: XChaCha20Poly1305::new(&(*key).into()),
            })),
        }
    }

    /// The id of the key, or None for plain text.
    pub fn key_id(&self) -> Option<&str> {
        self.key.as_ref().map(|key| key.id.as_str())
    }

    /// What is stored for `secret` of subscription `id`.
    pub fn seal(&self, id: &str, secret: &str) -> StoreResult<String> {
        let Some(key) = &self.key else {
            return Ok(secret.to_owned());
        };
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(id);
        let sealed = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Internal("cannot encrypt a signing secret".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED_PREFIX}{}:{}",
            key.id,
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }

    /// The secret of subscription `id` from what is stored: sealed text is opened with the key,
    /// plain text (stored before a key was set) is taken as it is.
    pub fn open(&self, id: &str, stored: &str) -> StoreResult<String> {
        let Some(sealed) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_owned());
        };
        let corrupt = || {
            StoreError::Internal(format!(
                "the signing secret of {} is not readable",
                associated_data(id)
            ))
        };
        let (key_id, body) = sealed.split_once(':').ok_or_else(corrupt)?;
        let key = match &self.key {
            Some(key) if key.id == key_id => key,
            Some(key) => {
                return Err(StoreError::Internal(format!(
                    "the signing secret of {} is sealed with key {key_id}, but secret_key_file holds key {}",
                    associated_data(id),
                    key.id
                )));
            }
            None => {
                return Err(StoreError::Internal(format!(
                    "the signing secret of {} is sealed with key {key_id}: set secret_key_file",
                    associated_data(id)
                )));
            }
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| corrupt())?;
        if bytes.len() <= NONCE_BYTES {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let aad = associated_data(id);
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| corrupt())?;
        String::from_utf8(plain).map_err(|_| corrupt())
    }
}

fn associated_data(id: &str) -> String {
    format!("subscriptions/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_row() {
        let sealer = SecretSealer::from_key(&[7u8; 32]);
        let other = SecretSealer::from_key(&[8u8; 32]);
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sealed = sealer.seal("desk", secret).unwrap();
        assert!(sealed.starts_with(&format!("sealed:v1:{}:", sealer.key_id().unwrap())));
        assert!(!sealed.contains("MfKQ9r8G"));
        assert_ne!(
            sealed,
            sealer.seal("desk", secret).unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(sealer.open("desk", &sealed).unwrap(), secret);
        assert!(sealer.open("another", &sealed).is_err(), "bound to its row");
        let wrong_key = other.open("desk", &sealed).unwrap_err().to_string();
        assert!(wrong_key.contains("sealed with key"), "{wrong_key}");
        assert!(SecretSealer::default().open("desk", &sealed).is_err());
        assert_eq!(
            sealer.open("desk", secret).unwrap(),
            secret,
            "plain text still reads"
        );
        assert_eq!(
            SecretSealer::default().seal("desk", secret).unwrap(),
            secret
        );
    }
}
