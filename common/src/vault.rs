//! Project secrets: validated, sealed, audited.
//!
//! The vault is the only way values go in or out of the secret store, so
//! the rules live here once for the API, the command line and the workers:
//! keys are environment variable names, values have a size limit, every
//! value read is written to the audit log first, and every value is bound
//! to its project and key (a ciphertext moved to another row fails).

use std::collections::HashSet;
use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use crate::crypto::{Keyring, MasterKey, OpenError};
use crate::domain::{AuditEntry, SealedSecret, SecretMetadata, StoredSecret};
use crate::store::{AuditLog, SecretStore, StoreError, Stores};
use crate::validate;

/// Largest secret value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// Most secrets one import may carry.
pub const MAX_IMPORT: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Input that breaks a rule; `field` says where, for example
    /// `secrets[2].key`.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("secret {key:?} cannot be read: {source}")]
    Unreadable {
        key: String,
        #[source]
        source: OpenError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A secret as given by a user, not yet validated.
pub struct SecretInput {
    pub key: String,
    pub value: SecretString,
    pub description: Option<String>,
}

/// What a key rotation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    pub resealed: u64,
    /// Values written by someone else during the rotation, already under the
    /// current key.
    pub changed_meanwhile: u64,
    /// `project id/key` of values no configured key opens.
    pub unreadable: Vec<String>,
}

pub struct Vault {
    secrets: Arc<dyn SecretStore>,
    audit: Arc<dyn AuditLog>,
    keyring: Keyring,
}

impl Vault {
    /// A vault sealing with `current` and still opening with `previous`. Each
    /// key's fingerprint is registered so rows can name the key they use.
    pub async fn open(
        stores: &Stores,
        current: &MasterKey,
        previous: &[MasterKey],
    ) -> Result<Self, StoreError> {
        let current_version = stores.key_versions.register(&current.fingerprint()).await?;
        let mut older = Vec::with_capacity(previous.len());
        for key in previous {
            older.push((stores.key_versions.register(&key.fingerprint()).await?, key));
        }
        Ok(Self {
            secrets: stores.secrets.clone(),
            audit: stores.audit.clone(),
            keyring: Keyring::new((current_version, current), &older),
        })
    }

    pub fn key_version(&self) -> i32 {
        self.keyring.current_version()
    }

    /// Creates or updates one secret; true when it was created.
    pub async fn set(
        &self,
        actor: Uuid,
        project_id: Uuid,
        input: SecretInput,
    ) -> Result<(SecretMetadata, bool), VaultError> {
        let sealed = self.seal_input(project_id, input, "")?;
        let key = sealed.key.clone();

        let result = self.secrets.put(project_id, sealed).await?;
        self.record(actor, project_id, "secret.set", Some(key))
            .await?;
        Ok(result)
    }

    /// Stores every secret or none. The first invalid entry is reported with
    /// its position and key.
    pub async fn import(
        &self,
        actor: Uuid,
        project_id: Uuid,
        inputs: Vec<SecretInput>,
    ) -> Result<Vec<SecretMetadata>, VaultError> {
        if inputs.is_empty() {
            return Err(invalid("secrets", "is empty; give at least one secret"));
        }
        if inputs.len() > MAX_IMPORT {
            return Err(invalid(
                "secrets",
                format!("has {} entries; the limit is {MAX_IMPORT}", inputs.len()),
            ));
        }

        let mut seen = HashSet::new();
        let mut sealed = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.into_iter().enumerate() {
            let prefix = format!("secrets[{i}].");
            if !seen.insert(input.key.clone()) {
                return Err(invalid(
                    format!("{prefix}key"),
                    format!("{:?} appears more than once", input.key),
                ));
            }
            sealed.push(self.seal_input(project_id, input, &prefix)?);
        }
        let keys: Vec<String> = sealed.iter().map(|s| s.key.clone()).collect();

        let stored = self.secrets.put_many(project_id, sealed).await?;
        self.audit
            .record(AuditEntry {
                actor_id: Some(actor),
                project_id: Some(project_id),
                action: "secret.import",
                subject: None,
                details: serde_json::json!({ "keys": keys }),
            })
            .await?;
        Ok(stored)
    }

    pub async fn list(&self, project_id: Uuid) -> Result<Vec<SecretMetadata>, VaultError> {
        Ok(self.secrets.list(project_id).await?)
    }

    /// The value of one secret. The read is audited before the value is
    /// opened: no value leaves without a record of who asked.
    pub async fn reveal(
        &self,
        actor: Uuid,
        project_id: Uuid,
        key: &str,
    ) -> Result<Option<(SecretMetadata, SecretString)>, VaultError> {
        let Some(stored) = self.secrets.get(project_id, key).await? else {
            return Ok(None);
        };
        self.record(actor, project_id, "secret.read", Some(key.to_owned()))
            .await?;

        let value = self.open_stored(&stored)?;
        Ok(Some((stored.metadata, value)))
    }

    /// Every secret of a project as environment variables, for commands run
    /// in its sandbox.
    pub async fn environment(
        &self,
        project_id: Uuid,
    ) -> Result<Vec<(String, SecretString)>, VaultError> {
        let stored = self.secrets.get_all(project_id).await?;
        stored
            .iter()
            .map(|secret| Ok((secret.metadata.key.clone(), self.open_stored(secret)?)))
            .collect()
    }

    pub async fn delete(
        &self,
        actor: Uuid,
        project_id: Uuid,
        key: &str,
    ) -> Result<bool, VaultError> {
        let deleted = self.secrets.delete(project_id, key).await?;
        if deleted {
            self.record(actor, project_id, "secret.delete", Some(key.to_owned()))
                .await?;
        }
        Ok(deleted)
    }

    /// Re-seals every value that is not under the current key. Safe to run
    /// while the API serves: each row is swapped only if unchanged since it
    /// was read, and running it again resumes where it stopped.
    pub async fn rotate(&self) -> Result<RotationReport, VaultError> {
        const BATCH: u32 = 200;
        let current = self.keyring.current_version();
        let mut report = RotationReport::default();
        let mut after = None;

        loop {
            let batch = self
                .secrets
                .sealed_under_other_keys(current, after, BATCH)
                .await?;
            let Some(last) = batch.last() else {
                break;
            };
            after = Some(last.id);

            for stored in &batch {
                let context = context(stored.project_id, &stored.metadata.key);
                let Ok(plain) = self.keyring.open(&context, &stored.sealed) else {
                    report
                        .unreadable
                        .push(format!("{}/{}", stored.project_id, stored.metadata.key));
                    continue;
                };
                let resealed = self.keyring.seal(&context, &plain);
                if self
                    .secrets
                    .reseal(stored.id, &stored.sealed, &resealed)
                    .await?
                {
                    report.resealed += 1;
                } else {
                    report.changed_meanwhile += 1;
                }
            }
        }
        Ok(report)
    }

    fn seal_input(
        &self,
        project_id: Uuid,
        input: SecretInput,
        field_prefix: &str,
    ) -> Result<SealedSecret, VaultError> {
        validate::env_var_name(&input.key)
            .map_err(|message| invalid(format!("{field_prefix}key"), message))?;

        let value = input.value.expose_secret();
        if value.len() > MAX_VALUE_BYTES {
            return Err(invalid(
                format!("{field_prefix}value"),
                format!(
                    "of {:?} is {} bytes; the limit is {MAX_VALUE_BYTES}",
                    input.key,
                    value.len()
                ),
            ));
        }
        // Environment variables are C strings: a NUL would cut the value.
        if value.contains('\0') {
            return Err(invalid(
                format!("{field_prefix}value"),
                format!("of {:?} contains a NUL character", input.key),
            ));
        }
        if let Some(description) = &input.description
            && description.chars().count() > MAX_DESCRIPTION_CHARS
        {
            return Err(invalid(
                format!("{field_prefix}description"),
                format!("is longer than {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }

        let sealed = self
            .keyring
            .seal(&context(project_id, &input.key), value.as_bytes());
        Ok(SealedSecret {
            key: input.key,
            sealed,
            description: input.description,
        })
    }

    fn open_stored(&self, stored: &StoredSecret) -> Result<SecretString, VaultError> {
        let key = &stored.metadata.key;
        let plain = self
            .keyring
            .open(&context(stored.project_id, key), &stored.sealed)
            .map_err(|source| VaultError::Unreadable {
                key: key.clone(),
                source,
            })?;
        // Values are sealed from `&str`, so they open as UTF-8.
        let text = String::from_utf8(plain).map_err(|_| VaultError::Unreadable {
            key: key.clone(),
            source: OpenError::Unauthentic,
        })?;
        Ok(SecretString::from(text))
    }

    async fn record(
        &self,
        actor: Uuid,
        project_id: Uuid,
        action: &'static str,
        subject: Option<String>,
    ) -> Result<(), StoreError> {
        self.audit
            .record(AuditEntry {
                actor_id: Some(actor),
                project_id: Some(project_id),
                action,
                subject,
                details: serde_json::Value::Object(Default::default()),
            })
            .await
    }
}

/// The associated data that binds a value to its row.
fn context(project_id: Uuid, key: &str) -> Vec<u8> {
    const LABEL: &[u8] = b"hero/project-secret/v1\0";
    let mut context = Vec::with_capacity(LABEL.len() + 16 + key.len());
    context.extend_from_slice(LABEL);
    context.extend_from_slice(project_id.as_bytes());
    context.extend_from_slice(key.as_bytes());
    context
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> VaultError {
    VaultError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("keyring", &self.keyring)
            .finish()
    }
}
