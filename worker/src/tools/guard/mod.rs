//! The command guard: refuses shell lines that would wreck the sandbox.
//!
//! **The guard is a guard rail, not a security boundary.** It stops
//! accidents and obvious injections (an agent told by a web page to run
//! `curl ... | sh`, a mistaken `rm -rf ~`); it cannot stop a determined
//! program, which can always write its payload to a file and run that, or
//! hide it inside `python -c`. The sandbox is the isolation: a command the
//! guard lets through can harm only its own sandbox.
//!
//! The line is parsed as bash parses it, not matched as text: quotes are
//! removed before any rule looks at a word (`r"m"`, `'rm'` and `\rm` are
//! all `rm`), and every command that would run is checked wherever it
//! stands: after `;`, `&&`, `||`, `|` or `&`, in a subshell, group, loop or
//! function body, inside `$(...)`, backticks, `<(...)` and expanding
//! heredocs, behind wrappers (`sudo`, `env`, `nice`, `nohup`, `time`,
//! `timeout`, `command`, `exec`, `xargs`, `busybox`, ...), and inside the
//! command strings of `bash -c`, `sh -c`, `eval` and their kin. Variables
//! assigned earlier in the line, `$HOME`, `$PWD`, `~` and `cd` are
//! followed; a variable whose value cannot be known is taken as empty, so
//! `rm -rf "$DIR/"` is refused. A command whose name cannot be known
//! (`$CMD -rf /`) has its arguments checked as if it were `rm`, `chown` or
//! `dd`. A line that cannot be parsed (an unterminated quote, say) is
//! refused, since it cannot be checked.
//!
//! What is refused, by [`Rule`]:
//! - recursive removal (`rm -r`, `find -delete`, `find -exec rm`) of `/`,
//!   a system directory, the home directory, the repository root or a
//!   directory holding either, or of everything in one of them (`/*`,
//!   `~/*`, `*` in the repository root), and any `rm --no-preserve-root`;
//! - making filesystems (`mkfs`, `mkfs.*`, `mke2fs`, `mkswap`, `wipefs`);
//! - writing onto disks: `dd of=/dev/...`, redirections, `tee`, `cp` or
//!   `shred` onto `/dev/sd*`, `/dev/nvme*` and the like;
//! - fork bombs: a function that calls itself in a pipeline or in the
//!   background (`:(){ :|:& };:`), and `$0 & $0`;
//! - shutting down: `shutdown`, `reboot`, `halt`, `poweroff`, `init 0`,
//!   `init 6`, `telinit`, `systemctl poweroff|reboot|halt|kexec`;
//! - recursive `chmod`, `chown` or `chgrp` of `/` or a system directory;
//! - running a download: `curl ... | sh` (also through `sudo`, `tee` or
//!   any command in between, and into `python`, `perl`, `ruby`, `node`),
//!   `sh <(curl ...)`, `bash -c "$(curl ...)"`, `eval "$(wget -O- ...)"`.
//!
//! - naming a file the manifest forbids (`cat .env`, `cp id_rsa x`, `<
//!   server.pem`), as an argument, an option's value or a redirection:
//!   the file tools refuse those files, and a shell line that names one is
//!   refused alike. A program that finds the file itself (`grep -r`, a
//!   glob, a script) is not stopped; that is what "rail" means.
//!
//! Not covered: code inside other languages' strings (`python -c
//! "import os; os.system('rm -rf /')"`), scripts run from files, and
//! input to `xargs` that no `echo` or here-string makes known.

mod expand;
mod lexer;
mod parse;
mod paths;
mod rules;
#[cfg(test)]
mod tests;

use std::fmt;

use super::manifest::ForbiddenFiles;

/// Where a command runs, as the sandbox sees it (absolute paths), and the
/// files it may not name.
#[derive(Debug, Clone)]
pub struct GuardContext {
    pub repo_root: String,
    pub cwd: String,
    pub home: String,
    pub forbidden: ForbiddenFiles,
}

/// Why a line was refused. The names are stable: they may be logged and
/// matched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The line could not be parsed, so it could not be checked.
    Unparseable,
    /// Recursive deletion of `/`, home, the repository or their parents.
    RecursiveDelete,
    /// Making a filesystem.
    MakeFilesystem,
    /// Writing straight onto a disk device.
    DiskWrite,
    ForkBomb,
    /// Shutting down or restarting the machine.
    PowerOff,
    /// Recursive change of owner or permissions of the system.
    RecursivePermissions,
    /// Running code fetched from the network.
    DownloadToShell,
    /// Naming a file the manifest forbids.
    ForbiddenFile,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::Unparseable => "unparseable",
            Rule::RecursiveDelete => "recursive_delete",
            Rule::MakeFilesystem => "make_filesystem",
            Rule::DiskWrite => "disk_write",
            Rule::ForkBomb => "fork_bomb",
            Rule::PowerOff => "power_off",
            Rule::RecursivePermissions => "recursive_permissions",
            Rule::DownloadToShell => "download_to_shell",
            Rule::ForbiddenFile => "forbidden_file",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A refused line: which rule refused it, and a message saying in plain
/// words what was refused and why, for the agent to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Blocked {
    pub rule: Rule,
    pub message: String,
}

/// Checks a shell line before it runs in `ctx`.
pub fn check(line: &str, ctx: &GuardContext) -> Result<(), Blocked> {
    let places = paths::Places::new(&ctx.repo_root, &ctx.home, &ctx.cwd);
    rules::Checker::new(places, ctx.forbidden.clone()).code(line, None)
}
