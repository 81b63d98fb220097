//! `run_git`: the read and local-change subcommands only. Pushing belongs
//! to the sync job, configuration and remotes to nobody.

use hero_common::tool_call::{ToolError, ToolErrorCode, ToolResult};

use super::manifest::ForbiddenFiles;
use super::{EventSink, Toolbox, sandbox_error};
use crate::sandbox::{ExecRequest, exec_collect, shell_quote};

/// Subcommands an agent may run.
const ALLOWED: &[&str] = &[
    "status",
    "diff",
    "log",
    "show",
    "add",
    "restore",
    "commit",
    "switch",
    "checkout",
    "branch",
    "stash",
    "rev-parse",
    "ls-files",
];

/// Options refused wherever they appear: they run programs, read or write
/// files outside the repository, or change configuration. (Git's own `-c`
/// can only come before the subcommand, which must be first; after it, `-c`
/// is the subcommand's option, as in `switch -c`.)
const REFUSED_OPTIONS: &[&str] = &[
    "--config",
    "--config-env",
    "--exec-path",
    "--git-dir",
    "--work-tree",
    "--namespace",
    "--super-prefix",
    "--output",
    "--upload-pack",
    "--receive-pack",
    "--ext-diff",
    "--textconv",
    "--open-files-in-pager",
    "--template",
];

/// Settings every agent git command runs with: no hooks, no pager, no
/// programs configured in the repository.
const SAFE_CONFIG: &str = "-c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.pager=cat \
                           -c core.sshCommand=false --no-pager";

impl Toolbox {
    pub(super) async fn run_git(
        &self,
        args: &[String],
        events: Option<EventSink<'_>>,
    ) -> Result<ToolResult, ToolError> {
        check_git_args(args)?;
        check_forbidden_args(args, &self.manifest.forbidden)?;

        // Commits are the agent's, under the configured author: the sandbox
        // has no git identity of its own.
        let (name, email) = &self.git_author;
        let mut line = format!(
            "git {SAFE_CONFIG} -c user.name={} -c user.email={}",
            shell_quote(name),
            shell_quote(email)
        );
        for arg in args {
            line.push(' ');
            line.push_str(&shell_quote(arg));
        }
        let mut output = self
            .execute(&line, &self.root, self.limits.default_timeout, events)
            .await?;
        if args[0] == "add" && output.exit_code == Some(0) {
            let left_out = self.unstage_forbidden().await?;
            if !left_out.is_empty() {
                output.stderr.push_str(&format!(
                    "hero: not staged, as forbidden files: {}\n",
                    left_out.join(", ")
                ));
            }
        }
        Ok(ToolResult::RunGit(output))
    }

    /// Takes forbidden files back out of the index after an `add` of a
    /// directory or `--all` swept them in; returns their paths.
    async fn unstage_forbidden(&self) -> Result<Vec<String>, ToolError> {
        let staged = self
            .quiet_git("diff --cached --name-only --no-renames -z")
            .await?;
        let forbidden: Vec<String> = staged
            .split(|b| *b == 0)
            .map(|path| String::from_utf8_lossy(path).into_owned())
            .filter(|path| !path.is_empty() && self.manifest.forbidden.matches(path))
            .collect();
        if forbidden.is_empty() {
            return Ok(forbidden);
        }
        let mut line = "reset -q --".to_owned();
        for path in &forbidden {
            line.push(' ');
            line.push_str(&shell_quote(&format!(":(literal){path}")));
        }
        self.quiet_git(&line).await?;
        Ok(forbidden)
    }

    /// Runs `git <line>` for Hero's own bookkeeping: no output streamed,
    /// a failure is an error.
    async fn quiet_git(&self, line: &str) -> Result<Vec<u8>, ToolError> {
        let mut request = ExecRequest::new(format!("git {SAFE_CONFIG} {line}"));
        request.cwd = Some(self.root.clone());
        request.cancel = self.cancel.clone();
        let (exit, output) = exec_collect(&*self.sandbox, request)
            .await
            .map_err(sandbox_error)?;
        if exit.exit_code != Some(0) {
            return Err(ToolError::new(
                ToolErrorCode::SandboxUnavailable,
                format!(
                    "git {line} failed: {}",
                    self.redactor
                        .redact_str(String::from_utf8_lossy(&output.stderr).trim())
                ),
            ));
        }
        Ok(output.stdout)
    }
}

/// Refuses arguments that name a forbidden file, as a path or as the path
/// of `<rev>:<path>` (`git show HEAD:.env`), and the ways around that:
/// `--no-index` (compares any files, in the repository or not) and a forced
/// `add` (stages ignored files, which is where secrets are kept).
fn check_forbidden_args(args: &[String], forbidden: &ForbiddenFiles) -> Result<(), ToolError> {
    let operands = args[1..].iter().filter(|arg| arg.as_str() != "--");
    for arg in operands {
        if arg == "--no-index" {
            return Err(refused(
                "git diff --no-index is not allowed: it reads files outside the repository"
                    .to_owned(),
            ));
        }
        if args[0] == "add" && (arg == "--force" || (is_short_flags(arg) && arg.contains('f'))) {
            return Err(refused(
                "git add --force is not allowed: it stages ignored files, where secrets are kept"
                    .to_owned(),
            ));
        }
        let value = match arg.split_once('=') {
            Some((option, value)) if option.starts_with('-') => value,
            _ => arg.as_str(),
        };
        let path = value.rsplit_once(':').map_or(value, |(_, path)| path);
        if forbidden.matches(path) {
            return Err(ToolError::new(
                ToolErrorCode::ForbiddenFile,
                format!("{path} is a forbidden file of this repository (see hero.json)"),
            ));
        }
    }
    Ok(())
}

/// `-nf`, `-f`: a bundle of one-letter flags.
fn is_short_flags(arg: &str) -> bool {
    arg.len() > 1
        && arg.starts_with('-')
        && !arg.starts_with("--")
        && arg[1..].chars().all(|c| c.is_ascii_alphabetic())
}

fn refused(message: String) -> ToolError {
    ToolError::new(ToolErrorCode::GitNotAllowed, message)
}

/// Checks a git argument list: a permitted subcommand first (no global
/// options before it), and no refused option anywhere.
pub fn check_git_args(args: &[String]) -> Result<(), ToolError> {
    let Some(subcommand) = args.first() else {
        return Err(refused(format!(
            "give a git subcommand: one of {}",
            ALLOWED.join(", ")
        )));
    };
    if !ALLOWED.contains(&subcommand.as_str()) {
        return Err(refused(format!(
            "git {subcommand} is not allowed; run_git allows {} (pushing is done by sync)",
            ALLOWED.join(", ")
        )));
    }
    for arg in &args[1..] {
        if arg == "--" {
            break;
        }
        let option = arg.split('=').next().unwrap_or(arg);
        if REFUSED_OPTIONS.contains(&option) {
            return Err(refused(format!(
                "the option {option} is not allowed in run_git"
            )));
        }
    }
    if subcommand == "branch"
        && args[1..]
            .iter()
            .any(|a| a.starts_with("--set-upstream") || a == "-u" || a == "--edit-description")
    {
        return Err(refused(
            "git branch may not change upstreams or descriptions".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str]) -> Result<(), ToolError> {
        check_git_args(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn read_and_local_change_subcommands_pass() {
        for args in [
            &["status", "--porcelain"][..],
            &["diff", "--stat", "HEAD~1"],
            &["log", "--oneline", "-n", "5"],
            &["add", "-A"],
            &["commit", "-m", "fix: the -c flag in docs"],
            &["switch", "-c", "feature"],
            &["checkout", "--", "-c"],
            &["stash", "pop"],
            &["rev-parse", "HEAD"],
        ] {
            assert!(check(args).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn other_subcommands_and_global_options_are_refused() {
        for args in [
            &["push", "origin", "main"][..],
            &["config", "user.name", "x"],
            &["remote", "add", "evil", "https://x"],
            &["-c", "core.pager=sh", "log"],
            &["--exec-path=/tmp", "status"],
            &["fetch"],
            &["submodule", "update"],
            &[],
        ] {
            assert_eq!(
                check(args).unwrap_err().code,
                ToolErrorCode::GitNotAllowed,
                "{args:?}"
            );
        }
    }

    #[test]
    fn dangerous_options_are_refused_after_the_subcommand_too() {
        for args in [
            &["diff", "--output=/etc/passwd"][..],
            &["diff", "--ext-diff"],
            &["log", "--textconv"],
            &["commit", "--template=/etc/shadow"],
            &["branch", "--set-upstream-to=origin/main"],
            &["status", "--git-dir=/other/.git"],
        ] {
            assert!(check(args).is_err(), "{args:?}");
        }
    }
}
