use async_trait::async_trait;
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::User;
use crate::store::{StoreResult, UserStore};

pub(super) struct PgUsers(pub(super) PgPool);

#[async_trait]
impl UserStore for PgUsers {
    async fn get_or_create(&self, name: &str) -> StoreResult<User> {
        // The no-op update makes RETURNING yield the existing row as well.
        let (id, name, created_at) = sqlx::query_as(
            "INSERT INTO users (id, name) VALUES ($1, $2)
             ON CONFLICT ON CONSTRAINT users_name_key DO UPDATE SET name = EXCLUDED.name
             RETURNING id, name, created_at",
        )
        .bind(Uuid::now_v7())
        .bind(name)
        .fetch_one(&self.0)
        .await?;
        Ok(User {
            id,
            name,
            created_at,
        })
    }

    async fn find_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query_as("SELECT id, name, created_at FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.0)
            .await?;
        Ok(row.map(|(id, name, created_at)| User {
            id,
            name,
            created_at,
        }))
    }
}
