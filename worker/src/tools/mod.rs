//! The tools an AI agent calls, one `run_tool` job each, on a project's
//! hydrated repository inside its sandbox.
//!
//! Every call passes the same gates before it touches anything: the
//! manifest must allow its operation, its paths must stay inside the
//! repository (checked as text, then resolved inside the sandbox, where
//! the symlinks are), forbidden files and `.git/` are refused, and shell
//! lines go past the command [`guard`]. Every result and every error leaves
//! through the project's redactor. The guard is a guard rail; the sandbox
//! is the isolation.

mod files;
mod git;
pub mod guard;
pub mod manifest;
pub mod output;
pub mod package_manager;
pub mod paths;
mod shell;

use std::sync::Arc;
use std::time::Duration;

use hero_common::redact::Redactor;
use hero_common::tool_call::{ToolCall, ToolError, ToolErrorCode, ToolResult};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::sandbox::{Beneath, OutputStream, Sandbox, SandboxError, SandboxErrorKind};
use manifest::{Manifest, Operation};

/// Receives a command's output, already redacted, as it is produced.
pub type EventSink<'a> = &'a mut (dyn FnMut(OutputStream, &[u8]) + Send);

/// Bounds on what one tool call may take and give.
#[derive(Debug, Clone)]
pub struct ToolLimits {
    /// Largest file `read_file` returns; a larger one is cut and flagged.
    pub max_read_bytes: usize,
    /// Output kept per stream of a command (head and tail).
    pub max_output_bytes: usize,
    pub default_timeout: Duration,
    pub max_timeout: Duration,
    pub default_list_limit: u32,
    pub max_list_limit: u32,
}

impl ToolLimits {
    /// The defaults, with the maximum command timeout from settings.
    pub fn from_settings(settings: &hero_common::settings::Settings) -> Self {
        let max_timeout = settings.tool_max_timeout;
        let defaults = Self::default();
        Self {
            max_timeout,
            default_timeout: defaults.default_timeout.min(max_timeout),
            ..defaults
        }
    }
}

impl Default for ToolLimits {
    fn default() -> Self {
        Self {
            max_read_bytes: 1024 * 1024,
            max_output_bytes: 64 * 1024,
            default_timeout: Duration::from_secs(60),
            max_timeout: Duration::from_secs(600),
            default_list_limit: 500,
            max_list_limit: 5000,
        }
    }
}

/// Everything a tool call needs: the sandbox, where the repository is in
/// it, the project's manifest, secrets and redactor.
pub struct Toolbox {
    sandbox: Arc<dyn Sandbox>,
    root: String,
    manifest: Manifest,
    redactor: Redactor,
    /// Project secrets, given to commands as environment variables only.
    env: Vec<(String, SecretString)>,
    limits: ToolLimits,
    /// Cancelling it kills the command a call is running.
    cancel: CancellationToken,
    /// Name and email of the commits `run_git commit` makes.
    git_author: (String, String),
}

impl Toolbox {
    pub fn new(
        sandbox: Arc<dyn Sandbox>,
        root: impl Into<String>,
        manifest: Manifest,
        redactor: Redactor,
        env: Vec<(String, SecretString)>,
        limits: ToolLimits,
    ) -> Self {
        Self {
            sandbox,
            root: root.into().trim_end_matches('/').to_owned(),
            manifest,
            redactor,
            env,
            limits,
            cancel: CancellationToken::new(),
            git_author: ("Hero Agent".to_owned(), "agent@hero.invalid".to_owned()),
        }
    }

    /// The same toolbox, its `run_git commit`s made by `name <email>`.
    #[must_use]
    pub fn with_git_author(mut self, name: &str, email: &str) -> Self {
        self.git_author = (name.to_owned(), email.to_owned());
        self
    }

    /// The same toolbox, its commands killed when `cancel` is cancelled.
    #[must_use]
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    pub fn root(&self) -> &str {
        &self.root
    }

    /// Runs one tool call. Command output also goes to `events` as it is
    /// produced. The result and any error are redacted.
    pub async fn run(
        &self,
        call: ToolCall,
        events: Option<EventSink<'_>>,
    ) -> Result<ToolResult, ToolError> {
        let operation = operation_of(&call);
        if !self.manifest.allows(operation) {
            return Err(ToolError::new(
                ToolErrorCode::OperationNotAllowed,
                format!(
                    "{} needs the `{}` operation, which this project's hero.json does not allow",
                    call.name(),
                    operation.name()
                ),
            ));
        }

        let result = match call {
            ToolCall::ReadFile(args) => {
                self.read_file(&args.path, args.start_line, args.end_line)
                    .await
            }
            ToolCall::WriteFile(args) => self.write_file(&args.path, &args.content).await,
            ToolCall::EditFile(args) => self.edit_file(&args.path, &args.edits).await,
            ToolCall::ListFiles(args) => {
                self.list_files(
                    args.path.as_deref().unwrap_or(""),
                    args.recursive.unwrap_or(false),
                    args.limit,
                    args.include_ignored.unwrap_or(false),
                )
                .await
            }
            ToolCall::DeleteFile(args) => self.delete_file(&args.path).await,
            ToolCall::RunShell(args) => {
                self.run_shell(&args.command, args.cwd.as_deref(), args.timeout_ms, events)
                    .await
            }
            ToolCall::RunPackageManager(args) => self.run_package_manager(&args.args, events).await,
            ToolCall::RunGit(args) => self.run_git(&args.args, events).await,
        };
        match result {
            Ok(result) => Ok(self.redact_result(result)),
            Err(error) => Err(ToolError::new(
                error.code,
                self.redactor.redact_str(&error.message),
            )),
        }
    }

    /// A path given by the agent, resolved inside the sandbox. Returns the
    /// absolute path and the path relative to the root, checked against
    /// `..`, symlinks out of the repository and the forbidden files (both
    /// as given and as resolved, so a link to a forbidden file is refused).
    async fn resolve(&self, given: &str) -> Result<(String, String), ToolError> {
        let normalized = paths::normalize(given)?;
        self.check_forbidden(given, &normalized)?;

        let resolved = self
            .sandbox
            .resolve_beneath(&self.root, &normalized)
            .await
            .map_err(sandbox_error)?;
        let Beneath::Inside(absolute) = resolved else {
            return Err(ToolError::new(
                ToolErrorCode::PathOutsideRepo,
                format!("{given:?} leads outside the repository through a symlink"),
            ));
        };
        let relative = paths::relative_to(&self.root, &absolute).ok_or_else(|| {
            ToolError::new(
                ToolErrorCode::PathOutsideRepo,
                format!("{given:?} leads outside the repository"),
            )
        })?;
        self.check_forbidden(given, &relative)?;
        Ok((absolute, relative))
    }

    fn check_forbidden(&self, given: &str, relative: &str) -> Result<(), ToolError> {
        if self.manifest.forbidden.matches(relative) {
            return Err(ToolError::new(
                ToolErrorCode::ForbiddenFile,
                format!("{given:?} is a forbidden file in this project's hero.json"),
            ));
        }
        Ok(())
    }

    /// Refuses writes inside `.git/`: history changes go through git.
    fn check_writable(given: &str, relative: &str) -> Result<(), ToolError> {
        if paths::in_git_dir(relative) {
            return Err(ToolError::new(
                ToolErrorCode::ForbiddenFile,
                format!("{given:?} is inside .git/, which tools may not change"),
            ));
        }
        if relative.is_empty() {
            return Err(ToolError::new(
                ToolErrorCode::IsDirectory,
                "that is the repository root",
            ));
        }
        Ok(())
    }

    /// Every string in the result, redacted: contents, output, paths.
    fn redact_result(&self, result: ToolResult) -> ToolResult {
        let Ok(mut value) = serde_json::to_value(&result) else {
            return result;
        };
        redact_strings(&self.redactor, &mut value);
        serde_json::from_value(value).unwrap_or(result)
    }
}

fn redact_strings(redactor: &Redactor, value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => {
            let redacted = redactor.redact_str(text);
            if redacted != *text {
                *text = redacted;
            }
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|v| redact_strings(redactor, v))
        }
        serde_json::Value::Object(fields) => fields
            .values_mut()
            .for_each(|v| redact_strings(redactor, v)),
        _ => {}
    }
}

fn operation_of(call: &ToolCall) -> Operation {
    match call {
        ToolCall::ReadFile(_) | ToolCall::ListFiles(_) => Operation::Read,
        ToolCall::WriteFile(_) => Operation::Write,
        ToolCall::EditFile(_) => Operation::Edit,
        ToolCall::DeleteFile(_) => Operation::Delete,
        ToolCall::RunShell(_) | ToolCall::RunPackageManager(_) => Operation::Terminal,
        ToolCall::RunGit(_) => Operation::Git,
    }
}

/// A sandbox failure as the agent should see it.
pub fn sandbox_error(error: SandboxError) -> ToolError {
    let code = match error.kind {
        SandboxErrorKind::NotFound => ToolErrorCode::NotFound,
        SandboxErrorKind::TimedOut => ToolErrorCode::Timeout,
        SandboxErrorKind::Gone | SandboxErrorKind::Transient => ToolErrorCode::SandboxUnavailable,
        SandboxErrorKind::Refused => ToolErrorCode::InvalidArgument,
        SandboxErrorKind::Cancelled => ToolErrorCode::Cancelled,
    };
    ToolError::new(code, error.message)
}
