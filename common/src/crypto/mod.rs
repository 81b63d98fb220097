//! Encryption of values at rest: project secrets and stored OAuth tokens.

mod cipher;
mod master_key;

pub use cipher::{Keyring, NONCE_LEN, OpenError, Sealed};
pub use master_key::{KEY_LEN, MalformedKey, MasterKey};
