//! Commands that reach the forge, the only ones that carry the token.
//!
//! The repository's `.git/config` is the agent's to write (`run_shell` can
//! run `git config`), and git obeys it: a proxy or `insteadOf` can send the
//! authorization header elsewhere, an `include.path` can pull in anything,
//! a `core.fsmonitor` runs a program with git's environment. So before
//! each remote command the configuration is replaced with one Hero writes:
//! the repository's format, and `origin` at the forge's address. The
//! global configuration is never read (see [`super::auth`]).
//!
//! TODO: a process the agent left running in the sandbox, as the same
//! user, could read the environment of the git command itself through
//! `/proc`. Closing that needs the sandbox to run Hero's git as another
//! user; acceptable for now since tokens are short-lived and scoped to the
//! one repository.

use std::time::Duration;

use secrecy::SecretString;

use super::command::GitOutput;
use super::{Git, GitError};
use crate::sandbox::{ExecRequest, exec_collect};

/// How long a clone, fetch or push may take.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(900);

/// Replaces `.git/config` with `$HERO_GIT_CONFIG`, refusing a `.git` that
/// is not a plain directory (a link or a `gitdir:` file would point git at
/// a configuration elsewhere) and removing the files that do the same
/// (`commondir`) or add configuration (`config.worktree`). The new file is
/// written beside the old and renamed over it, so a link planted at either
/// name is replaced, never followed.
const SECURE_SCRIPT: &str = r#"set -eu
if [ -L .git ] || [ ! -d .git ]; then echo ".git is not a directory" >&2; exit 3; fi
rm -f .git/commondir .git/config.worktree .git/config.hero
set -C
printf '%s' "$HERO_GIT_CONFIG" > .git/config.hero
mv -f .git/config.hero .git/config"#;

impl Git {
    /// Runs a git command that talks to the forge (`fetch`, `ls-remote`,
    /// `push`) in the repository, with the token, after making `origin`
    /// the forge's address again and dropping every other setting.
    pub async fn run_remote(&self, args: &[&str]) -> Result<GitOutput, GitError> {
        self.secure_config().await?;
        let (code, output) = self
            .exec_git(&self.root, args, REMOTE_TIMEOUT, &self.remote_env)
            .await?;
        self.check(args, code, output)
    }

    /// Clones the forge's repository into the repository's place; run from
    /// `parent`, where no repository is.
    pub async fn clone_remote(&self, parent: &str, args: &[&str]) -> Result<(), GitError> {
        let (code, output) = self
            .exec_git(parent, args, REMOTE_TIMEOUT, &self.remote_env)
            .await?;
        self.check(args, code, output).map(drop)
    }

    async fn secure_config(&self) -> Result<(), GitError> {
        let origin = self.origin.as_deref().ok_or_else(|| {
            GitError::Refused("the repository's forge address is not known".to_owned())
        })?;
        let config = config_text(origin, &self.object_format().await?)?;
        let mut request = ExecRequest::new(SECURE_SCRIPT);
        request.cwd = Some(self.root.clone());
        request.env = vec![("HERO_GIT_CONFIG".to_owned(), SecretString::from(config))];
        request.cancel = self.cancel.clone();
        let (exit, output) = exec_collect(&*self.sandbox, request).await?;
        if exit.exit_code == Some(0) {
            return Ok(());
        }
        Err(GitError::Refused(format!(
            "cannot reset the repository's git configuration: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }

    /// `sha1` or `sha256`, as the repository was made.
    async fn object_format(&self) -> Result<String, GitError> {
        let format = self
            .run(&["rev-parse", "--show-object-format"])
            .await?
            .text();
        match format.as_str() {
            "sha1" | "sha256" => Ok(format),
            other => Err(GitError::Refused(format!(
                "unknown repository object format {other:?}"
            ))),
        }
    }
}

/// The whole configuration a Hero repository needs.
fn config_text(origin: &str, object_format: &str) -> Result<String, GitError> {
    if origin
        .chars()
        .any(|c| c.is_control() || c == '"' || c == '\\')
    {
        return Err(GitError::Refused(format!(
            "the forge address {origin:?} cannot be written to git's configuration"
        )));
    }
    let (version, extensions) = if object_format == "sha1" {
        ("0", String::new())
    } else {
        (
            "1",
            format!("[extensions]\n\tobjectformat = {object_format}\n"),
        )
    };
    Ok(format!(
        "[core]\n\trepositoryformatversion = {version}\n\tfilemode = true\n\tbare = false\n\
         \tlogallrefupdates = true\n{extensions}[remote \"origin\"]\n\turl = \"{origin}\"\n\
         \tfetch = +refs/heads/*:refs/remotes/origin/*\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_names_only_the_format_and_origin() {
        let text = config_text("https://github.com/o/r.git", "sha1").unwrap();

        assert!(text.contains("repositoryformatversion = 0"));
        assert!(text.contains("url = \"https://github.com/o/r.git\""));
        assert!(!text.contains("extensions"));
        let sha256 = config_text("https://github.com/o/r.git", "sha256").unwrap();
        assert!(sha256.contains("repositoryformatversion = 1"));
        assert!(sha256.contains("objectformat = sha256"));
    }

    #[test]
    fn an_address_that_could_break_out_of_its_value_is_refused() {
        for origin in [
            "https://h/o\"\n[core]\n\tfsmonitor = x",
            "https://h/o\\",
            "https://h/\nx",
        ] {
            assert!(config_text(origin, "sha1").is_err(), "{origin:?}");
        }
    }
}
