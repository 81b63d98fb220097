//! AES-256-GCM sealing of small values under a versioned set of master keys.

use std::collections::HashMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;

use super::MasterKey;

/// Length of an AES-GCM nonce in bytes (96 bits, the size GCM is built for).
pub const NONCE_LEN: usize = 12;

/// A sealed value as stored: the ciphertext with its tag, the nonce, and the
/// version of the master key that sealed it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_version: i32,
    pub nonce: [u8; NONCE_LEN],
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("key_version", &self.key_version)
            .field("len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error(
        "value is sealed under master key version {0}, which is not configured \
         (add the old key to SECRETS_ENCRYPTION_KEY_PREVIOUS)"
    )]
    UnknownKeyVersion(i32),
    /// Wrong key, tampered bytes, or a ciphertext moved to another row: GCM
    /// cannot tell these apart, and neither should we.
    #[error("value failed authentication: it was altered or does not belong here")]
    Unauthentic,
}

/// The master keys Hero knows: the current one seals, every one opens.
pub struct Keyring {
    current_version: i32,
    ciphers: HashMap<i32, Aes256Gcm>,
}

impl Keyring {
    /// `current` is the key new values are sealed with; `previous` are keys
    /// still accepted for opening while values are rotated away from them.
    pub fn new(current: (i32, &MasterKey), previous: &[(i32, &MasterKey)]) -> Self {
        let ciphers = std::iter::once(&current)
            .chain(previous)
            .map(|(version, key)| (*version, Aes256Gcm::new(key.expose().into())))
            .collect();
        Self {
            current_version: current.0,
            ciphers,
        }
    }

    pub fn current_version(&self) -> i32 {
        self.current_version
    }

    /// Seals `plaintext` under the current key with a fresh random nonce.
    /// `context` is authenticated but not stored: opening needs the same.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Sealed {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);

        let ciphertext = self.ciphers[&self.current_version]
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .expect("AES-GCM encryption cannot fail for in-memory values under 64 GiB");

        Sealed {
            key_version: self.current_version,
            nonce,
            ciphertext,
        }
    }

    /// Opens a sealed value, checking its tag against `context`.
    pub fn open(&self, context: &[u8], sealed: &Sealed) -> Result<Vec<u8>, OpenError> {
        let cipher = self
            .ciphers
            .get(&sealed.key_version)
            .ok_or(OpenError::UnknownKeyVersion(sealed.key_version))?;
        cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| OpenError::Unauthentic)
    }
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut versions: Vec<_> = self.ciphers.keys().collect();
        versions.sort();
        f.debug_struct("Keyring")
            .field("current_version", &self.current_version)
            .field("versions", &versions)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> (Keyring, MasterKey) {
        let key = MasterKey::generate();
        (Keyring::new((1, &key), &[]), key)
    }

    #[test]
    fn a_sealed_value_opens_to_the_same_bytes() {
        let (keyring, _) = keyring();

        let sealed = keyring.seal(b"ctx", b"hunter2");

        assert_eq!(keyring.open(b"ctx", &sealed).unwrap(), b"hunter2");
        assert_ne!(sealed.ciphertext[..7], b"hunter2"[..]);
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let (keyring, _) = keyring();

        let a = keyring.seal(b"ctx", b"same");
        let b = keyring.seal(b"ctx", b"same");

        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn a_flipped_bit_in_ciphertext_or_tag_is_rejected() {
        let (keyring, _) = keyring();
        let sealed = keyring.seal(b"ctx", b"payload");

        for i in 0..sealed.ciphertext.len() {
            let mut tampered = sealed.clone();
            tampered.ciphertext[i] ^= 0x01;
            assert_eq!(
                keyring.open(b"ctx", &tampered),
                Err(OpenError::Unauthentic),
                "byte {i}"
            );
        }
        let mut tampered = sealed.clone();
        tampered.nonce[0] ^= 0x80;
        assert_eq!(keyring.open(b"ctx", &tampered), Err(OpenError::Unauthentic));
    }

    #[test]
    fn a_value_does_not_open_under_another_context() {
        let (keyring, _) = keyring();
        let sealed = keyring.seal(b"project-a/API_KEY", b"payload");

        assert_eq!(
            keyring.open(b"project-b/API_KEY", &sealed),
            Err(OpenError::Unauthentic)
        );
    }

    #[test]
    fn values_sealed_under_a_previous_key_still_open_and_new_ones_use_the_current() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let sealed_before = Keyring::new((1, &old), &[]).seal(b"ctx", b"kept");

        let rotated = Keyring::new((2, &new), &[(1, &old)]);

        assert_eq!(rotated.open(b"ctx", &sealed_before).unwrap(), b"kept");
        assert_eq!(rotated.seal(b"ctx", b"x").key_version, 2);
    }

    #[test]
    fn an_unconfigured_key_version_is_named_in_the_error() {
        let (keyring, _) = keyring();
        let mut sealed = keyring.seal(b"ctx", b"x");
        sealed.key_version = 7;

        assert_eq!(
            keyring.open(b"ctx", &sealed),
            Err(OpenError::UnknownKeyVersion(7))
        );
    }

    #[test]
    fn the_wrong_key_under_the_right_version_is_rejected() {
        let (keyring, _) = keyring();
        let sealed = keyring.seal(b"ctx", b"x");

        let impostor = Keyring::new((1, &MasterKey::generate()), &[]);

        assert_eq!(impostor.open(b"ctx", &sealed), Err(OpenError::Unauthentic));
    }
}
