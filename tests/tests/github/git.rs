//! git over smart HTTP with the token the forge hands out: clone and push
//! work with it, nothing works without it, and it never lands in the
//! clone's configuration. The token travels as an `http.extraHeader` set
//! through `GIT_CONFIG_*` variables, as Hero passes it (NOTES §5).

use hero_tests::git_http::{self, GitHttpServer, fixed_token, git, run};
use hero_worker::forge::Forge;
use secrecy::ExposeSecret;

use crate::support::{Env, OWNER, REPO};

#[tokio::test]
async fn a_minted_token_clones_and_pushes() {
    let env = Env::start().await;
    let info = env.forge.repository(&env.repo()).await.unwrap();
    let token = env.forge.git_token(&env.repo()).await.unwrap().unwrap();
    let work = git_http::tempdir("hero-clone");
    let checkout = work.join("widgets");

    run(git(Some(token.expose_secret()))
        .args(["clone", "--quiet", "--", &info.clone_url])
        .arg(&checkout))
    .await
    .unwrap();
    std::fs::write(checkout.join("CHANGE.md"), "from Hero\n").unwrap();
    run(git(None).current_dir(&checkout).args(["add", "CHANGE.md"]))
        .await
        .unwrap();
    run(git(None)
        .current_dir(&checkout)
        .args(["commit", "--quiet", "-m", "Change from Hero"]))
    .await
    .unwrap();
    let pushed = run(git(Some(token.expose_secret()))
        .current_dir(&checkout)
        .args(["push", "--quiet", "origin", "HEAD:refs/heads/hero/change"]))
    .await;

    pushed.unwrap();
    assert!(checkout.join("README.md").is_file());
    let bare = env.fake.git.repo_path(OWNER, REPO);
    assert!(
        git_http::branch_commit(&bare, "hero/change")
            .await
            .is_some()
    );
    let config = std::fs::read_to_string(checkout.join(".git/config")).unwrap();
    assert!(!config.contains(token.expose_secret()));
    assert!(!config.contains("extraHeader"));
    std::fs::remove_dir_all(work).ok();
    env.assert_no_token_leaked(&[config]);
}

#[tokio::test]
async fn a_pushed_branch_can_be_opened_as_a_pull_request() {
    let env = Env::start().await;
    let info = env.forge.repository(&env.repo()).await.unwrap();
    let token = env.forge.git_token(&env.repo()).await.unwrap().unwrap();
    let work = git_http::tempdir("hero-clone");
    let checkout = work.join("widgets");
    run(git(Some(token.expose_secret()))
        .args(["clone", "--quiet", "--", &info.clone_url])
        .arg(&checkout))
    .await
    .unwrap();
    std::fs::write(checkout.join("NEW.md"), "new\n").unwrap();
    run(git(None).current_dir(&checkout).args(["add", "NEW.md"]))
        .await
        .unwrap();
    run(git(None)
        .current_dir(&checkout)
        .args(["commit", "--quiet", "-m", "New file"]))
    .await
    .unwrap();
    run(git(Some(token.expose_secret()))
        .current_dir(&checkout)
        .args(["push", "--quiet", "origin", "HEAD:refs/heads/hero/new"]))
    .await
    .unwrap();

    let pull = env
        .forge
        .open_pull_request(&env.repo(), &crate::support::spec("hero/new"))
        .await
        .unwrap();

    assert!(pull.created);
    assert_eq!(pull.head, "hero/new");
    std::fs::remove_dir_all(work).ok();
}

#[tokio::test]
async fn git_without_a_token_or_with_a_wrong_one_is_refused() {
    let env = Env::start().await;
    let url = env.fake.git.clone_url(OWNER, REPO);
    let work = git_http::tempdir("hero-clone");

    let anonymous = run(git(None)
        .args(["clone", "--quiet", "--", &url])
        .arg(work.join("a")))
    .await
    .unwrap_err();
    let wrong = run(git(Some("ghs_thisisnotatokenthefakeminted000000"))
        .args(["clone", "--quiet", "--", &url])
        .arg(work.join("b")))
    .await
    .unwrap_err();

    // Refused, git asks for credentials, which nothing answers here.
    for refused in [&anonymous, &wrong] {
        assert!(refused.contains("could not read Username"), "{refused}");
    }
    let answer = reqwest::Client::new()
        .get(format!("{url}/info/refs?service=git-upload-pack"))
        .basic_auth(
            "x-access-token",
            Some("ghs_thisisnotatokenthefakeminted000000"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    assert_eq!(
        answer.headers()["www-authenticate"].to_str().unwrap(),
        "Basic realm=\"git\""
    );
    assert!(!wrong.contains("thisisnotatoken"), "{wrong}");
    std::fs::remove_dir_all(work).ok();
}

#[tokio::test]
async fn a_token_for_another_account_cannot_reach_the_repository_over_git() {
    let env = Env::start().await;
    env.fake
        .add_repo_with("globex", "tools", "main", &[("a.txt", "a")], true)
        .await;
    let token = env.forge.git_token(&env.repo()).await.unwrap().unwrap();
    let work = git_http::tempdir("hero-clone");

    let refused = run(git(Some(token.expose_secret()))
        .args([
            "clone",
            "--quiet",
            "--",
            &env.fake.git.clone_url("globex", "tools"),
        ])
        .arg(work.join("tools")))
    .await;

    assert!(refused.is_err());
    std::fs::remove_dir_all(work).ok();
}

#[tokio::test]
async fn the_git_server_alone_accepts_a_fixed_token() {
    let root = git_http::tempdir("hero-git-root");
    let bare = git_http::bare_repo_path(&root, "solo", "repo");
    git_http::create_bare_repo(&bare, "trunk", &[("hello.txt", "hi\n")]).await;
    let server = GitHttpServer::start(&root, fixed_token("fixed-token-for-tests")).await;
    let work = git_http::tempdir("hero-clone");

    let listed = run(git(Some("fixed-token-for-tests")).args([
        "ls-remote",
        "--",
        &server.clone_url("solo", "repo"),
    ]))
    .await
    .unwrap();
    let refused =
        run(git(Some("other-token")).args(["ls-remote", "--", &server.clone_url("solo", "repo")]))
            .await;

    assert!(listed.contains("refs/heads/trunk"), "{listed}");
    assert!(refused.is_err());
    drop(server);
    std::fs::remove_dir_all(work).ok();
    std::fs::remove_dir_all(root).ok();
}
