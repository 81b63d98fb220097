//! Reading a repository: where to clone it from and its default branch,
//! with each kind of credentials, and the failures GitHub answers with.

use hero_tests::fake_github::Endpoint;
use hero_worker::forge::{Access, Forge, ForgeErrorKind, RepoInfo, RepoRef};

use crate::support::{Env, INSTALLATION, OWNER, REPO, repo_ref, secret, text};

#[tokio::test]
async fn repository_info_comes_from_github_with_an_installation_token() {
    let env = Env::start().await;

    let info = env.forge.repository(&env.repo()).await.unwrap();

    assert_eq!(
        info,
        RepoInfo {
            clone_url: env.fake.git.clone_url(OWNER, REPO),
            default_branch: "main".to_owned(),
        }
    );
    assert_eq!(env.fake.counts().installation_tokens, 1);
    env.assert_no_token_leaked(&[format!("{info:?}")]);
}

#[tokio::test]
async fn a_default_branch_other_than_main_is_reported() {
    let env = Env::start().await;
    env.fake
        .add_repo_with(OWNER, "legacy", "master", &[("a.txt", "a")], true)
        .await;
    let repo = RepoRef {
        name: "legacy".to_owned(),
        ..env.repo()
    };

    let info = env.forge.repository(&repo).await.unwrap();

    assert_eq!(info.default_branch, "master");
    assert!(info.clone_url.ends_with("/acme/legacy.git"));
}

#[tokio::test]
async fn a_personal_token_and_no_token_both_read_a_public_repository() {
    let env = Env::start().await;
    let token = env.fake.add_personal_token("octocat");

    let with_token = env
        .forge
        .repository(&repo_ref(Access::Token(secret(&token))))
        .await
        .unwrap();
    let anonymous = env
        .forge
        .repository(&repo_ref(Access::Anonymous))
        .await
        .unwrap();

    assert_eq!(with_token, anonymous);
    assert_eq!(env.fake.counts().installation_tokens, 0);
    let gets = env.fake.requests_to(Endpoint::GetRepository);
    assert_eq!(gets.len(), 2);
}

#[tokio::test]
async fn a_private_repository_is_not_found_without_access() {
    let env = Env::start().await;
    env.fake
        .add_repo_with("other", "secret", "main", &[("a.txt", "a")], true)
        .await;
    let through_the_wrong_installation = RepoRef {
        owner: "other".to_owned(),
        name: "secret".to_owned(),
        access: Access::Installation {
            installation_id: INSTALLATION,
        },
    };
    let anonymously = RepoRef {
        access: Access::Anonymous,
        ..through_the_wrong_installation.clone()
    };

    let installation_error = env
        .forge
        .repository(&through_the_wrong_installation)
        .await
        .unwrap_err();
    let anonymous_error = env.forge.repository(&anonymously).await.unwrap_err();

    assert_eq!(installation_error.kind, ForgeErrorKind::NotFound);
    assert_eq!(anonymous_error.kind, ForgeErrorKind::NotFound);
    // A 404 is an answer, not a passing failure: asked once each.
    assert_eq!(env.fake.requests_to(Endpoint::GetRepository).len(), 2);
    env.assert_no_token_leaked(&[text(&installation_error), text(&anonymous_error)]);
}

#[tokio::test]
async fn a_token_github_does_not_know_is_unauthorized() {
    let env = Env::start().await;

    let error = env
        .forge
        .repository(&repo_ref(Access::Token(secret(
            "ghp_notatokenthefakeeverissued0000000",
        ))))
        .await
        .unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Unauthorized);
    assert!(error.message.contains("401"), "{error}");
    assert!(!error.message.contains("ghp_notatoken"), "{error}");
}

#[tokio::test]
async fn owner_and_name_are_checked_before_any_request() {
    let env = Env::start().await;
    let hostile = RepoRef {
        name: "widgets/../../user".to_owned(),
        ..env.repo()
    };

    let error = env.forge.repository(&hostile).await.unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Invalid);
    assert!(env.fake.requests().is_empty());
}
