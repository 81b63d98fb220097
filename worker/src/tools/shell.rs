//! Commands: `run_shell`, and the package manager, which runs the same way.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use hero_common::tool_call::{CommandOutput, ToolError, ToolErrorCode, ToolResult};

use super::output::HeadTail;
use super::package_manager::PackageManager;
use super::{EventSink, Toolbox, guard, sandbox_error};
use crate::sandbox::{EntryKind, ExecRequest, OutputStream, shell_quote};

impl Toolbox {
    pub(super) async fn run_shell(
        &self,
        command: &str,
        cwd: Option<&str>,
        timeout_ms: Option<u64>,
        events: Option<EventSink<'_>>,
    ) -> Result<ToolResult, ToolError> {
        if command.trim().is_empty() {
            return Err(ToolError::new(
                ToolErrorCode::InvalidArgument,
                "command is empty",
            ));
        }
        let timeout = self.timeout(timeout_ms)?;
        let cwd = match cwd {
            None => self.root.clone(),
            Some(given) => {
                let (absolute, _) = self.resolve(given).await?;
                let entry = self.sandbox.stat(&absolute).await.map_err(sandbox_error)?;
                if entry.kind != EntryKind::Directory {
                    return Err(ToolError::new(
                        ToolErrorCode::NotADirectory,
                        format!("cwd {given:?} is not a directory"),
                    ));
                }
                absolute
            }
        };

        let context = guard::GuardContext {
            repo_root: self.root.clone(),
            cwd: cwd.clone(),
            home: self.sandbox.workdir().to_owned(),
            forbidden: self.manifest.forbidden.clone(),
        };
        guard::check(command, &context).map_err(|blocked| {
            let code = match blocked.rule {
                guard::Rule::ForbiddenFile => ToolErrorCode::ForbiddenFile,
                _ => ToolErrorCode::CommandBlocked,
            };
            ToolError::new(code, blocked.message)
        })?;

        let output = self.execute(command, &cwd, timeout, events).await?;
        Ok(ToolResult::RunShell(output))
    }

    pub(super) async fn run_package_manager(
        &self,
        args: &[String],
        events: Option<EventSink<'_>>,
    ) -> Result<ToolResult, ToolError> {
        let root_entries: HashSet<String> = self
            .sandbox
            .list(&self.root)
            .await
            .map_err(sandbox_error)?
            .into_iter()
            .map(|entry| entry.name)
            .collect();
        let manager = PackageManager::detect(&root_entries).ok_or_else(|| {
            ToolError::new(
                ToolErrorCode::NoPackageManager,
                "no package manager found: the repository root has no lock file or manifest \
                 (package.json, Cargo.toml, pyproject.toml, requirements.txt, go.mod)",
            )
        })?;

        let mut line = manager.program().to_owned();
        for arg in args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        let output = self
            .execute(&line, &self.root, self.limits.max_timeout, events)
            .await?;
        Ok(ToolResult::RunPackageManager {
            manager: manager.program().to_owned(),
            output,
        })
    }

    pub(super) fn timeout(&self, timeout_ms: Option<u64>) -> Result<Duration, ToolError> {
        let Some(ms) = timeout_ms else {
            return Ok(self.limits.default_timeout);
        };
        let timeout = Duration::from_millis(ms);
        if ms == 0 || timeout > self.limits.max_timeout {
            return Err(ToolError::new(
                ToolErrorCode::InvalidArgument,
                format!(
                    "timeout_ms must be between 1 and {}",
                    self.limits.max_timeout.as_millis()
                ),
            ));
        }
        Ok(timeout)
    }

    /// Runs a command line with the project's secrets in its environment,
    /// streaming redacted output to `events` and keeping a bounded, redacted
    /// head and tail of each stream.
    pub(super) async fn execute(
        &self,
        line: &str,
        cwd: &str,
        timeout: Duration,
        mut events: Option<EventSink<'_>>,
    ) -> Result<CommandOutput, ToolError> {
        let mut request = ExecRequest::new(line);
        request.cwd = Some(cwd.to_owned());
        request.env.clone_from(&self.env);
        request.timeout = timeout;
        request.cancel = self.cancel.clone();

        let mut redact_out = self.redactor.stream();
        let mut redact_err = self.redactor.stream();
        let mut stdout = HeadTail::new(self.limits.max_output_bytes);
        let mut stderr = HeadTail::new(self.limits.max_output_bytes);
        let started = Instant::now();
        let exit = {
            let mut sink = |stream: OutputStream, bytes: &[u8]| {
                let (redactor, capture) = match stream {
                    OutputStream::Stdout => (&mut redact_out, &mut stdout),
                    OutputStream::Stderr => (&mut redact_err, &mut stderr),
                };
                let safe = redactor.push(bytes);
                if !safe.is_empty() {
                    capture.push(&safe);
                    if let Some(events) = events.as_mut() {
                        events(stream, &safe);
                    }
                }
            };
            self.sandbox
                .exec(request, &mut sink)
                .await
                .map_err(sandbox_error)?
        };
        for (stream, rest, capture) in [
            (OutputStream::Stdout, redact_out.finish(), &mut stdout),
            (OutputStream::Stderr, redact_err.finish(), &mut stderr),
        ] {
            if !rest.is_empty() {
                capture.push(&rest);
                if let Some(events) = events.as_mut() {
                    events(stream, &rest);
                }
            }
        }

        let (stdout, stdout_truncated) = stdout.finish();
        let (stderr, stderr_truncated) = stderr.finish();
        Ok(CommandOutput {
            command: self.redactor.redact_str(line),
            exit_code: exit.exit_code,
            timed_out: exit.timed_out,
            stdout,
            stderr,
            stdout_truncated,
            stderr_truncated,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
}
