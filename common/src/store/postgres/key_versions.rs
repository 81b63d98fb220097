use async_trait::async_trait;
use sqlx::PgPool;

use crate::store::{KeyVersionStore, StoreResult};

pub(super) struct PgKeyVersions(pub(super) PgPool);

#[async_trait]
impl KeyVersionStore for PgKeyVersions {
    async fn register(&self, fingerprint: &[u8; 32]) -> StoreResult<i32> {
        // Two processes starting with a new key at once both insert; the
        // loser's conflict turns into an update that returns the same row.
        let version = sqlx::query_scalar(
            "INSERT INTO encryption_keys (fingerprint) VALUES ($1)
             ON CONFLICT ON CONSTRAINT encryption_keys_fingerprint_key
             DO UPDATE SET fingerprint = EXCLUDED.fingerprint
             RETURNING version",
        )
        .bind(fingerprint.as_slice())
        .fetch_one(&self.0)
        .await?;
        Ok(version)
    }
}
