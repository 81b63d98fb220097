//! The 32-byte master key that seals project secrets.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

/// Length of an AES-256 key in bytes.
pub const KEY_LEN: usize = 32;

/// A master key, held in a zeroizing box and never printed.
pub struct MasterKey(SecretBox<[u8; KEY_LEN]>);

/// Why a configured key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "must be 32 bytes, given as 32 characters, 64 hex digits or base64 of 32 bytes; got {0} characters"
)]
pub struct MalformedKey(pub usize);

impl MasterKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// Accepts the three spellings operators use: 32 raw characters (as the
    /// original deployment docs had it), 64 hex digits, or base64 of 32 bytes.
    /// Surrounding whitespace, as left by `echo` into a file, is ignored.
    pub fn parse(text: &str) -> Result<Self, MalformedKey> {
        let text = text.trim();

        if let Ok(raw) = <[u8; KEY_LEN]>::try_from(text.as_bytes()) {
            return Ok(Self::from_bytes(raw));
        }
        if text.len() == 2 * KEY_LEN
            && let Ok(decoded) = hex::decode(text)
            && let Ok(bytes) = <[u8; KEY_LEN]>::try_from(decoded.as_slice())
        {
            return Ok(Self::from_bytes(bytes));
        }
        for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
            if let Ok(decoded) = engine.decode(text)
                && let Ok(bytes) = <[u8; KEY_LEN]>::try_from(decoded.as_slice())
            {
                return Ok(Self::from_bytes(bytes));
            }
        }
        Err(MalformedKey(text.chars().count()))
    }

    /// A fresh random key, for development setups.
    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        Self::from_bytes(bytes)
    }

    /// A stable identifier for this key that reveals nothing about it: an
    /// HMAC of a fixed label, keyed by the key.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.expose())
            .expect("HMAC accepts keys of any length");
        mac.update(b"hero/master-key-fingerprint/v1");
        mac.finalize().into_bytes().into()
    }

    /// A value derived from the key for one purpose (`purpose` names it and
    /// what it is bound to), such as the local forge's per-repository git
    /// token. Knowing one derived value reveals neither the key nor any
    /// other derivation.
    pub fn derive(&self, purpose: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.expose())
            .expect("HMAC accepts keys of any length");
        mac.update(b"hero/derive/v1\0");
        mac.update(purpose);
        mac.finalize().into_bytes().into()
    }

    /// The key as hex, for writing a generated development key to disk.
    pub fn to_hex(&self) -> String {
        hex::encode(self.expose())
    }

    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "0123456789abcdef0123456789ABCDEF";

    #[test]
    fn thirty_two_raw_characters_are_the_key_bytes() {
        let key = MasterKey::parse(RAW).unwrap();

        assert_eq!(key.expose(), RAW.as_bytes());
    }

    #[test]
    fn hex_and_base64_spellings_decode_to_the_same_key() {
        let bytes: [u8; 32] = std::array::from_fn(|i| u8::try_from(i * 7 % 256).unwrap());

        let from_hex = MasterKey::parse(&hex::encode(bytes)).unwrap();
        let from_b64 = MasterKey::parse(&STANDARD.encode(bytes)).unwrap();
        let from_b64url = MasterKey::parse(&URL_SAFE_NO_PAD.encode(bytes)).unwrap();

        assert_eq!(from_hex.expose(), &bytes);
        assert_eq!(from_b64.expose(), &bytes);
        assert_eq!(from_b64url.expose(), &bytes);
    }

    #[test]
    fn keys_of_other_lengths_are_refused_with_their_length() {
        assert_eq!(MasterKey::parse("short").unwrap_err(), MalformedKey(5));
        assert!(MasterKey::parse(&"a".repeat(33)).is_err());
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 16])).is_err());
        assert!(MasterKey::parse("").is_err());
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let key = MasterKey::parse(RAW).unwrap();

        let printed = format!("{key:?}");

        assert!(!printed.contains(RAW));
        assert!(!printed.contains(&key.to_hex()));
    }

    #[test]
    fn fingerprints_differ_between_keys_and_do_not_contain_them() {
        let a = MasterKey::parse(RAW).unwrap();
        let b = MasterKey::generate();

        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(
            a.fingerprint(),
            MasterKey::parse(RAW).unwrap().fingerprint()
        );
        assert_ne!(&a.fingerprint(), a.expose());
    }
}
