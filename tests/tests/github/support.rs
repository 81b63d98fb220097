//! A fake GitHub with Hero's GitHub forge aimed at it, and the checks every
//! test ends with: no token the fake issued appears in a log line or in an
//! error message.

use std::sync::Arc;

use hero_common::crypto::MasterKey;
use hero_common::github_oauth::{OAuthClient, OAuthTokenStore};
use hero_common::store::Stores;
use hero_tests::TestDb;
use hero_tests::fake_github::FakeGitHub;
use hero_tests::logs::{self, CapturedLogs};
use hero_worker::forge::github::{GitHubConfig, GitHubForge};
use hero_worker::forge::{Access, ForgeError, PullRequestSpec, RepoRef};
use secrecy::SecretString;
use uuid::Uuid;

pub const OWNER: &str = "acme";
pub const REPO: &str = "widgets";
pub const INSTALLATION: i64 = 31_337;

/// An npm project with a lock file, so that hydrating it installs.
pub const PACKAGE_JSON: &str =
    r#"{"name": "widgets", "version": "1.0.0", "scripts": {"test": "node -e 0"}}"#;
pub const PACKAGE_LOCK: &str = r#"{"name": "widgets", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
  "packages": {"": {"name": "widgets", "version": "1.0.0"}}}"#;

pub struct Env {
    pub fake: FakeGitHub,
    pub forge: GitHubForge,
    pub logs: CapturedLogs,
}

impl Env {
    /// A fake with `acme/widgets` (a README on `main`) and the app
    /// installed on `acme`; a forge acting as that app.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut GitHubConfig)) -> Self {
        let logs = logs::capture();
        let fake = FakeGitHub::start().await;
        fake.add_repo(OWNER, REPO).await;
        fake.add_installation(INSTALLATION, OWNER);
        let mut config = fake.forge_config();
        tune(&mut config);
        let forge = GitHubForge::new(config, None).unwrap();
        Self { fake, forge, logs }
    }

    /// `acme/widgets` through the app's installation.
    pub fn repo(&self) -> RepoRef {
        repo_ref(Access::Installation {
            installation_id: INSTALLATION,
        })
    }

    /// A branch with a change on it, ready for a pull request.
    pub async fn push_feature(&self, branch: &str) {
        self.fake
            .push_branch(OWNER, REPO, branch, &[("src/feature.txt", branch)])
            .await;
    }

    /// Fails if any token the fake issued appears in the captured logs or
    /// in one of `texts` (error messages, results).
    #[track_caller]
    pub fn assert_no_token_leaked(&self, texts: &[String]) {
        assert_no_token_in(&self.fake, &self.logs, texts);
    }
}

#[track_caller]
pub fn assert_no_token_in(fake: &FakeGitHub, logs: &CapturedLogs, texts: &[String]) {
    let issued = fake.issued_tokens();
    assert!(!issued.is_empty(), "the check needs tokens to look for");
    let logged = logs.text();
    for token in &issued {
        assert!(
            !logged.contains(token.as_str()),
            "a token leaked into the logs"
        );
        for text in texts {
            assert!(
                !text.contains(token.as_str()),
                "a token leaked into {text:?}"
            );
        }
    }
}

pub fn repo_ref(access: Access) -> RepoRef {
    RepoRef {
        owner: OWNER.to_owned(),
        name: REPO.to_owned(),
        access,
    }
}

pub fn spec(head: &str) -> PullRequestSpec {
    PullRequestSpec {
        title: format!("Add {head}"),
        body: Some("Made by Hero.".to_owned()),
        head: head.to_owned(),
        base: "main".to_owned(),
        draft: false,
    }
}

/// The error's text, for leak checks.
pub fn text(error: &ForgeError) -> String {
    format!("{error} {error:?}")
}

/// A database with one user, and an OAuth token store for the fake's
/// OAuth app sealing under a new master key.
pub struct OAuthEnv {
    pub db: TestDb,
    pub user_id: Uuid,
    pub store: Arc<OAuthTokenStore>,
    pub key: MasterKey,
}

impl OAuthEnv {
    pub async fn start(fake: &FakeGitHub) -> Self {
        let db = TestDb::new().await;
        let stores = Stores::postgres(db.pool.clone());
        let user_id = stores.users.get_or_create("alice").await.unwrap().id;
        let key = MasterKey::generate();
        let store = Self::store_with(&db, fake, &key).await;
        Self {
            db,
            user_id,
            store: Arc::new(store),
            key,
        }
    }

    /// Another store on the same database, as another worker would hold.
    pub async fn store_with(db: &TestDb, fake: &FakeGitHub, key: &MasterKey) -> OAuthTokenStore {
        let stores = Stores::postgres(db.pool.clone());
        let client = OAuthClient::new(fake.oauth_config()).unwrap();
        OAuthTokenStore::open(db.pool.clone(), &stores, key, &[], client)
            .await
            .unwrap()
    }

    pub async fn other_user(&self, name: &str) -> Uuid {
        Stores::postgres(self.db.pool.clone())
            .users
            .get_or_create(name)
            .await
            .unwrap()
            .id
    }
}

pub fn secret(text: &str) -> SecretString {
    SecretString::from(text.to_owned())
}
