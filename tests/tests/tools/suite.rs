//! File and shell tool checks that every provider must pass.

use hero_common::tool_call::{
    DeleteFileArgs, Edit, EditFileArgs, ListFilesArgs, ListedKind, ReadFileArgs, RunShellArgs,
    ToolCall, ToolErrorCode, ToolResult,
};
use hero_worker::sandbox::OutputStream;

use crate::fixture::{Fixture, SECRET, command_output, content, read, shell, write};

pub async fn read_file_returns_text_and_line_ranges(f: Fixture) {
    let whole = f.run(read("src/lib.rs")).await.unwrap();
    let middle = f
        .run(ToolCall::ReadFile(ReadFileArgs {
            path: "src/lib.rs".to_owned(),
            start_line: Some(2),
            end_line: Some(3),
        }))
        .await
        .unwrap();

    assert_eq!(content(&whole), "line one\nline two\nline three\n");
    assert_eq!(content(&middle), "line two\nline three\n");
    assert!(matches!(
        whole,
        ToolResult::ReadFile {
            total_lines: 3,
            size: 29,
            truncated: false,
            ..
        }
    ));
}

pub async fn binary_and_missing_files_are_reported_as_such(f: Fixture) {
    f.sh("printf 'a\\000b' > blob.bin").await;

    let binary = f.run(read("blob.bin")).await.unwrap();
    let missing = f.run(read("nope.txt")).await.unwrap_err();
    let directory = f.run(read("src")).await.unwrap_err();

    assert!(matches!(
        binary,
        ToolResult::ReadFile {
            binary: true,
            content: None,
            size: 3,
            ..
        }
    ));
    assert_eq!(missing.code, ToolErrorCode::NotFound);
    assert_eq!(
        directory.code,
        ToolErrorCode::IsDirectory,
        "{}",
        directory.message
    );
}

pub async fn write_file_creates_parents_and_edit_file_applies_edits_in_order(f: Fixture) {
    f.run(write("new/dir/app.txt", "alpha beta gamma\n"))
        .await
        .unwrap();

    let edited = f
        .run(ToolCall::EditFile(EditFileArgs {
            path: "new/dir/app.txt".to_owned(),
            edits: vec![
                Edit {
                    find: "beta".to_owned(),
                    replace: "BETA".to_owned(),
                },
                Edit {
                    find: "BETA gamma".to_owned(),
                    replace: "delta".to_owned(),
                },
            ],
        }))
        .await
        .unwrap();

    assert!(matches!(
        edited,
        ToolResult::EditFile {
            edits_applied: 2,
            ..
        }
    ));
    assert_eq!(
        content(&f.run(read("new/dir/app.txt")).await.unwrap()),
        "alpha delta\n"
    );
}

pub async fn an_edit_that_is_not_unique_writes_nothing_and_says_which(f: Fixture) {
    f.run(write("t.txt", "x = 1\nx = 1\ny = 2\n"))
        .await
        .unwrap();

    let error = f
        .run(ToolCall::EditFile(EditFileArgs {
            path: "t.txt".to_owned(),
            edits: vec![
                Edit {
                    find: "y = 2".to_owned(),
                    replace: "y = 3".to_owned(),
                },
                Edit {
                    find: "x = 1".to_owned(),
                    replace: "x = 2".to_owned(),
                },
            ],
        }))
        .await
        .unwrap_err();
    let no_match = f
        .run(ToolCall::EditFile(EditFileArgs {
            path: "t.txt".to_owned(),
            edits: vec![Edit {
                find: "zzz".to_owned(),
                replace: "".to_owned(),
            }],
        }))
        .await
        .unwrap_err();

    assert_eq!(error.code, ToolErrorCode::EditNotUnique);
    assert!(
        error.message.contains("edit 2 of 2") && error.message.contains("2 times"),
        "{}",
        error.message
    );
    assert_eq!(no_match.code, ToolErrorCode::EditNoMatch);
    assert_eq!(
        content(&f.run(read("t.txt")).await.unwrap()),
        "x = 1\nx = 1\ny = 2\n"
    );
}

pub async fn list_files_leaves_out_git_and_ignored_files_unless_asked(f: Fixture) {
    let listed = |recursive, include_ignored| {
        ToolCall::ListFiles(ListFilesArgs {
            path: None,
            recursive: Some(recursive),
            limit: None,
            include_ignored: Some(include_ignored),
        })
    };

    let flat = f.run(listed(false, false)).await.unwrap();
    let deep = f.run(listed(true, false)).await.unwrap();
    let everything = f.run(listed(true, true)).await.unwrap();

    let paths = |result: &ToolResult| match result {
        ToolResult::ListFiles { entries, .. } => {
            entries.iter().map(|e| e.path.clone()).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(paths(&flat), [".gitignore", "docs", "src"]);
    assert!(paths(&deep).contains(&"src/lib.rs".to_owned()));
    assert!(
        !paths(&deep)
            .iter()
            .any(|p| p.starts_with("build") || p.starts_with("node_modules"))
    );
    let all = paths(&everything);
    assert!(all.contains(&"build/out.bin".to_owned()));
    assert!(all.contains(&"node_modules/pkg/index.js".to_owned()));
    assert!(
        !all.iter().any(|p| p.starts_with(".git/") || p == ".git"),
        "{all:?}"
    );
    assert!(
        !all.contains(&".env".to_owned()),
        "forbidden files are not listed"
    );
    if let ToolResult::ListFiles { entries, .. } = &flat {
        assert_eq!(entries[1].kind, ListedKind::Directory);
    }
}

pub async fn list_files_stops_at_its_limit(f: Fixture) {
    let result = f
        .run(ToolCall::ListFiles(ListFilesArgs {
            path: None,
            recursive: Some(true),
            limit: Some(2),
            include_ignored: None,
        }))
        .await
        .unwrap();

    assert!(
        matches!(&result, ToolResult::ListFiles { entries, truncated: true, .. } if entries.len() == 2)
    );
}

pub async fn delete_file_deletes_files_but_not_directories(f: Fixture) {
    let deleted = f
        .run(ToolCall::DeleteFile(DeleteFileArgs {
            path: "docs/README.md".to_owned(),
        }))
        .await;
    let directory = f
        .run(ToolCall::DeleteFile(DeleteFileArgs {
            path: "src".to_owned(),
        }))
        .await
        .unwrap_err();

    assert!(deleted.is_ok());
    assert_eq!(
        f.run(read("docs/README.md")).await.unwrap_err().code,
        ToolErrorCode::NotFound
    );
    assert_eq!(directory.code, ToolErrorCode::IsDirectory);
}

pub async fn run_shell_reports_exit_code_and_separate_output(f: Fixture) {
    let result = f
        .run(shell("echo out; echo err >&2; exit 4"))
        .await
        .unwrap();
    let output = command_output(&result);

    assert_eq!((output.exit_code, output.timed_out), (Some(4), false));
    assert_eq!(
        (output.stdout.as_str(), output.stderr.as_str()),
        ("out\n", "err\n")
    );
}

pub async fn run_shell_runs_in_the_repository_or_a_cwd_inside_it(f: Fixture) {
    let root = f.run(shell("pwd")).await.unwrap();
    let sub = f
        .run(ToolCall::RunShell(RunShellArgs {
            command: "pwd".to_owned(),
            cwd: Some("src".to_owned()),
            timeout_ms: None,
        }))
        .await
        .unwrap();
    let outside = f
        .run(ToolCall::RunShell(RunShellArgs {
            command: "pwd".to_owned(),
            cwd: Some("..".to_owned()),
            timeout_ms: None,
        }))
        .await
        .unwrap_err();

    assert_eq!(command_output(&root).stdout, format!("{}\n", f.root));
    assert_eq!(command_output(&sub).stdout, format!("{}/src\n", f.root));
    assert_eq!(outside.code, ToolErrorCode::PathOutsideRepo);
}

pub async fn a_command_past_its_timeout_is_killed_and_flagged(f: Fixture) {
    let result = f
        .run(ToolCall::RunShell(RunShellArgs {
            command: "echo started; sleep 30".to_owned(),
            cwd: None,
            timeout_ms: Some(500),
        }))
        .await
        .unwrap();
    let output = command_output(&result);

    assert!(output.timed_out);
    assert_eq!(output.exit_code, None);
    assert_eq!(output.stdout, "started\n");
}

pub async fn long_output_keeps_head_and_tail_with_a_marker(f: Fixture) {
    let limits = hero_worker::tools::ToolLimits {
        max_output_bytes: 100,
        ..Default::default()
    };
    let (manifest, _) = hero_worker::tools::manifest::load(&*f.sandbox, &f.root)
        .await
        .unwrap();
    let toolbox = f.toolbox_with(manifest, limits);

    let result = toolbox
        .run(shell("echo FIRST; seq 1 5000; echo LAST"), None)
        .await
        .unwrap();
    let output = command_output(&result);

    assert!(output.stdout.starts_with("FIRST\n1\n"), "{}", output.stdout);
    assert!(output.stdout.ends_with("5000\nLAST\n"), "{}", output.stdout);
    assert!(output.stdout.contains(&format!(
        "[... {} bytes truncated ...]",
        output.stdout_truncated
    )));
    assert!(output.stdout_truncated > 20_000);
}

pub async fn secrets_reach_commands_as_environment_only_and_are_redacted(f: Fixture) {
    let mut streamed = Vec::new();
    let toolbox = f.toolbox().await;
    let mut events = |stream: OutputStream, bytes: &[u8]| streamed.push((stream, bytes.to_vec()));

    let result = toolbox
        .run(shell("echo \"key=$API_KEY\"; echo \"$API_KEY\" >&2; printf %s \"$API_KEY\" | head -c 8; sleep 0.2; printf %s \"$API_KEY\" | tail -c +9"), Some(&mut events))
        .await
        .unwrap();
    let output = command_output(&result);

    assert!(
        output.stdout.starts_with("key=[redacted:API_KEY]\n"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.ends_with("[redacted:API_KEY]"),
        "split across chunks: {}",
        output.stdout
    );
    assert_eq!(output.stderr, "[redacted:API_KEY]\n");
    let all_events: Vec<u8> = streamed.iter().flat_map(|(_, b)| b.clone()).collect();
    assert!(!String::from_utf8_lossy(&all_events).contains(SECRET));
    assert!(!format!("{result:?}").contains(SECRET));
}

/// Expands to one test per check for the fixture `$make` gives.
#[macro_export]
macro_rules! tool_suite {
    ($make:expr) => {
        $crate::tool_suite!(@tests $make;
            read_file_returns_text_and_line_ranges,
            binary_and_missing_files_are_reported_as_such,
            write_file_creates_parents_and_edit_file_applies_edits_in_order,
            an_edit_that_is_not_unique_writes_nothing_and_says_which,
            list_files_leaves_out_git_and_ignored_files_unless_asked,
            list_files_stops_at_its_limit,
            delete_file_deletes_files_but_not_directories,
            run_shell_reports_exit_code_and_separate_output,
            run_shell_runs_in_the_repository_or_a_cwd_inside_it,
            a_command_past_its_timeout_is_killed_and_flagged,
            long_output_keeps_head_and_tail_with_a_marker,
            secrets_reach_commands_as_environment_only_and_are_redacted,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::suite::$name($make).await;
            }
        )*
    };
}
