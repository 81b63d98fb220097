//! The manifest in force is the repository's, as committed: an agent that
//! rewrites `hero.json` in its working tree cannot lift its own limits.

use hero_tests::hero_env::{HeroEnv, succeeded};
use serde_json::{Value, json};

const STRICT: &str = r#"{"version": 1, "forbiddenFiles": ["secret.txt"],
    "allowedOperations": ["read", "write", "edit", "git"]}"#;
const PERMISSIVE: &str = r#"{"version": 1, "forbiddenFiles": [],
    "allowedOperations": ["read", "write", "edit", "delete", "terminal", "git"]}"#;

fn refused_with(job: &Value, code: &str) {
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], code, "{job}");
}

#[tokio::test]
async fn rewriting_hero_json_in_the_working_tree_changes_nothing_in_force() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo(
            "acme",
            "strict",
            &[("hero.json", STRICT), ("secret.txt", "hunter2\n")],
        )
        .await;
    succeeded(&env.run(&project, "hydrate", json!({})).await);

    let rewritten = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "write_file", "path": "hero.json", "content": PERMISSIVE}),
        )
        .await;
    succeeded(&rewritten);
    let read = json!({"tool": "read_file", "path": "secret.txt"});
    let shell = json!({"tool": "run_shell", "command": "true"});
    refused_with(
        &env.run(&project, "run_tool", read.clone()).await,
        "tool_forbidden_file",
    );
    refused_with(
        &env.run(&project, "run_tool", shell.clone()).await,
        "tool_operation_not_allowed",
    );

    // Hydrating again at the same commit keeps the working tree, and still
    // takes the committed manifest.
    let again = env.run(&project, "hydrate", json!({})).await;
    assert_eq!(
        succeeded(&again)["manifest"]["forbiddenFiles"],
        json!(["secret.txt"])
    );
    refused_with(
        &env.run(&project, "run_tool", read).await,
        "tool_forbidden_file",
    );
    refused_with(
        &env.run(&project, "run_tool", shell).await,
        "tool_operation_not_allowed",
    );
}

#[tokio::test]
async fn a_sandbox_hydrated_before_manifests_were_kept_gets_its_committed_one_without_losing_work()
{
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo(
            "acme",
            "legacy",
            &[("hero.json", STRICT), ("secret.txt", "hunter2\n")],
        )
        .await;
    succeeded(&env.run(&project, "hydrate", json!({})).await);
    let draft = json!({"tool": "write_file", "path": "draft.txt", "content": "unsaved work\n"});
    succeeded(&env.run(&project, "run_tool", draft).await);
    // Committed locally only: a fresh hydrate would reset it away.
    for args in [json!(["add", "draft.txt"]), json!(["commit", "-m", "wip"])] {
        let git = json!({"tool": "run_git", "args": args});
        succeeded(&env.run(&project, "run_tool", git).await);
    }
    sqlx::query("UPDATE sandboxes SET manifest = NULL")
        .execute(&env.app.db.pool)
        .await
        .unwrap();

    let read = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "read_file", "path": "draft.txt"}),
        )
        .await;

    assert_eq!(succeeded(&read)["content"], "unsaved work\n");
    refused_with(
        &env.run(
            &project,
            "run_tool",
            json!({"tool": "read_file", "path": "secret.txt"}),
        )
        .await,
        "tool_forbidden_file",
    );
    let kept: Option<String> =
        sqlx::query_scalar("SELECT manifest FROM sandboxes WHERE state = 'ready'")
            .fetch_one(&env.app.db.pool)
            .await
            .unwrap();
    assert!(kept.unwrap().contains("secret.txt"));
}
