//! The `hero` binary against a real database.

// Tests fail by panicking; an unwrap is an assertion here.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

use hero_common::api_token;
use hero_common::crypto::MasterKey;
use hero_common::domain::NewProject;
use hero_common::store::Stores;
use hero_common::vault::{SecretInput, Vault};
use hero_tests::TestDb;
use secrecy::{ExposeSecret, SecretString};

fn hero(db: &TestDb, env: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hero"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.url.expose_secret())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "hero failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn migrate_creates_the_schema_on_an_empty_database_and_a_second_run_changes_nothing() {
    let db = TestDb::empty().await;
    assert_eq!(db.tables().await, Vec::<String>::new());

    let first = stdout(&hero(&db, &[], &["migrate"]));

    assert!(first.contains("database is up to date"), "{first}");
    db.assert_fully_migrated().await;

    let applied = db.applied_migrations().await;
    let tables = db.tables().await;
    let second = stdout(&hero(&db, &[], &["migrate"]));

    assert!(second.contains("database is up to date"), "{second}");
    assert_eq!(db.applied_migrations().await, applied, "nothing re-applied");
    assert_eq!(db.tables().await, tables);
}

#[tokio::test]
async fn token_create_prints_a_working_token_alone_on_the_last_line_and_revoke_ends_it() {
    let db = TestDb::new().await;
    let stores = Stores::postgres(db.pool.clone());

    let created = stdout(&hero(&db, &[], &["token", "create", "--user", "bob"]));
    let token = created.lines().last().unwrap();
    let user = stores
        .tokens
        .authenticate(&api_token::hash(token))
        .await
        .unwrap();
    assert!(api_token::looks_like_token(token), "{created}");
    assert_eq!(user.unwrap().name, "bob");

    let listed = stdout(&hero(&db, &[], &["token", "list", "--user", "bob"]));
    assert!(!listed.contains(token));
    let id = listed.split_whitespace().next().unwrap();
    stdout(&hero(&db, &[], &["token", "revoke", id]));

    let after = stores
        .tokens
        .authenticate(&api_token::hash(token))
        .await
        .unwrap();
    assert!(after.is_none());
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM api_tokens")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert!(stored.iter().all(|hash| hash != token.as_bytes()));
}

#[tokio::test]
async fn revoking_an_unknown_token_fails_with_a_message() {
    let db = TestDb::new().await;

    let output = hero(
        &db,
        &[],
        &["token", "revoke", "0192f0c4-0000-7000-8000-000000000000"],
    );

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no active token"));
}

#[tokio::test]
async fn rotate_key_moves_every_secret_to_the_new_key() {
    let db = TestDb::new().await;
    let stores = Stores::postgres(db.pool.clone());
    let (old, new) = (MasterKey::generate(), MasterKey::generate());
    let owner = stores.users.get_or_create("owner").await.unwrap().id;
    let project = NewProject {
        name: "p".to_owned(),
        repo_owner: "o".to_owned(),
        repo_name: "r".to_owned(),
        github_installation_id: None,
        default_branch: "main".to_owned(),
        use_cloud_sandbox: false,
        allow_default_branch_push: false,
        webhook_triggers: Default::default(),
    };
    let project = stores.projects.create(owner, project).await.unwrap().id;
    let vault = Vault::open(&stores, &old, &[]).await.unwrap();
    let input = SecretInput {
        key: "API_KEY".to_owned(),
        value: SecretString::from("kept across rotation"),
        description: None,
    };
    vault.set(owner, project, input).await.unwrap();

    let output = stdout(&hero(
        &db,
        &[
            ("SECRETS_ENCRYPTION_KEY", &new.to_hex()),
            ("SECRETS_ENCRYPTION_KEY_PREVIOUS", &old.to_hex()),
        ],
        &["secrets", "rotate-key"],
    ));

    assert!(output.contains("re-encrypted 1 secrets"), "{output}");
    let only_new = Vault::open(&stores, &new, &[]).await.unwrap();
    let (_, value) = only_new
        .reveal(owner, project, "API_KEY")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(value.expose_secret(), "kept across rotation");
}

#[tokio::test]
async fn a_malformed_setting_stops_the_command_with_one_line_naming_it() {
    let db = TestDb::new().await;

    let output = hero(
        &db,
        &[("SECRETS_ENCRYPTION_KEY", "too-short")],
        &["migrate"],
    );

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("SECRETS_ENCRYPTION_KEY"), "{stderr}");
    assert!(!stderr.contains("too-short"), "{stderr}");
}

#[tokio::test]
async fn forge_create_makes_a_repository_holding_the_directory_and_refuses_a_second() {
    let db = TestDb::new().await;
    let data = std::env::temp_dir().join(format!("hero-cli-forge-{}", uuid::Uuid::new_v4()));
    let seed = data.join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    std::fs::write(seed.join("README.md"), "# shop\n").unwrap();
    let env = [("HERO_DATA_DIR", data.to_str().unwrap())];

    let created = hero(
        &db,
        &env,
        &[
            "forge",
            "create",
            "acme/shop",
            "--from",
            seed.to_str().unwrap(),
        ],
    );
    let again = hero(&db, &env, &["forge", "create", "acme/shop"]);
    let bad = hero(&db, &env, &["forge", "create", "acme"]);

    stdout(&created);
    let listed = Command::new("git")
        .args([
            "--git-dir",
            data.join("forge/acme/shop.git").to_str().unwrap(),
        ])
        .args(["show", "main:README.md"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&listed.stdout), "# shop\n");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("OWNER/NAME"));
    std::fs::remove_dir_all(&data).ok();
}

#[tokio::test]
async fn dev_runs_the_sample_agent_session_end_to_end_and_can_stop_after_it() {
    let db = TestDb::new().await;
    let data = std::env::temp_dir().join(format!("hero-cli-dev-{}", uuid::Uuid::new_v4()));
    let env = [
        ("HERO_DATA_DIR", data.to_str().unwrap()),
        ("HERO_BIND", "127.0.0.1:0"),
        ("HERO_QUEUE_PREFIX", db.name.as_str()),
    ];

    let first = hero(&db, &env, &["dev", "--exit-after-session"]);
    let again = hero(&db, &env, &["dev", "--exit-after-session"]);

    let printed = stdout(&first);
    for step in [
        "hydrate the repository",
        "edit greet.sh",
        "run `sh greet.sh`",
        "commit and push",
        "open a pull request",
    ] {
        assert!(printed.contains(&format!("✓ {step}")), "{printed}");
    }
    assert!(printed.contains("Hello from Hero's sandbox"), "{printed}");
    assert!(printed.contains("/git/demo/hello/pull/1"), "{printed}");
    assert!(
        stdout(&again).contains("/git/demo/hello/pull/2"),
        "a second run opens a new one"
    );
    std::fs::remove_dir_all(&data).ok();
}
