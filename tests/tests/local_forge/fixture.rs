use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use hero_common::crypto::MasterKey;
use hero_common::local_forge::{ForgeLayout, ForgeTokens};
use hero_tests::TestApp;
use hero_worker::forge::local::{BareRepository, LocalForge};
use hero_worker::forge::{Access, RepoRef};
use secrecy::{ExposeSecret, SecretString};
use tokio::process::Command;

pub const OWNER: &str = "acme";
pub const NAME: &str = "widgets";

/// The API serving a local forge in a data directory of its own, holding
/// `acme/widgets` with a README on `main`.
pub struct Forged {
    pub app: TestApp,
    pub data_dir: PathBuf,
    pub tokens: ForgeTokens,
    pub forge: LocalForge,
}

impl Forged {
    pub async fn start() -> Self {
        let data_dir = std::env::temp_dir().join(format!("hero-forge-{}", uuid::Uuid::new_v4()));
        let app = TestApp::spawn_with(&[
            ("HERO_FORGE", "local"),
            ("HERO_DATA_DIR", data_dir.to_str().unwrap()),
        ])
        .await;
        let layout = ForgeLayout::in_data_dir(&data_dir);
        let tokens = ForgeTokens::new(&MasterKey::parse(&app.key_hex).unwrap());

        let seed = data_dir.join("seed");
        std::fs::create_dir_all(&seed).unwrap();
        std::fs::write(seed.join("README.md"), "# widgets\n").unwrap();
        let path = layout.repository(OWNER, NAME).unwrap();
        let bare = BareRepository::create(&path, "main").await.unwrap();
        bare.commit_directory(&seed, "main", "Initial commit")
            .await
            .unwrap();

        let forge = LocalForge::new(
            layout,
            format!("{}/git", app.url),
            tokens.clone(),
            Arc::clone(&app.stores.local_pull_requests),
        );
        Self {
            app,
            data_dir,
            tokens,
            forge,
        }
    }

    pub fn token(&self, owner: &str, name: &str) -> SecretString {
        self.tokens.token_for(owner, name)
    }

    pub fn repo(&self) -> RepoRef {
        RepoRef {
            owner: OWNER.to_owned(),
            name: NAME.to_owned(),
            access: Access::Anonymous,
        }
    }

    pub fn clone_url(&self, owner: &str, name: &str) -> String {
        format!("{}/git/{owner}/{name}.git", self.app.url)
    }
}

impl Drop for Forged {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.data_dir).ok();
    }
}

/// Runs git on the host, hermetically, with `token` (if any) in a header.
/// Asynchronously: the API it talks to runs on the test's own runtime.
pub async fn git(dir: &Path, token: Option<&SecretString>, args: &[&str]) -> Output {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .args(["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]);
    if let Some(token) = token {
        let header = hero_worker::git::auth::authorization_header(token);
        command.env("GIT_CONFIG_COUNT", "1");
        command.env("GIT_CONFIG_KEY_0", "http.extraHeader");
        command.env("GIT_CONFIG_VALUE_0", header.expose_secret());
    }
    command.args(args).output().await.unwrap()
}
