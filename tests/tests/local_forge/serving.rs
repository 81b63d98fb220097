use hero_worker::forge::{Forge, ForgeErrorKind, RepoRef};

use crate::fixture::{Forged, NAME, OWNER, git};

#[tokio::test]
async fn a_repository_is_cloned_and_pushed_over_http_with_its_own_token() {
    let forged = Forged::start().await;
    let work = forged.data_dir.join("work");
    let token = forged.token(OWNER, NAME);

    let cloned = git(
        &forged.data_dir,
        Some(&token),
        &["clone", "-q", &forged.clone_url(OWNER, NAME), "work"],
    )
    .await;
    std::fs::write(work.join("NOTES.md"), "notes\n").unwrap();
    git(&work, None, &["add", "."]).await;
    git(&work, None, &["commit", "-qm", "notes"]).await;
    let pushed = git(
        &work,
        Some(&token),
        &["push", "-q", "origin", "HEAD:refs/heads/notes"],
    )
    .await;

    assert!(
        cloned.status.success(),
        "{}",
        String::from_utf8_lossy(&cloned.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(work.join("README.md")).unwrap(),
        "# widgets\n"
    );
    assert!(
        pushed.status.success(),
        "{}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    let bare = hero_worker::forge::local::BareRepository::at(
        forged.data_dir.join("forge/acme/widgets.git"),
    );
    assert!(bare.commit_of("notes").await.unwrap().is_some());
}

#[tokio::test]
async fn git_without_a_token_or_with_another_repositorys_token_is_refused() {
    let forged = Forged::start().await;
    let url = forged.clone_url(OWNER, NAME);
    let someone_elses = forged.token(OWNER, "gadgets");

    let anonymous = git(&forged.data_dir, None, &["ls-remote", &url]).await;
    let wrong = git(&forged.data_dir, Some(&someone_elses), &["ls-remote", &url]).await;
    let info_refs = forged
        .app
        .client
        .get(format!("{url}/info/refs?service=git-upload-pack"))
        .send()
        .await
        .unwrap();

    assert!(!anonymous.status.success());
    assert!(!wrong.status.success());
    assert_eq!(info_refs.status(), 401);
    assert!(info_refs.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = info_refs.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn an_unknown_or_malformed_repository_is_a_clear_4xx() {
    let forged = Forged::start().await;
    let token = forged.token(OWNER, "nothing");

    let missing = git(
        &forged.data_dir,
        Some(&token),
        &["ls-remote", &forged.clone_url(OWNER, "nothing")],
    )
    .await;
    let malformed = forged
        .app
        .client
        .get(format!(
            "{}/git/acme/..%2F..%2Fetc.git/info/refs",
            forged.app.url
        ))
        .send()
        .await
        .unwrap();
    let no_suffix = forged
        .app
        .client
        .get(format!("{}/git/acme/widgets/info/refs", forged.app.url))
        .send()
        .await
        .unwrap();

    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("not found"),
        "{missing:?}"
    );
    assert!(
        malformed.status().is_client_error(),
        "{}",
        malformed.status()
    );
    assert_eq!(no_suffix.status(), 404);
}

#[tokio::test]
async fn the_forge_describes_its_repositories_and_names_missing_ones() {
    let forged = Forged::start().await;
    let missing = RepoRef {
        name: "gadgets".to_owned(),
        ..forged.repo()
    };

    let info = forged.forge.repository(&forged.repo()).await.unwrap();
    let error = forged.forge.repository(&missing).await.unwrap_err();

    assert_eq!(info.clone_url, forged.clone_url(OWNER, NAME));
    assert_eq!(info.default_branch, "main");
    assert_eq!(error.kind, ForgeErrorKind::NotFound);
    assert!(
        error.message.contains("hero forge create acme/gadgets"),
        "{error}"
    );
}

#[tokio::test]
async fn without_the_local_forge_the_git_routes_say_so() {
    let app = hero_tests::TestApp::spawn().await;

    let response = app
        .client
        .get(format!("{}/git/acme/widgets.git/info/refs", app.url))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "local_forge_disabled");
}
