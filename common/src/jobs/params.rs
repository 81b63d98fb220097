//! Each kind's `params`, parsed and checked when a job is accepted, so a
//! bad request is refused with the field it got wrong instead of failing
//! later in a worker.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::JobKind;
use crate::tool_call::ToolCall;
use crate::validate;

/// `hydrate`: clone or refresh the repository in the project's sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HydrateParams {
    /// The project's default branch when left out.
    pub branch: Option<String>,
    /// Clone the whole history instead of the newest commit.
    #[serde(default)]
    pub full_history: bool,
}

/// `sync`: what to do with the sandbox's working tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum SyncParams {
    /// Stage everything but forbidden files, commit, push to an agent
    /// branch (the configured prefix is added when missing).
    CommitAndPush {
        message: String,
        branch: String,
    },
    Status,
    /// Drop every change, tracked and untracked, keeping ignored
    /// dependency folders.
    Discard,
    CreateBranch {
        branch: String,
    },
}

/// `submit_pr`: push the branch and open its pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitPrParams {
    pub title: String,
    pub body: Option<String>,
    pub branch: String,
    /// The project's default branch when left out.
    pub base: Option<String>,
    #[serde(default)]
    pub draft: bool,
}

/// A job's params, typed by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobParams {
    Hydrate(HydrateParams),
    RunTool(ToolCall),
    Sync(SyncParams),
    SubmitPr(SubmitPrParams),
}

/// Params that do not fit their kind: `field` is the path to the culprit
/// (`params.edits[0].find`), `message` what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParamsError {
    pub field: String,
    pub message: String,
}

impl ParamsError {
    fn whole(message: impl Into<String>) -> Self {
        Self {
            field: "params".to_owned(),
            message: message.into(),
        }
    }

    fn at(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: format!("params.{field}"),
            message: message.into(),
        }
    }
}

impl JobParams {
    /// Parses and checks `params` for `kind`.
    pub fn parse(kind: JobKind, params: &serde_json::Value) -> Result<Self, ParamsError> {
        let parsed = match kind {
            JobKind::Hydrate => Self::Hydrate(typed(params)?),
            JobKind::RunTool => Self::RunTool(tool_call(params)?),
            JobKind::Sync => Self::Sync(typed(params)?),
            JobKind::SubmitPr => Self::SubmitPr(typed(params)?),
        };
        parsed.check()?;
        Ok(parsed)
    }

    fn check(&self) -> Result<(), ParamsError> {
        let branch = |field: &str, name: &str| {
            validate::branch_name(name).map_err(|message| ParamsError::at(field, message))
        };
        let not_blank = |field: &str, text: &str| {
            if text.trim().is_empty() {
                Err(ParamsError::at(field, "must not be empty"))
            } else {
                Ok(())
            }
        };
        match self {
            Self::Hydrate(params) => params
                .branch
                .as_deref()
                .map_or(Ok(()), |name| branch("branch", name)),
            Self::RunTool(_) => Ok(()),
            Self::Sync(SyncParams::CommitAndPush {
                message,
                branch: name,
            }) => {
                not_blank("message", message)?;
                branch("branch", name)
            }
            Self::Sync(SyncParams::CreateBranch { branch: name }) => branch("branch", name),
            Self::Sync(SyncParams::Status | SyncParams::Discard) => Ok(()),
            Self::SubmitPr(params) => {
                not_blank("title", &params.title)?;
                branch("branch", &params.branch)?;
                params
                    .base
                    .as_deref()
                    .map_or(Ok(()), |name| branch("base", name))
            }
        }
    }
}

/// A `run_tool` call, read in two steps: serde reads an internally tagged
/// enum through a buffer that serde_path_to_error cannot see into, which
/// would lose the path of a bad argument. So `tool` is taken out here and
/// the other fields go straight to that tool's struct.
fn tool_call(params: &serde_json::Value) -> Result<ToolCall, ParamsError> {
    let Some(fields) = params.as_object() else {
        return Err(ParamsError::whole("expected an object with a `tool`"));
    };
    let mut args = fields.clone();
    let tool = match args.remove("tool") {
        Some(serde_json::Value::String(tool)) => tool,
        Some(_) => return Err(ParamsError::at("tool", must_be_a_tool("must be a string"))),
        None => return Err(ParamsError::at("tool", must_be_a_tool("missing"))),
    };

    let args = serde_json::Value::Object(args);
    let call = match tool.as_str() {
        "read_file" => ToolCall::ReadFile(typed(&args)?),
        "write_file" => ToolCall::WriteFile(typed(&args)?),
        "edit_file" => ToolCall::EditFile(typed(&args)?),
        "list_files" => ToolCall::ListFiles(typed(&args)?),
        "delete_file" => ToolCall::DeleteFile(typed(&args)?),
        "run_shell" => ToolCall::RunShell(typed(&args)?),
        "run_package_manager" => ToolCall::RunPackageManager(typed(&args)?),
        "run_git" => ToolCall::RunGit(typed(&args)?),
        unknown => {
            let problem = format!("unknown tool `{unknown}`");
            return Err(ParamsError::at("tool", must_be_a_tool(&problem)));
        }
    };
    Ok(call)
}

fn must_be_a_tool(problem: &str) -> String {
    let names: Vec<String> = ToolCall::NAMES
        .iter()
        .map(|name| format!("`{name}`"))
        .collect();
    format!("{problem}; expected one of {}", names.join(", "))
}

/// Deserialises with the path of the first field that does not fit.
fn typed<T: DeserializeOwned>(params: &serde_json::Value) -> Result<T, ParamsError> {
    serde_path_to_error::deserialize(params).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned();
        if path == "." {
            ParamsError::whole(message)
        } else {
            ParamsError::at(&path, message)
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn error(kind: JobKind, params: serde_json::Value) -> ParamsError {
        JobParams::parse(kind, &params).expect_err("params should be refused")
    }

    #[test]
    fn each_kind_accepts_the_documented_params() {
        let cases = [
            (JobKind::Hydrate, json!({})),
            (JobKind::Hydrate, json!({"branch": "develop"})),
            (
                JobKind::RunTool,
                json!({"tool": "read_file", "path": "src/main.rs"}),
            ),
            (
                JobKind::RunTool,
                json!({"tool": "edit_file", "path": "a", "edits": [{"find": "x", "replace": "y"}]}),
            ),
            (JobKind::Sync, json!({"action": "status"})),
            (
                JobKind::Sync,
                json!({"action": "commit_and_push", "message": "m", "branch": "feature"}),
            ),
            (
                JobKind::SubmitPr,
                json!({"title": "t", "branch": "feature", "draft": true}),
            ),
        ];
        for (kind, params) in cases {
            JobParams::parse(kind, &params).unwrap_or_else(|e| panic!("{kind} {params}: {e}"));
        }
    }

    #[test]
    fn a_missing_field_is_named() {
        let e = error(JobKind::SubmitPr, json!({"branch": "feature"}));
        assert_eq!(e.field, "params");
        assert!(e.message.contains("title"), "{e}");
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named_by_its_path() {
        let e = error(
            JobKind::RunTool,
            json!({"tool": "edit_file", "path": "a", "edits": [{"find": 1, "replace": "y"}]}),
        );
        assert_eq!(e.field, "params.edits[0].find");
        assert!(e.message.contains("expected a string"), "{e}");
    }

    #[test]
    fn every_tool_is_read_as_its_wire_shape_says() {
        let calls = [
            json!({"tool": "read_file", "path": "a", "start_line": 2, "end_line": 3}),
            json!({"tool": "write_file", "path": "a", "content": "x"}),
            json!({"tool": "edit_file", "path": "a", "edits": [{"find": "x", "replace": "y"}]}),
            json!({"tool": "list_files", "path": "src", "recursive": true, "limit": 5, "include_ignored": false}),
            json!({"tool": "delete_file", "path": "a"}),
            json!({"tool": "run_shell", "command": "ls", "cwd": "src", "timeout_ms": 1000}),
            json!({"tool": "run_package_manager", "args": ["test"]}),
            json!({"tool": "run_git", "args": ["status"]}),
        ];

        let mut names = Vec::new();
        for wire in calls {
            let JobParams::RunTool(call) = JobParams::parse(JobKind::RunTool, &wire).unwrap()
            else {
                panic!("{wire} is not a tool call");
            };
            let derived: ToolCall = serde_json::from_value(wire.clone()).unwrap();

            assert_eq!(call, derived, "{wire}");
            assert_eq!(serde_json::to_value(&call).unwrap(), wire);
            assert_eq!(wire["tool"], call.name());
            names.push(call.name());
        }
        assert_eq!(names, ToolCall::NAMES);
    }

    #[test]
    fn a_tool_argument_of_the_wrong_type_is_named_by_its_path() {
        let e = error(
            JobKind::RunTool,
            json!({"tool": "read_file", "path": "a", "start_line": "two"}),
        );

        assert_eq!(e.field, "params.start_line");
        assert!(e.message.contains("expected u32"), "{e}");
    }

    #[test]
    fn a_missing_tool_argument_is_named_in_the_object_that_lacks_it() {
        let top = error(JobKind::RunTool, json!({"tool": "write_file", "path": "a"}));
        let nested = error(
            JobKind::RunTool,
            json!({"tool": "edit_file", "path": "a", "edits": [{"find": "x"}]}),
        );

        assert_eq!(top.field, "params");
        assert_eq!(top.message, "missing field `content`");
        assert_eq!(nested.field, "params.edits[0]");
        assert_eq!(nested.message, "missing field `replace`");
    }

    #[test]
    fn an_unknown_tool_argument_is_named_by_its_path() {
        let e = error(
            JobKind::RunTool,
            json!({"tool": "read_file", "path": "a", "mode": "fast"}),
        );

        assert_eq!(e.field, "params.mode");
        assert!(e.message.contains("unknown field `mode`"), "{e}");
    }

    #[test]
    fn a_missing_or_unknown_tool_is_named_with_the_tools_there_are() {
        let missing = error(JobKind::RunTool, json!({"path": "a"}));
        let unknown = error(JobKind::RunTool, json!({"tool": "format_disk"}));
        let not_a_name = error(JobKind::RunTool, json!({"tool": 7}));
        let not_an_object = error(JobKind::RunTool, json!(["read_file"]));

        for e in [&missing, &unknown, &not_a_name] {
            assert_eq!(e.field, "params.tool");
            assert!(e.message.contains("`read_file`, `write_file`"), "{e}");
            assert!(e.message.contains("`run_git`"), "{e}");
        }
        assert!(missing.message.starts_with("missing"), "{missing}");
        assert!(unknown.message.contains("`format_disk`"), "{unknown}");
        assert!(
            not_a_name.message.starts_with("must be a string"),
            "{not_a_name}"
        );
        assert_eq!(not_an_object.field, "params");
    }

    #[test]
    fn an_unknown_field_or_tool_is_refused() {
        let e = error(JobKind::Hydrate, json!({"brunch": "main"}));
        assert!(e.message.contains("brunch"), "{e}");
        let e = error(JobKind::RunTool, json!({"tool": "format_disk"}));
        assert!(e.message.contains("format_disk"), "{e}");
    }

    #[test]
    fn branches_are_checked_as_git_would() {
        let e = error(JobKind::Hydrate, json!({"branch": "--upload-pack=evil"}));
        assert_eq!(e.field, "params.branch");
        let e = error(
            JobKind::SubmitPr,
            json!({"title": "t", "branch": "ok", "base": "bad..base"}),
        );
        assert_eq!(e.field, "params.base");
    }

    #[test]
    fn blank_titles_and_messages_are_refused() {
        let e = error(JobKind::SubmitPr, json!({"title": "  ", "branch": "b"}));
        assert_eq!(e.field, "params.title");
        let e = error(
            JobKind::Sync,
            json!({"action": "commit_and_push", "message": "", "branch": "b"}),
        );
        assert_eq!(e.field, "params.message");
    }
}
