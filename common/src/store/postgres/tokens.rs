use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::{ApiTokenInfo, User};
use crate::store::{StoreResult, TokenStore};

pub(super) struct PgTokens(pub(super) PgPool);

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    user_id: Uuid,
    label: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for ApiTokenInfo {
    fn from(row: TokenRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            label: row.label,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        }
    }
}

#[async_trait]
impl TokenStore for PgTokens {
    async fn create(
        &self,
        user_id: Uuid,
        token_hash: &[u8; 32],
        label: Option<&str>,
    ) -> StoreResult<ApiTokenInfo> {
        let row: TokenRow = sqlx::query_as(
            "INSERT INTO api_tokens (id, user_id, token_hash, label) VALUES ($1, $2, $3, $4)
             RETURNING id, user_id, label, created_at, revoked_at",
        )
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(token_hash.as_slice())
        .bind(label)
        .fetch_one(&self.0)
        .await?;
        Ok(row.into())
    }

    async fn authenticate(&self, token_hash: &[u8; 32]) -> StoreResult<Option<User>> {
        let row = sqlx::query_as(
            "SELECT u.id, u.name, u.created_at
             FROM api_tokens t JOIN users u ON u.id = t.user_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(token_hash.as_slice())
        .fetch_optional(&self.0)
        .await?;
        Ok(row.map(|(id, name, created_at)| User {
            id,
            name,
            created_at,
        }))
    }

    async fn revoke(&self, token_id: Uuid) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(token_id)
        .execute(&self.0)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn list(&self, user_id: Uuid) -> StoreResult<Vec<ApiTokenInfo>> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, user_id, label, created_at, revoked_at
             FROM api_tokens WHERE user_id = $1 ORDER BY id",
        )
        .bind(user_id)
        .fetch_all(&self.0)
        .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
