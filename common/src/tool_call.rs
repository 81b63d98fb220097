//! The agent tools' requests and results, as they travel in `run_tool` jobs
//! and appear in the API. Field names are snake_case, as everywhere in the
//! API.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One find/replace step of `edit_file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// Must occur exactly once in the file as it is when this edit applies.
    pub find: String,
    pub replace: String,
}

/// A tool call. `tool` names the tool; the other fields are its arguments,
/// flat beside it (`{"tool": "read_file", "path": "src/main.rs"}`). Every
/// path is relative to the repository root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "tool", rename_all = "snake_case")]
pub enum ToolCall {
    ReadFile(ReadFileArgs),
    WriteFile(WriteFileArgs),
    EditFile(EditFileArgs),
    ListFiles(ListFilesArgs),
    DeleteFile(DeleteFileArgs),
    RunShell(RunShellArgs),
    RunPackageManager(RunPackageManagerArgs),
    RunGit(RunGitArgs),
}

impl ToolCall {
    /// Every tool, as `tool` names it.
    pub const NAMES: [&'static str; 8] = [
        "read_file",
        "write_file",
        "edit_file",
        "list_files",
        "delete_file",
        "run_shell",
        "run_package_manager",
        "run_git",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Self::ReadFile(_) => "read_file",
            Self::WriteFile(_) => "write_file",
            Self::EditFile(_) => "edit_file",
            Self::ListFiles(_) => "list_files",
            Self::DeleteFile(_) => "delete_file",
            Self::RunShell(_) => "run_shell",
            Self::RunPackageManager(_) => "run_package_manager",
            Self::RunGit(_) => "run_git",
        }
    }
}

/// `read_file`: a text file, whole or lines `start_line..=end_line`
/// (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadFileArgs {
    pub path: String,
    pub start_line: Option<u32>,
    pub end_line: Option<u32>,
}

/// `write_file`: creates or replaces a file; parent directories are
/// created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteFileArgs {
    pub path: String,
    pub content: String,
}

/// `edit_file`: applies the edits in order; if any does not match exactly
/// once, nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditFileArgs {
    pub path: String,
    pub edits: Vec<Edit>,
}

/// `list_files`: entries under a directory (the root when `path` is left
/// out). `.git/` and what `.gitignore` ignores are left out unless
/// `include_ignored`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListFilesArgs {
    pub path: Option<String>,
    /// Descend into subdirectories; `false` when left out.
    pub recursive: Option<bool>,
    /// Most entries to return; a default when left out.
    pub limit: Option<u32>,
    pub include_ignored: Option<bool>,
}

/// `delete_file`: deletes a file (not a directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteFileArgs {
    pub path: String,
}

/// `run_shell`: runs a shell command line in the repository (or `cwd`
/// inside it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunShellArgs {
    pub command: String,
    pub cwd: Option<String>,
    /// Killed after this long; a default when left out. Longer than the
    /// configured maximum is refused.
    pub timeout_ms: Option<u64>,
}

/// `run_package_manager`: runs the project's package manager (npm, pnpm,
/// yarn, bun, cargo, pip, uv, poetry or go, detected from its files) with
/// `args`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunPackageManagerArgs {
    pub args: Vec<String>,
}

/// `run_git`: runs git with `args`; only read and local-change
/// subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunGitArgs {
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListedKind {
    File,
    Directory,
    Symlink,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListedEntry {
    /// Relative to the repository root.
    pub path: String,
    pub kind: ListedKind,
}

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CommandOutput {
    /// The command as run (for the package manager and git, the full line).
    pub command: String,
    /// `None` when the command was killed (as on timeout).
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// Head and tail of the output, with a marker saying how much was cut.
    pub stdout: String,
    pub stderr: String,
    /// Bytes left out of `stdout` and `stderr` by truncation.
    pub stdout_truncated: u64,
    pub stderr_truncated: u64,
    pub duration_ms: u64,
}

/// A tool's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "tool", rename_all = "snake_case")]
pub enum ToolResult {
    ReadFile {
        path: String,
        /// `None` for a binary file.
        content: Option<String>,
        binary: bool,
        /// The file's size in bytes.
        size: u64,
        /// The file was larger than the read limit and only its start was read.
        truncated: bool,
        /// Lines in the part read.
        total_lines: u64,
    },
    WriteFile {
        path: String,
        bytes_written: u64,
    },
    EditFile {
        path: String,
        edits_applied: u32,
    },
    ListFiles {
        path: String,
        entries: Vec<ListedEntry>,
        /// More entries exist than `limit`.
        truncated: bool,
    },
    DeleteFile {
        path: String,
    },
    RunShell(CommandOutput),
    RunPackageManager {
        manager: String,
        #[serde(flatten)]
        output: CommandOutput,
    },
    RunGit(CommandOutput),
}

/// Why a tool call failed, stable for clients to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ToolErrorCode {
    /// Absolute, `..` out of the repository, or through a symlink out of it.
    PathOutsideRepo,
    /// Malformed: empty, NUL bytes.
    InvalidPath,
    /// Matches the manifest's `forbiddenFiles`, or is inside `.git/`.
    ForbiddenFile,
    /// The manifest's `allowedOperations` does not include it.
    OperationNotAllowed,
    /// The command guard refused the command line.
    CommandBlocked,
    /// A git subcommand or option the tool does not allow.
    GitNotAllowed,
    /// The sandbox did not answer in time.
    Timeout,
    NotFound,
    IsDirectory,
    NotADirectory,
    /// An edit's `find` matched more than once.
    EditNotUnique,
    /// An edit's `find` did not match.
    EditNoMatch,
    /// No package manager could be detected.
    NoPackageManager,
    /// An argument is out of range or malformed.
    InvalidArgument,
    /// The sandbox failed; retrying may help.
    SandboxUnavailable,
    /// The job was cancelled while the tool ran; its command was killed.
    Cancelled,
}

/// A tool call's failure: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, thiserror::Error)]
#[error("{message}")]
pub struct ToolError {
    pub code: ToolErrorCode,
    pub message: String,
}

impl ToolError {
    pub fn new(code: ToolErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn calls_are_tagged_by_tool_and_refuse_unknown_fields() {
        let call: ToolCall = serde_json::from_value(json!({
            "tool": "edit_file", "path": "a.txt", "edits": [{"find": "x", "replace": "y"}]
        }))
        .unwrap();
        let unknown = serde_json::from_value::<ToolCall>(json!({
            "tool": "read_file", "path": "a", "mode": "fast"
        }));
        let no_tool = serde_json::from_value::<ToolCall>(json!({"tool": "format_disk"}));

        assert_eq!(call.name(), "edit_file");
        assert!(unknown.unwrap_err().to_string().contains("mode"));
        assert!(no_tool.is_err());
    }

    #[test]
    fn results_serialize_flat_with_their_tool() {
        let result = ToolResult::DeleteFile {
            path: "a".to_owned(),
        };

        assert_eq!(
            serde_json::to_value(result).unwrap(),
            json!({"tool": "delete_file", "path": "a"})
        );
    }
}
