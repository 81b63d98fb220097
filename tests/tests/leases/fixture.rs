use std::sync::Arc;
use std::time::Duration;

use hero_common::domain::{NewProject, SandboxRecord};
use hero_common::store::Stores;
use hero_tests::TestDb;
use hero_tests::local_sandboxes::TempProvider;
use hero_worker::lease::{LeaseTable, PgLeaseTable, PoolConfig, SandboxPool};
use hero_worker::sandbox::local::IsolationMode;
use uuid::Uuid;

pub struct Fixture {
    pub db: TestDb,
    pub local: TempProvider,
    pub projects: Vec<Uuid>,
}

impl Fixture {
    pub async fn new(project_count: usize) -> Self {
        let db = TestDb::new().await;
        let stores = Stores::postgres(db.pool.clone());
        let owner = stores.users.get_or_create("owner").await.unwrap().id;
        let mut projects = Vec::with_capacity(project_count);
        for i in 0..project_count {
            let project = NewProject {
                name: format!("p{i}"),
                repo_owner: "o".to_owned(),
                repo_name: format!("r{i}"),
                github_installation_id: None,
                default_branch: "main".to_owned(),
                use_cloud_sandbox: false,
                allow_default_branch_push: false,
                webhook_triggers: Default::default(),
            };
            projects.push(stores.projects.create(owner, project).await.unwrap().id);
        }
        let local = TempProvider::new(IsolationMode::Disabled, false).await;
        Self {
            db,
            local,
            projects,
        }
    }

    pub fn table(&self, max_sandboxes: u32, ttl: Duration) -> LeaseTable {
        PgLeaseTable::open(self.db.pool.clone(), max_sandboxes, ttl)
    }

    pub fn pool(&self, max_sandboxes: u32, config: PoolConfig) -> SandboxPool {
        SandboxPool::new(
            self.table(max_sandboxes, Duration::from_secs(30)),
            Arc::new(self.local.provider.clone()),
            config,
        )
    }

    pub async fn state_of(&self, row: Uuid) -> String {
        sqlx::query_scalar("SELECT state FROM sandboxes WHERE id = $1")
            .bind(row)
            .fetch_one(&self.db.pool)
            .await
            .unwrap()
    }

    /// Asks for the project's sandbox to be closed, through the store the
    /// API's `DELETE /v1/projects/{id}/sandbox` uses.
    pub async fn request_close(&self, project: Uuid) -> Option<SandboxRecord> {
        Stores::postgres(self.db.pool.clone())
            .sandboxes
            .request_close(project)
            .await
            .unwrap()
    }

    /// Pretends a row was last used `seconds` ago.
    pub async fn age(&self, row: Uuid, seconds: i64) {
        sqlx::query(
            "UPDATE sandboxes SET last_active_at = now() - $2 * interval '1 second' WHERE id = $1",
        )
        .bind(row)
        .bind(seconds)
        .execute(&self.db.pool)
        .await
        .unwrap();
    }
}
