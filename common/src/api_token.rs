//! API tokens: 256 random bits, shown once, stored only as a hash.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Every Hero token starts with this, so leaked tokens are easy to spot and
/// to redact.
pub const PREFIX: &str = "hero_";

/// A new token and the hash to store for it.
pub fn generate() -> (SecretString, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash(&token);
    (SecretString::from(token), hash)
}

/// The stored form of a token. A fast hash is right here: the token has
/// full entropy, so there is nothing for a slow hash to protect.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `text` has the shape of a Hero token (not whether it is valid).
pub fn looks_like_token(text: &str) -> bool {
    text.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.len() == 43 && rest.bytes().all(is_url_safe))
}

fn is_url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The token's text; kept here so callers name the exposure.
pub fn expose(token: &SecretString) -> &str {
    token.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_unique_prefixed_and_hash_to_what_is_returned() {
        let (a, hash_a) = generate();
        let (b, _) = generate();

        assert_ne!(expose(&a), expose(&b));
        assert!(looks_like_token(expose(&a)));
        assert_eq!(hash(expose(&a)), hash_a);
    }

    #[test]
    fn other_strings_do_not_look_like_tokens() {
        assert!(!looks_like_token("hero_short"));
        assert!(!looks_like_token(
            "ghp_0123456789012345678901234567890123456789012"
        ));
    }
}
