use std::time::Duration;

use hero_common::domain::NewProject;
use hero_common::redact::Redactor;
use hero_common::tool_call::{ToolCall, WriteFileArgs};
use hero_tests::local_sandboxes::TempProvider;
use hero_worker::forge::submit::{SubmitRequest, submit_pull_request};
use hero_worker::forge::{Forge, ForgeErrorKind, PullRequestSpec};
use hero_worker::git::{Git, HydrateSpec, SyncPolicy, hydrate};
use hero_worker::sandbox::local::IsolationMode;
use hero_worker::sandbox::{CreateSpec, SandboxProvider};
use hero_worker::tools::manifest::Manifest;
use hero_worker::tools::{ToolLimits, Toolbox};
use reqwest::Method;
use secrecy::ExposeSecret;

use crate::fixture::{Forged, NAME, OWNER};

fn policy() -> SyncPolicy {
    SyncPolicy {
        branch_prefix: "hero/".to_owned(),
        default_branch: "main".to_owned(),
        allow_default_branch: false,
        author_name: "Hero Agent".to_owned(),
        author_email: "agent@hero.example".to_owned(),
    }
}

#[tokio::test]
async fn a_local_repository_is_hydrated_changed_synced_and_turned_into_exactly_one_pull_request() {
    let forged = Forged::start().await;
    let project = forged
        .app
        .stores
        .projects
        .create(
            forged.app.user.id,
            NewProject {
                name: "widgets".to_owned(),
                repo_owner: OWNER.to_owned(),
                repo_name: NAME.to_owned(),
                github_installation_id: None,
                default_branch: "main".to_owned(),
                use_cloud_sandbox: false,
                allow_default_branch_push: false,
                webhook_triggers: Default::default(),
            },
        )
        .await
        .unwrap();
    let local = TempProvider::new(IsolationMode::Required, true).await;
    let sandbox = local
        .provider
        .create(CreateSpec {
            timeout: Duration::from_secs(600),
            ..CreateSpec::default()
        })
        .await
        .unwrap();
    let repo = forged.repo();
    let info = forged.forge.repository(&repo).await.unwrap();
    let token = forged.forge.git_token(&repo).await.unwrap().unwrap();
    let redactor = Redactor::new([("FORGE_TOKEN".to_owned(), token.clone())]).unwrap();
    let root = format!("{}/repo", sandbox.workdir());
    let git = Git::new(
        sandbox.clone(),
        root.clone(),
        Some(&token),
        redactor.clone(),
    )
    .with_origin(info.clone_url.clone());

    let hydrated = hydrate(
        &git,
        &HydrateSpec {
            clone_url: info.clone_url,
            branch: info.default_branch,
            shallow: true,
            known_commit: None,
            install_timeout: Duration::from_secs(60),
        },
    )
    .await
    .unwrap();
    let toolbox = Toolbox::new(
        sandbox.clone(),
        root.clone(),
        hydrated.manifest,
        redactor,
        Vec::new(),
        ToolLimits::default(),
    );
    let call = ToolCall::WriteFile(WriteFileArgs {
        path: "src/widget.txt".to_owned(),
        content: "a widget\n".to_owned(),
    });
    toolbox.run(call, None).await.unwrap();
    let forbidden = Manifest::default_for_repository().forbidden;
    let synced = git
        .commit_and_push(&policy(), &forbidden, "Add a widget", "widget")
        .await
        .unwrap();
    let request = SubmitRequest {
        title: "Add a widget".to_owned(),
        body: None,
        branch: "widget".to_owned(),
        base: None,
        draft: false,
    };
    let stores = &forged.app.stores;
    let first = submit_pull_request(
        &git,
        &forged.forge,
        &repo,
        &policy(),
        &*stores.pull_requests,
        project.id,
        &request,
    )
    .await
    .unwrap();
    let second = submit_pull_request(
        &git,
        &forged.forge,
        &repo,
        &policy(),
        &*stores.pull_requests,
        project.id,
        &request,
    )
    .await
    .unwrap();

    assert_eq!(synced.branch, "hero/widget");
    assert_eq!(first.number, 1);
    assert_eq!(
        second.number, first.number,
        "a retry opens no second pull request"
    );
    assert_eq!(first.forge, "local");
    assert_eq!(
        stores.pull_requests.list(project.id).await.unwrap().len(),
        1
    );
    let viewed = forged
        .app
        .request(Method::GET, &format!("/git/{OWNER}/{NAME}/pull/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(viewed.status(), 200);
    assert_eq!(
        first.url,
        format!("{}/git/{OWNER}/{NAME}/pull/1", forged.app.url)
    );
    let viewed: serde_json::Value = viewed.json().await.unwrap();
    assert_eq!(viewed["head"], "hero/widget");
    assert_eq!(viewed["base"], "main");
    assert_eq!(viewed["state"], "open");
    let config =
        String::from_utf8(sandbox.read(&format!("{root}/.git/config")).await.unwrap()).unwrap();
    assert!(!config.contains(token.expose_secret()), "{config}");
    assert!(!config.contains("Authorization"), "{config}");
    let logs = hero_tests::logs::capture().text();
    assert!(
        !logs.contains(token.expose_secret()),
        "the forge token leaked into the logs"
    );
}

#[tokio::test]
async fn a_pull_request_needs_both_branches_and_commits_between_them() {
    let forged = Forged::start().await;
    let spec = |head: &str| PullRequestSpec {
        title: "t".to_owned(),
        body: None,
        head: head.to_owned(),
        base: "main".to_owned(),
        draft: false,
    };

    let missing = forged
        .forge
        .open_pull_request(&forged.repo(), &spec("hero/nothing"))
        .await
        .unwrap_err();
    let empty = forged
        .forge
        .open_pull_request(&forged.repo(), &spec("main"))
        .await
        .unwrap_err();

    assert_eq!(missing.kind, ForgeErrorKind::Invalid);
    assert!(missing.message.contains("hero/nothing"), "{missing}");
    assert_eq!(empty.kind, ForgeErrorKind::Invalid);
    assert!(empty.message.contains("no commits"), "{empty}");
}

#[tokio::test]
async fn someone_elses_local_pull_request_is_not_found() {
    let forged = Forged::start().await;
    let (_, stranger) = forged.app.other_user("mallory").await;

    let viewed = forged
        .app
        .request_as(
            &stranger,
            Method::GET,
            &format!("/git/{OWNER}/{NAME}/pull/1"),
        )
        .send()
        .await
        .unwrap();

    assert_eq!(viewed.status(), 404);
}
