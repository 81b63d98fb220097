//! The vault against real Postgres: rows bound to their place, and key
//! rotation that never loses a value.

use hero_common::crypto::MasterKey;
use hero_common::domain::NewProject;
use hero_common::store::Stores;
use hero_common::vault::{SecretInput, Vault, VaultError};
use hero_tests::TestDb;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

struct Fixture {
    db: TestDb,
    stores: Stores,
    actor: Uuid,
}

impl Fixture {
    async fn new() -> Self {
        let db = TestDb::new().await;
        let stores = Stores::postgres(db.pool.clone());
        let actor = stores.users.get_or_create("owner").await.unwrap().id;
        Self { db, stores, actor }
    }

    async fn project(&self, name: &str) -> Uuid {
        let project = NewProject {
            name: name.to_owned(),
            repo_owner: "o".to_owned(),
            repo_name: name.to_owned(),
            github_installation_id: None,
            default_branch: "main".to_owned(),
            use_cloud_sandbox: false,
            allow_default_branch_push: false,
            webhook_triggers: Default::default(),
        };
        self.stores
            .projects
            .create(self.actor, project)
            .await
            .unwrap()
            .id
    }

    async fn set(&self, vault: &Vault, project: Uuid, key: &str, value: &str) {
        let input = SecretInput {
            key: key.to_owned(),
            value: SecretString::from(value.to_owned()),
            description: None,
        };
        vault.set(self.actor, project, input).await.unwrap();
    }

    async fn read(&self, vault: &Vault, project: Uuid, key: &str) -> Result<String, VaultError> {
        let (_, value) = vault
            .reveal(self.actor, project, key)
            .await?
            .expect("secret exists");
        Ok(value.expose_secret().to_owned())
    }
}

#[tokio::test]
async fn a_ciphertext_copied_to_another_project_does_not_open() {
    let f = Fixture::new().await;
    let vault = Vault::open(&f.stores, &MasterKey::generate(), &[])
        .await
        .unwrap();
    let (a, b) = (f.project("a").await, f.project("b").await);
    f.set(&vault, a, "TOKEN", "for-a-only").await;
    f.set(&vault, b, "TOKEN", "for-b").await;

    sqlx::query(
        "UPDATE project_secrets SET (ciphertext, nonce) =
           (SELECT ciphertext, nonce FROM project_secrets WHERE project_id = $1 AND key = 'TOKEN')
         WHERE project_id = $2 AND key = 'TOKEN'",
    )
    .bind(a)
    .bind(b)
    .execute(&f.db.pool)
    .await
    .unwrap();

    assert_eq!(f.read(&vault, a, "TOKEN").await.unwrap(), "for-a-only");
    assert!(matches!(
        f.read(&vault, b, "TOKEN").await,
        Err(VaultError::Unreadable { .. })
    ));
}

#[tokio::test]
async fn a_ciphertext_copied_to_another_key_does_not_open() {
    let f = Fixture::new().await;
    let vault = Vault::open(&f.stores, &MasterKey::generate(), &[])
        .await
        .unwrap();
    let project = f.project("p").await;
    f.set(&vault, project, "PROD_KEY", "prod").await;
    f.set(&vault, project, "TEST_KEY", "test").await;

    sqlx::query(
        "UPDATE project_secrets SET (ciphertext, nonce) =
           (SELECT ciphertext, nonce FROM project_secrets WHERE key = 'PROD_KEY')
         WHERE key = 'TEST_KEY'",
    )
    .execute(&f.db.pool)
    .await
    .unwrap();

    assert!(matches!(
        f.read(&vault, project, "TEST_KEY").await,
        Err(VaultError::Unreadable { .. })
    ));
}

#[tokio::test]
async fn a_tampered_row_is_rejected() {
    let f = Fixture::new().await;
    let vault = Vault::open(&f.stores, &MasterKey::generate(), &[])
        .await
        .unwrap();
    let project = f.project("p").await;
    f.set(&vault, project, "K", "value").await;

    sqlx::query("UPDATE project_secrets SET ciphertext = set_byte(ciphertext, 0, get_byte(ciphertext, 0) # 1)")
        .execute(&f.db.pool)
        .await
        .unwrap();

    assert!(matches!(
        f.read(&vault, project, "K").await,
        Err(VaultError::Unreadable { .. })
    ));
}

#[tokio::test]
async fn rotation_reseals_every_value_under_the_new_key_and_all_stay_readable() {
    let f = Fixture::new().await;
    let (old, new) = (MasterKey::generate(), MasterKey::generate());
    let before = Vault::open(&f.stores, &old, &[]).await.unwrap();
    let (p1, p2) = (f.project("one").await, f.project("two").await);
    let mut expected = Vec::new();
    for i in 0..250 {
        let project = if i % 2 == 0 { p1 } else { p2 };
        let key = format!("KEY_{i}");
        let value = format!("value-{i}");
        f.set(&before, project, &key, &value).await;
        expected.push((project, key, value));
    }

    let during = Vault::open(&f.stores, &new, std::slice::from_ref(&old))
        .await
        .unwrap();
    let report = during.rotate().await.unwrap();
    let after = Vault::open(&f.stores, &new, &[]).await.unwrap();

    assert_eq!(report.resealed, 250);
    assert!(report.unreadable.is_empty());
    assert_ne!(during.key_version(), before.key_version());
    for (project, key, value) in &expected {
        assert_eq!(&f.read(&after, *project, key).await.unwrap(), value);
    }
    let stale: i64 =
        sqlx::query_scalar("SELECT count(*) FROM project_secrets WHERE key_version <> $1")
            .bind(after.key_version())
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    assert_eq!(stale, 0);
    assert_eq!(during.rotate().await.unwrap().resealed, 0);
}

#[tokio::test]
async fn before_rotation_the_new_key_alone_cannot_read_old_values_and_says_why() {
    let f = Fixture::new().await;
    let old = MasterKey::generate();
    let before = Vault::open(&f.stores, &old, &[]).await.unwrap();
    let project = f.project("p").await;
    f.set(&before, project, "K", "v").await;

    let without_old = Vault::open(&f.stores, &MasterKey::generate(), &[])
        .await
        .unwrap();
    let error = f.read(&without_old, project, "K").await.unwrap_err();

    assert!(
        error
            .to_string()
            .contains("SECRETS_ENCRYPTION_KEY_PREVIOUS"),
        "{error}"
    );
    let report = without_old.rotate().await.unwrap();
    assert_eq!(report.unreadable.len(), 1);
    assert_eq!(f.read(&before, project, "K").await.unwrap(), "v");
}

#[tokio::test]
async fn the_same_key_keeps_its_version_across_restarts() {
    let f = Fixture::new().await;
    let key = MasterKey::generate();

    let first = Vault::open(&f.stores, &key, &[]).await.unwrap();
    let second = Vault::open(&f.stores, &key, &[]).await.unwrap();

    assert_eq!(first.key_version(), second.key_version());
}
