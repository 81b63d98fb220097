//! Sending an agent's work back: status, commit and push to a branch,
//! discarding changes, creating branches.

use hero_common::validate;
use serde::Serialize;

use super::status::{self, GitStatus};
use super::{Git, GitError};
use crate::tools::manifest::ForbiddenFiles;

/// A project's rules for agent branches and commits.
#[derive(Debug, Clone)]
pub struct SyncPolicy {
    /// Put in front of agent branch names that do not have it.
    pub branch_prefix: String,
    pub default_branch: String,
    /// Whether an agent may push to the default branch itself.
    pub allow_default_branch: bool,
    pub author_name: String,
    pub author_email: String,
}

impl SyncPolicy {
    /// The branch an agent's `branch` really means: the default branch
    /// itself only when allowed, otherwise a prefixed agent branch.
    pub fn agent_branch(&self, branch: &str) -> Result<String, GitError> {
        validate::branch_name(branch).map_err(GitError::Refused)?;
        if branch == self.default_branch {
            if self.allow_default_branch {
                return Ok(branch.to_owned());
            }
            return Err(GitError::Refused(format!(
                "pushing to the default branch {branch:?} is not allowed for this project; \
                 use another branch and open a pull request"
            )));
        }
        let full = if branch.starts_with(&self.branch_prefix) {
            branch.to_owned()
        } else {
            format!("{}{branch}", self.branch_prefix)
        };
        validate::branch_name(&full).map_err(GitError::Refused)?;
        Ok(full)
    }
}

/// What a commit-and-push did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Synced {
    pub branch: String,
    pub commit: String,
    /// Files in the new commit; empty when there was nothing to commit and
    /// only earlier commits were pushed.
    pub files: Vec<String>,
    /// Changed files left out because they are forbidden (never staged).
    pub skipped_forbidden: Vec<String>,
}

impl Git {
    pub async fn status(&self) -> Result<GitStatus, GitError> {
        let output = self
            .run(&[
                "status",
                "--porcelain=v2",
                "--branch",
                "-z",
                "--untracked-files=all",
            ])
            .await?;
        status::parse(&output.stdout).map_err(GitError::Refused)
    }

    /// Stages every allowed change, commits it as the policy's author and
    /// pushes to the agent branch, creating it when needed. A tracked
    /// forbidden file that was modified stops the sync: committing it would
    /// publish what the project forbids, and leaving it out silently would
    /// hide the change.
    pub async fn commit_and_push(
        &self,
        policy: &SyncPolicy,
        forbidden: &ForbiddenFiles,
        message: &str,
        branch: &str,
    ) -> Result<Synced, GitError> {
        if message.trim().is_empty() {
            return Err(GitError::Refused("the commit message is empty".to_owned()));
        }
        let branch = policy.agent_branch(branch)?;
        let status = self.status().await?;

        let tracked_forbidden: Vec<&String> = status
            .staged
            .iter()
            .chain(&status.unstaged)
            .chain(&status.conflicted)
            .filter(|path| forbidden.matches(path))
            .collect();
        if let Some(path) = tracked_forbidden.first() {
            return Err(GitError::Refused(format!(
                "{path:?} is a forbidden file and was modified; discard that change before syncing"
            )));
        }
        let (allowed, skipped_forbidden): (Vec<String>, Vec<String>) = status
            .changed_paths()
            .into_iter()
            .partition(|path| !forbidden.matches(path));

        if status.branch.as_deref() != Some(branch.as_str()) {
            self.switch_to(&branch).await?;
        }
        let mut files = Vec::new();
        if !allowed.is_empty() {
            let literal: Vec<String> = allowed.iter().map(|p| format!(":(literal){p}")).collect();
            let mut add = vec!["add", "--all", "--"];
            add.extend(literal.iter().map(String::as_str));
            self.run(&add).await?;

            let author = format!("{} <{}>", policy.author_name, policy.author_email);
            self.run(&[
                "-c",
                &format!("user.name={}", policy.author_name),
                "-c",
                &format!("user.email={}", policy.author_email),
                "commit",
                "--no-verify",
                "--author",
                &author,
                "-m",
                message,
            ])
            .await?;
            files = allowed;
        }

        let refspec = format!("HEAD:refs/heads/{branch}");
        self.run_remote(&[
            "push",
            "--porcelain",
            "--end-of-options",
            "origin",
            &refspec,
        ])
        .await?;
        let commit = self.run(&["rev-parse", "HEAD"]).await?.text();
        tracing::info!(%branch, %commit, files = files.len(), "changes pushed");
        Ok(Synced {
            branch,
            commit,
            files,
            skipped_forbidden,
        })
    }

    /// Refuses when a commit made since `since` (the hydrated commit), on
    /// any local branch, adds or changes a forbidden file: pushing the
    /// branch would publish it, whether or not a later commit removed it.
    pub async fn refuse_forbidden_history(
        &self,
        since: &str,
        forbidden: &ForbiddenFiles,
    ) -> Result<(), GitError> {
        let touched = self
            .run(&[
                "log",
                "--format=",
                "--name-only",
                "--no-renames",
                "--diff-merges=separate",
                "-z",
                "--branches",
                "HEAD",
                "--not",
                "--end-of-options",
                since,
            ])
            .await?;
        let found = touched
            .stdout
            .split(|b| *b == 0 || *b == b'\n')
            .map(String::from_utf8_lossy)
            .find(|path| !path.is_empty() && forbidden.matches(path));
        match found {
            Some(path) => Err(GitError::Refused(format!(
                "a commit since the repository was hydrated contains the forbidden file \
                 {path:?}; it cannot be pushed (reset those commits, or hydrate again)"
            ))),
            None => Ok(()),
        }
    }

    /// Drops every change to tracked files and removes untracked ones,
    /// keeping ignored files (installed dependencies, build caches).
    pub async fn discard(&self) -> Result<(), GitError> {
        self.run(&["reset", "--hard", "HEAD", "--"]).await?;
        self.run(&["clean", "-fd"]).await?;
        Ok(())
    }

    /// Creates an agent branch at HEAD and switches to it, keeping changes.
    pub async fn create_branch(
        &self,
        policy: &SyncPolicy,
        branch: &str,
    ) -> Result<String, GitError> {
        let branch = policy.agent_branch(branch)?;
        self.run(&["switch", "-c", &branch]).await?;
        Ok(branch)
    }

    async fn switch_to(&self, branch: &str) -> Result<(), GitError> {
        let reference = format!("refs/heads/{branch}");
        let (exists, _) = self
            .try_run(&["show-ref", "--verify", "--quiet", &reference])
            .await?;
        if exists != Some(0) {
            self.run(&["switch", "-c", branch]).await?;
            return Ok(());
        }
        // The branch exists (an earlier sync): carry the working changes
        // onto it, merged three ways, and refuse rather than commit
        // conflict markers.
        self.run(&["switch", "--merge", branch]).await?;
        let conflicted = self.status().await?.conflicted;
        if !conflicted.is_empty() {
            return Err(GitError::Refused(format!(
                "the changes conflict with what {branch:?} already holds in {}; \
                 discard them or sync to another branch",
                conflicted.join(", ")
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow_default: bool) -> SyncPolicy {
        SyncPolicy {
            branch_prefix: "hero/".to_owned(),
            default_branch: "main".to_owned(),
            allow_default_branch: allow_default,
            author_name: "Hero".to_owned(),
            author_email: "hero@example.com".to_owned(),
        }
    }

    #[test]
    fn agent_branches_get_the_prefix_once() {
        assert_eq!(policy(false).agent_branch("fix-1").unwrap(), "hero/fix-1");
        assert_eq!(
            policy(false).agent_branch("hero/fix-1").unwrap(),
            "hero/fix-1"
        );
    }

    #[test]
    fn the_default_branch_needs_permission() {
        assert!(policy(false).agent_branch("main").is_err());
        assert_eq!(policy(true).agent_branch("main").unwrap(), "main");
    }

    #[test]
    fn refs_that_could_be_options_or_are_invalid_are_refused() {
        for branch in ["-f", "--upload-pack=x", "a..b", "x y", "HEAD@{1}", ""] {
            assert!(policy(false).agent_branch(branch).is_err(), "{branch}");
        }
    }
}
