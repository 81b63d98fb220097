//! A fresh Postgres database per test, so tests run in parallel and never
//! see each other's rows.

use chrono::{DateTime, Utc};
use hero_common::db;
use secrecy::SecretString;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

/// The server tests create their databases on. `HERO_TEST_POSTGRES`
/// overrides it.
fn server_url() -> String {
    std::env::var("HERO_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A database of its own, dropped when the value is.
pub struct TestDb {
    pub name: String,
    pub url: SecretString,
    pub pool: PgPool,
}

impl TestDb {
    /// A database with every migration applied.
    pub async fn new() -> Self {
        let db = Self::empty().await;
        db::migrate(&db.pool).await.expect("migrate test database");
        db
    }

    /// A database with no tables, for tests of what migrates it.
    pub async fn empty() -> Self {
        let name = format!("hero_test_{}", Uuid::new_v4().simple());
        let url = format!("{}/{name}", server_url());

        let mut admin = PgConnection::connect(&format!("{}/postgres", server_url()))
            .await
            .expect("Postgres must be running for the tests (see .ci/run)");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();

        let url = SecretString::from(url);
        let pool = db::connect(&url, 10)
            .await
            .expect("connect to test database");
        Self { name, url, pool }
    }

    /// The tables of the public schema, by name.
    pub async fn tables(&self) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' ORDER BY table_name",
        )
        .fetch_all(&self.pool)
        .await
        .expect("list tables")
    }

    /// The migrations recorded as applied, oldest first, with when each
    /// was applied: a migration that runs again gets a new time.
    pub async fn applied_migrations(&self) -> Vec<(i64, DateTime<Utc>)> {
        sqlx::query_as(
            "SELECT version, installed_on FROM _sqlx_migrations \
             WHERE success ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await
        .expect("read _sqlx_migrations")
    }

    /// Asserts that every migration this build embeds has been applied and
    /// that the tables Hero is built on exist.
    pub async fn assert_fully_migrated(&self) {
        let applied: Vec<i64> = self
            .applied_migrations()
            .await
            .into_iter()
            .map(|(version, _)| version)
            .collect();
        let embedded: Vec<i64> = db::MIGRATOR.iter().map(|m| m.version).collect();
        assert_eq!(applied, embedded, "applied migrations");

        let tables = self.tables().await;
        for table in [
            "users",
            "api_tokens",
            "projects",
            "project_secrets",
            "audit_log",
            "sandboxes",
            "jobs",
        ] {
            assert!(tables.iter().any(|t| t == table), "no {table}: {tables:?}");
        }
    }

    /// Drops the database while the test still uses it, as if Postgres had
    /// lost it; connections to it end at once.
    pub async fn drop_now(&self) {
        drop_database(&self.name).await.expect("drop test database");
    }
}

/// Drops `name`, ending its connections server-side (FORCE).
async fn drop_database(name: &str) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(&format!("{}/postgres", server_url())).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be single-threaded,
        // so a thread with its own runtime drops the database. FORCE ends
        // the pool's connections server-side: closing them from here would
        // wait on the test's runtime, which this thread blocks.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(drop_database(&name))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}
