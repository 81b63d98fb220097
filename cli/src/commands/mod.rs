pub mod batch;
pub mod dev;
pub mod forge;
pub mod migrate;
pub mod project;
pub mod secrets;
pub mod token;

use hero_common::db;
use hero_common::settings::Settings;
use sqlx::PgPool;

/// A pool on a database that exists and is migrated.
async fn migrated_pool(settings: &Settings) -> anyhow::Result<PgPool> {
    db::ensure_database(&settings.database_url).await?;
    let pool = db::connect(&settings.database_url, 4).await?;
    db::migrate(&pool).await?;
    Ok(pool)
}
