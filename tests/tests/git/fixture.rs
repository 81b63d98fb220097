use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hero_common::redact::Redactor;
use hero_tests::local_sandboxes::TempProvider;
use hero_worker::git::{Git, HydrateSpec, SyncPolicy};
use hero_worker::sandbox::local::IsolationMode;
use hero_worker::sandbox::{CreateSpec, Sandbox, SandboxProvider};
use secrecy::SecretString;

pub const TOKEN: &str = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";

/// An origin repository on disk and a sandbox to clone it into.
pub struct Fixture {
    pub origin: PathBuf,
    pub sandbox: Arc<dyn Sandbox>,
    pub git: Git,
    _local: TempProvider,
    scratch: PathBuf,
}

/// Runs git on the host, for setting up and inspecting the origin.
pub fn host_git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=Origin",
            "-c",
            "user.email=origin@example.com",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

impl Fixture {
    pub async fn new() -> Self {
        // Commands see host paths without bubblewrap, so the origin can be a
        // plain directory; over HTTP under bubblewrap is tested with the
        // forges.
        let local = TempProvider::new(IsolationMode::Disabled, true).await;
        let scratch = std::env::temp_dir().join(format!("hero-git-{}", uuid::Uuid::new_v4()));
        let work = scratch.join("work");
        let origin = scratch.join("origin.git");
        std::fs::create_dir_all(&work).unwrap();
        host_git(
            &scratch,
            &[
                "init",
                "-q",
                "--bare",
                "-b",
                "main",
                origin.to_str().unwrap(),
            ],
        );
        host_git(
            &scratch,
            &["init", "-q", "-b", "main", work.to_str().unwrap()],
        );
        std::fs::write(work.join("README.md"), "# demo\n").unwrap();
        std::fs::write(work.join(".gitignore"), "node_modules/\n").unwrap();
        std::fs::write(work.join("config.key"), "tracked-but-forbidden\n").unwrap();
        host_git(&work, &["add", "."]);
        host_git(&work, &["commit", "-qm", "initial"]);
        host_git(&work, &["push", "-q", origin.to_str().unwrap(), "main"]);

        let sandbox = local
            .provider
            .create(CreateSpec {
                timeout: Duration::from_secs(600),
                ..CreateSpec::default()
            })
            .await
            .unwrap();
        let token = SecretString::from(TOKEN);
        let redactor = Redactor::new([("GITHUB_TOKEN".to_owned(), token.clone())]).unwrap();
        let root = format!("{}/repo", sandbox.workdir());
        let git = Git::new(sandbox.clone(), root, Some(&token), redactor)
            .with_origin(format!("file://{}", origin.display()));
        Self {
            origin,
            sandbox,
            git,
            _local: local,
            scratch,
        }
    }

    pub fn spec(&self, known_commit: Option<String>) -> HydrateSpec {
        HydrateSpec {
            clone_url: self.clone_url(),
            branch: "main".to_owned(),
            shallow: true,
            known_commit,
            install_timeout: Duration::from_secs(300),
        }
    }

    /// A place for more repositories beside the origin.
    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    pub fn clone_url(&self) -> String {
        format!("file://{}", self.origin.display())
    }

    /// Adds a commit to the origin's main branch; returns its id.
    pub fn push_to_origin(&self, file: &str, contents: &str) -> String {
        let work = self.scratch.join("work");
        std::fs::write(work.join(file), contents).unwrap();
        host_git(&work, &["add", "."]);
        host_git(&work, &["commit", "-qm", &format!("change {file}")]);
        host_git(
            &work,
            &["push", "-q", self.origin.to_str().unwrap(), "main"],
        );
        host_git(&work, &["rev-parse", "HEAD"])
    }

    pub fn policy(&self) -> SyncPolicy {
        SyncPolicy {
            branch_prefix: "hero/".to_owned(),
            default_branch: "main".to_owned(),
            allow_default_branch: false,
            author_name: "Hero Agent".to_owned(),
            author_email: "agent@hero.example".to_owned(),
        }
    }

    pub async fn write(&self, path: &str, contents: &str) {
        self.sandbox
            .write(&format!("{}/{path}", self.git.root), contents.as_bytes())
            .await
            .unwrap();
    }

    pub async fn read(&self, path: &str) -> Option<String> {
        let bytes = self
            .sandbox
            .read(&format!("{}/{path}", self.git.root))
            .await
            .ok()?;
        Some(String::from_utf8(bytes).unwrap())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.scratch).ok();
    }
}
