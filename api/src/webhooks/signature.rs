//! GitHub's delivery signature: `X-Hub-Signature-256: sha256=<hex>`, the
//! HMAC-SHA256 of the raw body under the webhook's secret (GitHub's docs,
//! "Validating webhook deliveries"). It is checked before anything in the
//! delivery is read, and compared in constant time.

use std::fmt;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

pub const HEADER: &str = "x-hub-signature-256";

/// The secret GitHub signs deliveries with (`GITHUB_WEBHOOK_SECRET`).
pub struct WebhookSecret(SecretString);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

/// Why a delivery's signature is refused. The messages say what to fix and
/// never echo the header, the expected value or the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "the X-Hub-Signature-256 header is missing: deliveries must be signed with the webhook's \
         secret (GITHUB_WEBHOOK_SECRET)"
    )]
    Missing,
    #[error("X-Hub-Signature-256 must be `sha256=` followed by 64 hexadecimal digits")]
    Malformed,
    #[error(
        "X-Hub-Signature-256 does not match the body: the webhook's secret on GitHub must equal \
         GITHUB_WEBHOOK_SECRET, and the body must arrive exactly as GitHub sent it"
    )]
    Mismatch,
}

impl WebhookSecret {
    pub fn new(secret: SecretString) -> Self {
        Self(secret)
    }

    /// Checks `header` (the value of `X-Hub-Signature-256`) against `body`.
    pub fn verify(&self, header: Option<&[u8]>, body: &[u8]) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let digits = header
            .trim_ascii()
            .strip_prefix(b"sha256=")
            .ok_or(SignatureError::Malformed)?;
        let mut claimed = [0_u8; 32];
        hex::decode_to_slice(digits, &mut claimed).map_err(|_| SignatureError::Malformed)?;

        // verify_slice compares in constant time: how long the check takes
        // says nothing about how many bytes were right.
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes())
            .map_err(|_| SignatureError::Mismatch)?;
        mac.update(body);
        mac.verify_slice(&claimed)
            .map_err(|_| SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example in GitHub's "Validating webhook deliveries".
    const DOCS_SECRET: &str = "It's a Secret to Everybody";
    const DOCS_BODY: &[u8] = b"Hello, World!";
    const DOCS_SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn docs_secret() -> WebhookSecret {
        WebhookSecret::new(SecretString::from(DOCS_SECRET))
    }

    #[test]
    fn githubs_published_example_verifies() {
        let verified = docs_secret().verify(Some(DOCS_SIGNATURE.as_bytes()), DOCS_BODY);

        assert_eq!(verified, Ok(()));
    }

    #[test]
    fn upper_case_digits_and_surrounding_spaces_are_accepted() {
        let header = format!(
            " {} ",
            DOCS_SIGNATURE.to_uppercase().replace("SHA256", "sha256")
        );

        let verified = docs_secret().verify(Some(header.as_bytes()), DOCS_BODY);

        assert_eq!(verified, Ok(()));
    }

    #[test]
    fn another_body_or_another_secret_does_not_match() {
        let other_secret = WebhookSecret::new(SecretString::from("It's a secret to nobody"));

        let changed_body = docs_secret().verify(Some(DOCS_SIGNATURE.as_bytes()), b"Hello, World?");
        let wrong_secret = other_secret.verify(Some(DOCS_SIGNATURE.as_bytes()), DOCS_BODY);

        assert_eq!(changed_body, Err(SignatureError::Mismatch));
        assert_eq!(wrong_secret, Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_missing_or_malformed_header_is_refused_for_what_it_is() {
        let secret = docs_secret();
        let sha1 = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59";
        let short = &DOCS_SIGNATURE[..DOCS_SIGNATURE.len() - 2];
        let not_hex = DOCS_SIGNATURE.replace('7', "g");

        assert_eq!(secret.verify(None, DOCS_BODY), Err(SignatureError::Missing));
        for header in [sha1, short, &not_hex, "", "sha256="] {
            assert_eq!(
                secret.verify(Some(header.as_bytes()), DOCS_BODY),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let printed = format!("{:?}", docs_secret());

        assert!(!printed.contains(DOCS_SECRET), "{printed}");
    }
}
