//! `run_git` and `run_package_manager` on a local sandbox.

use hero_common::tool_call::{RunPackageManagerArgs, ToolCall, ToolErrorCode, ToolResult};

use crate::fixture::{Fixture, command_output, git, write};

#[tokio::test]
async fn local_changes_can_be_staged_committed_and_inspected() {
    let f = Fixture::local().await;
    f.run(write("src/new.rs", "pub fn f() {}\n")).await.unwrap();

    for args in [
        &["add", "src/new.rs"][..],
        &["commit", "-m", "add f"],
        &["switch", "-c", "feature"],
    ] {
        let result = f.run(git(args)).await.unwrap();
        assert_eq!(
            command_output(&result).exit_code,
            Some(0),
            "{args:?}: {result:?}"
        );
    }
    let log = f.run(git(&["log", "--oneline"])).await.unwrap();
    let branch = f
        .run(git(&["rev-parse", "--abbrev-ref", "HEAD"]))
        .await
        .unwrap();
    let author = f
        .run(git(&["log", "-1", "--format=%an <%ae>"]))
        .await
        .unwrap();

    assert!(command_output(&log).stdout.contains("add f"));
    assert_eq!(
        command_output(&author).stdout,
        "Hero Agent <agent@hero.invalid>\n",
        "commits are the configured agent's, not whoever the sandbox says"
    );
    assert_eq!(command_output(&branch).stdout, "feature\n");
}

#[tokio::test]
async fn push_config_and_remote_are_refused() {
    let f = Fixture::local().await;

    for args in [
        &["push"][..],
        &["config", "core.hooksPath", "/tmp"],
        &["remote", "-v"],
        &["-c", "x=y", "status"],
    ] {
        let error = f.run(git(args)).await.unwrap_err();
        assert_eq!(error.code, ToolErrorCode::GitNotAllowed, "{args:?}");
    }
}

#[tokio::test]
async fn repository_hooks_do_not_run() {
    let f = Fixture::local().await;
    f.sh("printf '#!/bin/sh\\ntouch /home/user/hook-ran\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit").await;
    f.run(write("a.txt", "a")).await.unwrap();

    f.run(git(&["add", "a.txt"])).await.unwrap();
    let commit = f.run(git(&["commit", "-m", "a"])).await.unwrap();

    assert_eq!(command_output(&commit).exit_code, Some(0));
    assert_eq!(
        f.sh("ls /home/user/hook-ran ../hook-ran 2>/dev/null | wc -l")
            .await
            .trim(),
        "0"
    );
}

#[tokio::test]
async fn the_package_manager_is_detected_from_lock_files_and_run() {
    let f = Fixture::local().await;
    f.sh(r#"printf '{"name":"demo","version":"1.0.0"}' > package.json && printf '{"lockfileVersion":3}' > package-lock.json"#).await;

    let result = f
        .run(ToolCall::RunPackageManager(RunPackageManagerArgs {
            args: vec!["--version".to_owned()],
        }))
        .await
        .unwrap();

    let ToolResult::RunPackageManager { manager, output } = &result else {
        panic!("{result:?}")
    };
    assert_eq!(manager, "npm");
    assert_eq!(output.exit_code, Some(0), "{output:?}");
    assert!(
        output.stdout.trim().split('.').count() >= 2,
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn without_a_manifest_or_lock_file_there_is_no_package_manager() {
    let f = Fixture::local().await;

    let error = f
        .run(ToolCall::RunPackageManager(RunPackageManagerArgs {
            args: vec!["install".to_owned()],
        }))
        .await
        .unwrap_err();

    assert_eq!(error.code, ToolErrorCode::NoPackageManager);
}
