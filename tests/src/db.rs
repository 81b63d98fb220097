//! A fresh Postgres database per test, so tests run in parallel and never
//! see each other's rows.

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

/// A migrated database that is dropped when the value is.
pub struct TestDb {
    pub name: String,
    pub url: SecretString,
    pub pool: PgPool,
}

impl TestDb {
    pub async fn new() -> Self {
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
        db::migrate(&pool).await.expect("migrate test database");
        Self { name, url, pool }
    }
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
            runtime.block_on(async {
                let mut admin =
                    PgConnection::connect(&format!("{}/postgres", server_url())).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}
