use hero_tests::hero_env::{HeroEnv, succeeded};
use hero_tests::traces::Traces;
use reqwest::Method;
use serde_json::{Value, json};

const PACKAGE_JSON: &str =
    r#"{"name": "shop", "version": "1.0.0", "scripts": {"test": "node -e 0"}}"#;

#[tokio::test]
async fn an_agent_session_hydrates_edits_runs_syncs_and_opens_one_pull_request() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo(
            "acme",
            "shop",
            &[("README.md", "# shop\n"), ("package.json", PACKAGE_JSON)],
        )
        .await;

    let hydrated = env.run(&project, "hydrate", json!({})).await;
    let written = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "write_file", "path": "src/cart.js", "content": "module.exports = [];\n"}),
        )
        .await;
    let edited = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "edit_file", "path": "README.md", "edits": [{"find": "# shop", "replace": "# shop, with a cart"}]}),
        )
        .await;
    let shell = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "run_shell", "command": "cat README.md src/cart.js"}),
        )
        .await;
    let status = env.run(&project, "sync", json!({"action": "status"})).await;
    let pushed = env
        .run(
            &project,
            "sync",
            json!({"action": "commit_and_push", "message": "Add a cart", "branch": "cart"}),
        )
        .await;
    let submitted = env
        .run(
            &project,
            "submit_pr",
            json!({"title": "Add a cart", "branch": "cart"}),
        )
        .await;
    let again = env
        .run(
            &project,
            "submit_pr",
            json!({"title": "Add a cart", "branch": "cart"}),
        )
        .await;

    let hydrated = succeeded(&hydrated);
    assert_eq!(hydrated["branch"], "main");
    assert_eq!(hydrated["manifest_source"], "generated");
    assert_eq!(hydrated["manifest"]["testCommand"], "npm run test");
    succeeded(&written);
    succeeded(&edited);
    let shell = succeeded(&shell);
    assert_eq!(shell["exit_code"], 0);
    assert_eq!(
        shell["stdout"],
        "# shop, with a cart\nmodule.exports = [];\n"
    );
    let status = succeeded(&status);
    assert_eq!(status["branch"], "main");
    assert!(
        status["untracked"].to_string().contains("src/cart.js"),
        "{status}"
    );
    let pushed = succeeded(&pushed);
    assert_eq!(pushed["branch"], "hero/cart");
    let submitted = succeeded(&submitted);
    assert_eq!(submitted["number"], 1);
    assert_eq!(
        succeeded(&again)["number"],
        1,
        "a second submit opens no second pull request"
    );
    let pulls: Value = env
        .app
        .request(
            Method::GET,
            &format!("/v1/projects/{project}/pull_requests"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        pulls["pull_requests"].as_array().map(Vec::len),
        Some(1),
        "{pulls}"
    );
    Traces::of(&env)
        .await
        .assert_free_of(&[env.local_forge_token("acme", "shop")]);
}

#[tokio::test]
async fn a_tool_call_on_a_project_never_hydrated_hydrates_it_first() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "notes", &[("notes.txt", "remember the milk\n")])
        .await;

    let read = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "read_file", "path": "notes.txt"}),
        )
        .await;

    assert_eq!(succeeded(&read)["content"], "remember the milk\n");
}

#[tokio::test]
async fn secrets_reach_commands_as_environment_and_never_come_back() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "vault", &[("README.md", "x\n")])
        .await;
    let put = env
        .app
        .request(
            Method::PUT,
            &format!("/v1/projects/{project}/secrets/STRIPE_KEY"),
        )
        .json(&json!({"value": "sk_live_0123456789abcdef"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201, "{}", put.text().await.unwrap());

    let shell = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "run_shell", "command": "echo \"key=$STRIPE_KEY\"; echo \"$STRIPE_KEY\" >&2; test -n \"$STRIPE_KEY\""}),
        )
        .await;
    let failing = env
        .run(
            &project,
            "run_tool",
            json!({"tool": "read_file", "path": "sk_live_0123456789abcdef"}),
        )
        .await;

    let shell = succeeded(&shell);
    assert_eq!(shell["exit_code"], 0, "the secret was in the environment");
    assert_eq!(shell["stdout"], "key=[redacted:STRIPE_KEY]\n");
    assert_eq!(shell["stderr"], "[redacted:STRIPE_KEY]\n");
    assert_eq!(failing["status"], "failed");
    // The failing call's own params name the secret; what Hero says back
    // about it must not.
    let error = &failing["error"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("[redacted:STRIPE_KEY]"),
        "{error}"
    );
    let everything = format!("{shell}{error}{}", hero_tests::logs::capture().text());
    assert!(
        !everything.contains("sk_live_0123456789abcdef"),
        "the secret leaked"
    );
}

#[tokio::test]
async fn a_permanent_failure_fails_at_once_with_a_clear_error() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "empty", &[("README.md", "x\n")])
        .await;

    let pushed = env
        .run(
            &project,
            "sync",
            json!({"action": "commit_and_push", "message": "m", "branch": "main"}),
        )
        .await;

    assert_eq!(pushed["status"], "failed");
    assert_eq!(pushed["attempt"], 1, "refusals are not retried");
    assert_eq!(pushed["error"]["transient"], false);
    assert!(
        pushed["error"]["message"]
            .as_str()
            .unwrap()
            .contains("default branch"),
        "{pushed}"
    );
}

#[tokio::test]
async fn a_project_that_allows_it_can_push_to_its_default_branch() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "trunk", &[("README.md", "x\n")])
        .await;
    let allowed = env
        .app
        .request(Method::PATCH, &format!("/v1/projects/{project}"))
        .json(&json!({"allow_default_branch_push": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    succeeded(
        &env.run(
            &project,
            "run_tool",
            json!({"tool": "write_file", "path": "b.txt", "content": "b\n"}),
        )
        .await,
    );

    let pushed = env
        .run(
            &project,
            "sync",
            json!({"action": "commit_and_push", "message": "On trunk", "branch": "main"}),
        )
        .await;

    assert_eq!(succeeded(&pushed)["branch"], "main");
}

#[tokio::test]
async fn closing_a_projects_sandbox_is_done_by_the_cron_and_the_next_job_gets_a_new_one() {
    let env = HeroEnv::start(&[]).await;
    let project = env
        .project_with_repo("acme", "close", &[("README.md", "x\n")])
        .await;
    succeeded(
        &env.run(
            &project,
            "run_tool",
            json!({"tool": "write_file", "path": "scratch.txt", "content": "s"}),
        )
        .await,
    );
    let sandbox: Value = env.get(&format!("/v1/projects/{project}/sandbox")).await;

    let asked = env
        .app
        .request(Method::DELETE, &format!("/v1/projects/{project}/sandbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    let mut closed = false;
    for _ in 0..100 {
        let now = env
            .app
            .request(Method::GET, &format!("/v1/projects/{project}/sandbox"))
            .send()
            .await
            .unwrap();
        if now.status() == 404 {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let listing = env
        .run(&project, "run_tool", json!({"tool": "list_files"}))
        .await;
    let again: Value = env.get(&format!("/v1/projects/{project}/sandbox")).await;

    assert!(closed, "the cron closed the sandbox");
    let listing = succeeded(&listing).to_string();
    assert!(
        listing.contains("README.md") && !listing.contains("scratch.txt"),
        "{listing}"
    );
    assert_ne!(again["id"], sandbox["id"], "a new sandbox, hydrated afresh");
}
