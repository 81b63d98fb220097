//! What the API (which serves the local forge's repositories over git's
//! smart HTTP) and the workers (which clone and push them from sandboxes)
//! must agree on: where a repository lives on disk and which token opens it.
//!
//! A token is derived from the master key and the repository's name, so it
//! is never stored, opens exactly one repository, and the API checks it
//! without a database round trip.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

use crate::crypto::MasterKey;
use crate::validate;

/// The local forge's bare repositories: `<root>/<owner>/<name>.git`.
#[derive(Debug, Clone)]
pub struct ForgeLayout {
    root: PathBuf,
}

impl ForgeLayout {
    /// The forge under Hero's data directory, as `HERO_FORGE=local` uses it.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self::new(data_dir.join("forge"))
    }

    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `owner/name` lives, if both are valid GitHub-style names (which
    /// also keeps the path inside the root).
    pub fn repository(&self, owner: &str, name: &str) -> Result<PathBuf, String> {
        validate::repo_owner(owner)?;
        validate::repo_name(name)?;
        Ok(self.root.join(owner).join(format!("{name}.git")))
    }
}

/// Mints and checks the per-repository git tokens of the local forge.
#[derive(Clone)]
pub struct ForgeTokens {
    key: std::sync::Arc<SecretBox<[u8; 32]>>,
}

impl std::fmt::Debug for ForgeTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ForgeTokens([redacted])")
    }
}

impl ForgeTokens {
    pub fn new(master: &MasterKey) -> Self {
        let key = master.derive(b"local-forge/git-token");
        Self {
            key: std::sync::Arc::new(SecretBox::new(Box::new(key))),
        }
    }

    /// The token that opens `owner/name`, and nothing else.
    pub fn token_for(&self, owner: &str, name: &str) -> SecretString {
        // Shaped like Hero's API tokens (prefix and 43 URL-safe characters),
        // so the redactor's token patterns mask one wherever it turns up.
        let body = URL_SAFE_NO_PAD.encode(self.mac(owner, name));
        SecretString::from(format!("{}{body}", crate::api_token::PREFIX))
    }

    /// Whether `given` is the token of `owner/name`, checked in constant
    /// time.
    pub fn verify(&self, owner: &str, name: &str, given: &str) -> bool {
        let Some(body) = given.strip_prefix(crate::api_token::PREFIX) else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(body) else {
            return false;
        };
        self.keyed(owner, name).verify_slice(&tag).is_ok()
    }

    fn mac(&self, owner: &str, name: &str) -> [u8; 32] {
        self.keyed(owner, name).finalize().into_bytes().into()
    }

    fn keyed(&self, owner: &str, name: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .expect("HMAC accepts keys of any length");
        mac.update(owner.as_bytes());
        mac.update(b"/");
        mac.update(name.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_own_repository_only() {
        let tokens = ForgeTokens::new(&MasterKey::generate());

        let token = tokens.token_for("acme", "widgets");

        assert!(tokens.verify("acme", "widgets", token.expose_secret()));
        assert!(!tokens.verify("acme", "gadgets", token.expose_secret()));
        assert!(!tokens.verify("acm", "ewidgets", token.expose_secret()));
        assert!(!tokens.verify("acme", "widgets", ""));
    }

    #[test]
    fn tokens_of_another_master_key_are_refused() {
        let ours = ForgeTokens::new(&MasterKey::generate());
        let theirs = ForgeTokens::new(&MasterKey::generate());

        let token = theirs.token_for("acme", "widgets");

        assert!(!ours.verify("acme", "widgets", token.expose_secret()));
    }

    #[test]
    fn repositories_stay_inside_the_root() {
        let layout = ForgeLayout::new("/data/forge");

        assert_eq!(
            layout.repository("acme", "widgets").unwrap(),
            PathBuf::from("/data/forge/acme/widgets.git")
        );
        assert!(layout.repository("..", "x").is_err());
        assert!(layout.repository("acme", "../../etc").is_err());
        assert!(layout.repository("acme/x", "y").is_err());
    }

    #[test]
    fn tokens_are_masked_by_the_redactor_without_being_told_them() {
        let tokens = ForgeTokens::new(&MasterKey::generate());
        let token = tokens.token_for("acme", "widgets");
        let redactor = crate::redact::Redactor::new([]).unwrap();

        let line = format!("fatal: auth {} refused", token.expose_secret());

        assert!(!redactor.redact_str(&line).contains(token.expose_secret()));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let tokens = ForgeTokens::new(&MasterKey::generate());

        assert_eq!(format!("{tokens:?}"), "ForgeTokens([redacted])");
    }
}
