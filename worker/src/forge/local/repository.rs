//! The local forge's bare repositories on the host: making one, filling it
//! from a directory, and reading what it holds. Git runs hermetically here:
//! no system or global configuration, no hooks, no prompts.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

/// A bare repository of the local forge.
#[derive(Debug, Clone)]
pub struct BareRepository {
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("{0} already exists")]
    Exists(String),
    #[error("`git {command}` failed: {stderr}")]
    Git { command: String, stderr: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl BareRepository {
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn exists(&self) -> bool {
        self.path.join("HEAD").is_file()
    }

    /// Makes an empty bare repository whose default branch is `branch`.
    pub async fn create(path: &Path, branch: &str) -> Result<Self, RepositoryError> {
        let repository = Self::at(path);
        if repository.exists() {
            return Err(RepositoryError::Exists(path.display().to_string()));
        }
        let parent = path.parent().unwrap_or(path);
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| RepositoryError::Io {
                what: format!("creating {}", parent.display()),
                source,
            })?;
        let branch_arg = format!("--initial-branch={branch}");
        let target = path.to_string_lossy().into_owned();
        git(
            None,
            None,
            &["init", "--quiet", "--bare", &branch_arg, "--", &target],
            &[],
        )
        .await?;
        Ok(repository)
    }

    /// Commits every file of `dir` (but `.git`) as the newest commit of
    /// `branch`, on top of what the branch holds. The directory is left as
    /// it was; a throwaway index keeps the repository free of one.
    pub async fn commit_directory(
        &self,
        dir: &Path,
        branch: &str,
        message: &str,
    ) -> Result<String, RepositoryError> {
        let index = tempfile_path(&self.path, "import-index");
        let work_tree = dir.to_string_lossy().into_owned();
        let env = [
            ("GIT_WORK_TREE", work_tree.as_str()),
            ("GIT_INDEX_FILE", index.to_str().unwrap_or_default()),
            ("GIT_AUTHOR_NAME", "Hero"),
            ("GIT_AUTHOR_EMAIL", "hero@localhost"),
            ("GIT_COMMITTER_NAME", "Hero"),
            ("GIT_COMMITTER_EMAIL", "hero@localhost"),
        ];
        let reference = format!("refs/heads/{branch}");

        let outcome = async {
            git(
                Some(&self.path),
                Some(dir),
                &["add", "--all", "--", "."],
                &env,
            )
            .await?;
            let tree = self.git(&["write-tree"], &env).await?;
            let parent = self.commit_of(branch).await?;
            let mut commit = vec!["commit-tree", tree.as_str(), "-m", message];
            if let Some(parent) = &parent {
                commit.extend(["-p", parent.as_str()]);
            }
            let created = self.git(&commit, &env).await?;
            let mut update = vec!["update-ref", reference.as_str(), created.as_str()];
            if let Some(parent) = &parent {
                update.push(parent.as_str());
            }
            self.git(&update, &env).await?;
            Ok(created)
        }
        .await;
        tokio::fs::remove_file(&index).await.ok();
        outcome
    }

    /// The branch HEAD names (the repository's default branch).
    pub async fn default_branch(&self) -> Result<String, RepositoryError> {
        let head = self.git(&["symbolic-ref", "--short", "HEAD"], &[]).await?;
        Ok(head)
    }

    /// The commit `branch` points at, if the branch exists.
    pub async fn commit_of(&self, branch: &str) -> Result<Option<String>, RepositoryError> {
        let reference = format!("refs/heads/{branch}");
        let found = self
            .git_status(&[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &reference,
            ])
            .await?;
        Ok(found)
    }

    /// How many commits `head` has that `base` does not.
    pub async fn commits_ahead(&self, base: &str, head: &str) -> Result<u64, RepositoryError> {
        let range = format!("refs/heads/{base}..refs/heads/{head}");
        let count = self
            .git(&["rev-list", "--count", "--end-of-options", &range], &[])
            .await?;
        Ok(count.parse().unwrap_or(0))
    }

    async fn git(&self, args: &[&str], env: &[(&str, &str)]) -> Result<String, RepositoryError> {
        git(Some(&self.path), None, args, env).await
    }

    /// Runs git and returns its output on success, `None` on exit code 1
    /// (git's "not found" for `rev-parse --verify --quiet`).
    async fn git_status(&self, args: &[&str]) -> Result<Option<String>, RepositoryError> {
        match git(Some(&self.path), None, args, &[]).await {
            Ok(out) => Ok(Some(out)),
            Err(RepositoryError::Git { stderr, .. }) if stderr.is_empty() => Ok(None),
            Err(other) => Err(other),
        }
    }
}

fn tempfile_path(near: &Path, label: &str) -> PathBuf {
    near.join(format!("{label}-{}", uuid::Uuid::new_v4().simple()))
}

async fn git(
    git_dir: Option<&Path>,
    cwd: Option<&Path>,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<String, RepositoryError> {
    let mut command = Command::new("git");
    if let Some(dir) = git_dir {
        command.arg("--git-dir").arg(dir);
    }
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    command
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = command
        .output()
        .await
        .map_err(|source| RepositoryError::Io {
            what: "running git".to_owned(),
            source,
        })?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned());
    }
    Err(RepositoryError::Git {
        command: args.first().copied().unwrap_or_default().to_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}
