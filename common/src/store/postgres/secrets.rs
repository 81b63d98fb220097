use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::crypto::{NONCE_LEN, Sealed};
use crate::domain::{SealedSecret, SecretMetadata, StoredSecret};
use crate::store::{SecretStore, StoreError, StoreResult};

pub(super) struct PgSecrets(pub(super) PgPool);

#[derive(sqlx::FromRow)]
struct MetadataRow {
    key: String,
    description: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<MetadataRow> for SecretMetadata {
    fn from(row: MetadataRow) -> Self {
        Self {
            key: row.key,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct SecretRow {
    id: Uuid,
    project_id: Uuid,
    key: String,
    description: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    ciphertext: Vec<u8>,
    nonce: Vec<u8>,
    key_version: i32,
}

impl TryFrom<SecretRow> for StoredSecret {
    type Error = StoreError;

    fn try_from(row: SecretRow) -> Result<Self, Self::Error> {
        // The table's CHECK makes this impossible; map it rather than panic.
        let nonce = <[u8; NONCE_LEN]>::try_from(row.nonce.as_slice())
            .map_err(|_| StoreError::Database(sqlx::Error::Decode("nonce length".into())))?;
        Ok(Self {
            id: row.id,
            project_id: row.project_id,
            metadata: SecretMetadata {
                key: row.key,
                description: row.description,
                created_at: row.created_at,
                updated_at: row.updated_at,
            },
            sealed: Sealed {
                key_version: row.key_version,
                nonce,
                ciphertext: row.ciphertext,
            },
        })
    }
}

/// The columns of [`SecretRow`], as a literal for `concat!`: sqlx accepts
/// only static SQL.
macro_rules! columns {
    () => {
        "id, project_id, key, description, created_at, updated_at, ciphertext, nonce, key_version"
    };
}

async fn upsert(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    secret: &SealedSecret,
) -> StoreResult<(SecretMetadata, bool)> {
    // `xmax = 0` holds only for a row this statement inserted.
    let (key, description, created_at, updated_at, created): (
        String,
        Option<String>,
        DateTime<Utc>,
        DateTime<Utc>,
        bool,
    ) = sqlx::query_as(
        "INSERT INTO project_secrets
            (id, project_id, key, ciphertext, nonce, key_version, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT ON CONSTRAINT project_secrets_project_key_key DO UPDATE SET
            ciphertext = EXCLUDED.ciphertext,
            nonce = EXCLUDED.nonce,
            key_version = EXCLUDED.key_version,
            description = COALESCE(EXCLUDED.description, project_secrets.description),
            updated_at = now()
         RETURNING key, description, created_at, updated_at, (xmax = 0)",
    )
    .bind(Uuid::now_v7())
    .bind(project_id)
    .bind(&secret.key)
    .bind(&secret.sealed.ciphertext)
    .bind(secret.sealed.nonce.as_slice())
    .bind(secret.sealed.key_version)
    .bind(&secret.description)
    .fetch_one(&mut **tx)
    .await?;
    Ok((
        SecretMetadata {
            key,
            description,
            created_at,
            updated_at,
        },
        created,
    ))
}

#[async_trait]
impl SecretStore for PgSecrets {
    async fn put(
        &self,
        project_id: Uuid,
        secret: SealedSecret,
    ) -> StoreResult<(SecretMetadata, bool)> {
        let mut tx = self.0.begin().await?;
        let result = upsert(&mut tx, project_id, &secret).await?;
        tx.commit().await?;
        Ok(result)
    }

    async fn put_many(
        &self,
        project_id: Uuid,
        secrets: Vec<SealedSecret>,
    ) -> StoreResult<Vec<SecretMetadata>> {
        let mut tx = self.0.begin().await?;
        let mut stored = Vec::with_capacity(secrets.len());
        for secret in &secrets {
            stored.push(upsert(&mut tx, project_id, secret).await?.0);
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn list(&self, project_id: Uuid) -> StoreResult<Vec<SecretMetadata>> {
        let rows: Vec<MetadataRow> = sqlx::query_as(
            "SELECT key, description, created_at, updated_at
             FROM project_secrets WHERE project_id = $1 ORDER BY key",
        )
        .bind(project_id)
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn get(&self, project_id: Uuid, key: &str) -> StoreResult<Option<StoredSecret>> {
        let row: Option<SecretRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM project_secrets WHERE project_id = $1 AND key = $2"
        ))
        .bind(project_id)
        .bind(key)
        .fetch_optional(&self.0)
        .await?;
        row.map(TryInto::try_into).transpose()
    }

    async fn get_all(&self, project_id: Uuid) -> StoreResult<Vec<StoredSecret>> {
        let rows: Vec<SecretRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM project_secrets WHERE project_id = $1 ORDER BY key"
        ))
        .bind(project_id)
        .fetch_all(&self.0)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn delete(&self, project_id: Uuid, key: &str) -> StoreResult<bool> {
        let result = sqlx::query("DELETE FROM project_secrets WHERE project_id = $1 AND key = $2")
            .bind(project_id)
            .bind(key)
            .execute(&self.0)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn sealed_under_other_keys(
        &self,
        current: i32,
        after: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<StoredSecret>> {
        let rows: Vec<SecretRow> = sqlx::query_as(concat!(
            "SELECT ",
            columns!(),
            " FROM project_secrets
             WHERE key_version <> $1 AND ($2::uuid IS NULL OR id > $2)
             ORDER BY id LIMIT $3"
        ))
        .bind(current)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.0)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn reseal(&self, id: Uuid, expected: &Sealed, sealed: &Sealed) -> StoreResult<bool> {
        // Compare-and-swap on the nonce: it is unique per sealing, so an
        // unchanged nonce means nobody wrote the value since we read it.
        let result = sqlx::query(
            "UPDATE project_secrets SET ciphertext = $3, nonce = $4, key_version = $5
             WHERE id = $1 AND nonce = $2",
        )
        .bind(id)
        .bind(expected.nonce.as_slice())
        .bind(&sealed.ciphertext)
        .bind(sealed.nonce.as_slice())
        .bind(sealed.key_version)
        .execute(&self.0)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
