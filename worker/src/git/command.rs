//! Running git in a sandbox's repository.

use std::sync::Arc;
use std::time::Duration;

use hero_common::redact::Redactor;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use super::auth::git_env;
use crate::sandbox::{ExecRequest, Sandbox, SandboxError, exec_collect, shell_quote};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// A git command failed; command and output are redacted.
    #[error("`{command}` failed (exit {exit}): {stderr}")]
    Failed {
        command: String,
        exit: String,
        stderr: String,
    },
    /// The request breaks a rule (a bad branch, a push to the default
    /// branch, a modified forbidden file).
    #[error("{0}")]
    Refused(String),
    #[error("sandbox: {0}")]
    Sandbox(#[from] SandboxError),
}

/// A repository in a sandbox, with the token (if any) git may use and the
/// redactor its output goes through.
///
/// Only commands that talk to the forge see the token (see
/// [`Git::run_remote`]); local commands run without it, so whatever the
/// repository's own configuration makes them run learns nothing.
#[derive(Clone)]
pub struct Git {
    pub sandbox: Arc<dyn Sandbox>,
    pub root: String,
    /// For local commands: no token.
    env: Vec<(String, SecretString)>,
    /// For commands that reach the forge: with the token.
    pub(super) remote_env: Vec<(String, SecretString)>,
    /// The forge's address of the repository, which `origin` is made to
    /// name before each remote command.
    pub(super) origin: Option<String>,
    redactor: Redactor,
    /// Cancelling it kills the git command running.
    pub(super) cancel: CancellationToken,
}

/// What a git command printed.
pub struct GitOutput {
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl GitOutput {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim_end().to_owned()
    }
}

impl Git {
    pub fn new(
        sandbox: Arc<dyn Sandbox>,
        root: impl Into<String>,
        token: Option<&SecretString>,
        redactor: Redactor,
    ) -> Self {
        Self {
            sandbox,
            root: root.into(),
            env: git_env(None),
            remote_env: git_env(token),
            origin: None,
            redactor,
            cancel: CancellationToken::new(),
        }
    }

    /// The same repository, its commands killed when `cancel` is cancelled.
    #[must_use]
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// The same repository, whose `origin` is `url` (the forge's clone URL).
    #[must_use]
    pub fn with_origin(mut self, url: impl Into<String>) -> Self {
        self.origin = Some(url.into());
        self
    }

    /// Runs `git <args>` in the repository; a non-zero exit is an error.
    pub async fn run(&self, args: &[&str]) -> Result<GitOutput, GitError> {
        self.run_in(&self.root, args, Duration::from_secs(300))
            .await
    }

    /// Runs `git <args>` in `cwd` with `timeout`.
    pub async fn run_in(
        &self,
        cwd: &str,
        args: &[&str],
        timeout: Duration,
    ) -> Result<GitOutput, GitError> {
        let (code, output) = self.exec_git(cwd, args, timeout, &self.env).await?;
        self.check(args, code, output)
    }

    /// Checks how a git command ended: a non-zero exit is an error.
    pub(super) fn check(
        &self,
        args: &[&str],
        code: Option<i32>,
        output: GitOutput,
    ) -> Result<GitOutput, GitError> {
        if code == Some(0) {
            return Ok(output);
        }
        Err(GitError::Failed {
            command: self.redactor.redact_str(&format!("git {}", args.join(" "))),
            exit: code.map_or_else(|| "killed".to_owned(), |c| c.to_string()),
            stderr: output.stderr,
        })
    }

    /// Runs `git <args>` and returns its exit code whatever it is.
    pub async fn try_run(&self, args: &[&str]) -> Result<(Option<i32>, GitOutput), GitError> {
        self.exec_git(&self.root, args, Duration::from_secs(300), &self.env)
            .await
    }

    /// Runs `git <args>` in `cwd` with the environment `env`.
    pub(super) async fn exec_git(
        &self,
        cwd: &str,
        args: &[&str],
        timeout: Duration,
        env: &[(String, SecretString)],
    ) -> Result<(Option<i32>, GitOutput), GitError> {
        let mut line = "git".to_owned();
        for arg in args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        let mut request = ExecRequest::new(line);
        request.cwd = Some(cwd.to_owned());
        request.env = env.to_vec();
        request.timeout = timeout;
        request.cancel = self.cancel.clone();

        let (exit, output) = exec_collect(&*self.sandbox, request).await?;
        let stdout = self.redactor.redact(&output.stdout).into_owned();
        let stderr = self
            .redactor
            .redact_str(String::from_utf8_lossy(&output.stderr).trim());
        Ok((exit.exit_code, GitOutput { stdout, stderr }))
    }

    /// Runs a shell line (not git) in the repository with git's
    /// environment, for installs and cleanup.
    pub async fn shell(
        &self,
        line: &str,
        timeout: Duration,
    ) -> Result<(Option<i32>, String), GitError> {
        let mut request = ExecRequest::new(line);
        request.cwd = Some(self.root.clone());
        request.timeout = timeout;
        request.cancel = self.cancel.clone();
        let (exit, output) = exec_collect(&*self.sandbox, request).await?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        Ok((exit.exit_code, self.redactor.redact_str(&text)))
    }
}
