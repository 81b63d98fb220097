//! The whole path on real git: hydrate a repository with a lock file from
//! the fake GitHub into a local sandbox under bubblewrap, edit it through
//! the tools, sync it to an agent branch, open a pull request, retry it,
//! and find the token nowhere it should not be.

use std::time::Duration;

use hero_common::domain::NewProject;
use hero_common::redact::Redactor;
use hero_common::store::Stores;
use hero_common::tool_call::{ToolCall, WriteFileArgs};
use hero_tests::TestDb;
use hero_tests::fake_github::{Endpoint, Fault};
use hero_tests::local_sandboxes::TempProvider;
use hero_worker::forge::Forge;
use hero_worker::forge::submit::{SubmitRequest, submit_pull_request};
use hero_worker::git::{Git, HydrateSpec, SyncPolicy, hydrate};
use hero_worker::sandbox::local::IsolationMode;
use hero_worker::sandbox::{CreateSpec, SandboxProvider};
use hero_worker::tools::package_manager::PackageManager;
use hero_worker::tools::{ToolLimits, Toolbox};

use crate::support::{Env, OWNER, PACKAGE_JSON, PACKAGE_LOCK, REPO};

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
async fn a_repository_is_hydrated_changed_synced_and_turned_into_exactly_one_pull_request() {
    let env = Env::start().await;
    env.fake
        .push_branch(
            OWNER,
            REPO,
            "main",
            &[
                ("package.json", PACKAGE_JSON),
                ("package-lock.json", PACKAGE_LOCK),
            ],
        )
        .await;
    let db = TestDb::new().await;
    let stores = Stores::postgres(db.pool.clone());
    let owner = stores.users.get_or_create("owner").await.unwrap().id;
    let project = NewProject {
        name: "widgets".to_owned(),
        repo_owner: OWNER.to_owned(),
        repo_name: REPO.to_owned(),
        github_installation_id: Some(crate::support::INSTALLATION),
        default_branch: "main".to_owned(),
        use_cloud_sandbox: false,
        allow_default_branch_push: false,
        webhook_triggers: Default::default(),
    };
    let project = stores.projects.create(owner, project).await.unwrap();

    // Hydrate: the clone URL as GitHub gives it, the token in a header.
    let local = TempProvider::new(IsolationMode::Required, true).await;
    let spec = CreateSpec {
        timeout: Duration::from_secs(600),
        ..CreateSpec::default()
    };
    let sandbox = local.provider.create(spec).await.unwrap();
    let repo = env.repo();
    let info = env.forge.repository(&repo).await.unwrap();
    let token = env.forge.git_token(&repo).await.unwrap().unwrap();
    let redactor = Redactor::new([("GITHUB_TOKEN".to_owned(), token.clone())]).unwrap();
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
            clone_url: info.clone_url.clone(),
            branch: "main".to_owned(),
            shallow: true,
            known_commit: None,
            install_timeout: Duration::from_secs(300),
        },
    )
    .await
    .unwrap();
    assert_eq!(hydrated.package_manager, Some(PackageManager::Npm));
    assert_eq!(
        hydrated.manifest.test_command.as_deref(),
        Some("npm run test")
    );

    // Change it through the tools.
    let toolbox = Toolbox::new(
        sandbox.clone(),
        root.clone(),
        hydrated.manifest,
        redactor.clone(),
        Vec::new(),
        ToolLimits::default(),
    );
    let write = ToolCall::WriteFile(WriteFileArgs {
        path: "src/widget.js".to_owned(),
        content: "module.exports = 42;\n".to_owned(),
    });
    let written = toolbox.run(write, None).await.unwrap();

    // Sync to an agent branch, then open the pull request twice, the first
    // create answered with a 429.
    let synced = git
        .commit_and_push(&policy(), &toolbox_forbidden(), "Add the widget", "widget")
        .await
        .unwrap();
    env.fake.faults.on(
        Endpoint::CreatePull,
        1,
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
    );
    let request = SubmitRequest {
        title: "Add the widget".to_owned(),
        body: Some("Made by an agent.".to_owned()),
        branch: "widget".to_owned(),
        base: None,
        draft: false,
    };
    let first = submit_pull_request(
        &git,
        &env.forge,
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
        &env.forge,
        &repo,
        &policy(),
        &*stores.pull_requests,
        project.id,
        &request,
    )
    .await
    .unwrap();

    assert_eq!(synced.branch, "hero/widget");
    assert_eq!(synced.files, ["src/widget.js"]);
    assert_eq!(first.number, second.number);
    assert_eq!(first.head, "hero/widget");
    let pulls = env.fake.pulls(OWNER, REPO);
    assert_eq!(
        pulls.len(),
        1,
        "a retried submit opens no second pull request"
    );
    assert_eq!(pulls[0].head, "hero/widget");
    assert_eq!(
        stores.pull_requests.list(project.id).await.unwrap().len(),
        1
    );

    let config =
        String::from_utf8(sandbox.read(&format!("{root}/.git/config")).await.unwrap()).unwrap();
    assert!(
        !config.contains("extraHeader") && !config.contains("Authorization"),
        "{config}"
    );
    env.assert_no_token_leaked(&[
        config,
        format!("{written:?}"),
        format!("{synced:?}"),
        format!("{first:?}"),
        format!("{:?}", hydrated.commit),
    ]);
}

fn toolbox_forbidden() -> hero_worker::tools::manifest::ForbiddenFiles {
    hero_worker::tools::manifest::Manifest::default_for_repository().forbidden
}
