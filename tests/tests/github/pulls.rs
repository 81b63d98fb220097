//! Opening pull requests: created once, found again on every retry, never
//! opened twice, and GitHub's refusals reported as invalid requests.

use hero_tests::fake_github::{Endpoint, Fault};
use hero_worker::forge::{Forge, ForgeErrorKind, PullRequestSpec};

use crate::support::{Env, OWNER, REPO, spec, text};

#[tokio::test]
async fn a_pull_request_is_opened_from_the_branch_into_the_base() {
    let env = Env::start().await;
    env.push_feature("hero/feature").await;

    let pull = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();

    assert!(pull.created);
    assert_eq!(pull.number, 1);
    assert_eq!(pull.head, "hero/feature");
    assert_eq!(pull.base, "main");
    assert_eq!(pull.url, format!("{}/{OWNER}/{REPO}/pull/1", env.fake.url));
    let pulls = env.fake.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0].title, "Add hero/feature");
    assert_eq!(pulls[0].author, "hero-app[bot]");
    env.assert_no_token_leaked(&[format!("{pull:?}")]);
}

#[tokio::test]
async fn a_draft_is_opened_as_a_draft() {
    let env = Env::start().await;
    env.push_feature("hero/sketch").await;
    let draft = PullRequestSpec {
        draft: true,
        ..spec("hero/sketch")
    };

    let pull = env
        .forge
        .open_pull_request(&env.repo(), &draft)
        .await
        .unwrap();

    assert!(pull.created);
    let pulls = env.fake.pulls(OWNER, REPO);
    assert!(pulls[0].draft, "GitHub was asked for a draft");
}

#[tokio::test]
async fn the_lookup_names_the_head_as_owner_and_branch() {
    let env = Env::start().await;
    env.push_feature("hero/feature").await;

    env.forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();

    let lookups = env.fake.requests_to(Endpoint::ListPulls);
    assert_eq!(lookups.len(), 1);
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(lookups[0].query.as_deref().unwrap()).unwrap();
    assert!(query.contains(&("head".to_owned(), "acme:hero/feature".to_owned())));
    assert!(query.contains(&("state".to_owned(), "open".to_owned())));
    assert!(query.contains(&("base".to_owned(), "main".to_owned())));
}

#[tokio::test]
async fn a_second_call_returns_the_open_pull_request_instead_of_opening_another() {
    let env = Env::start().await;
    env.push_feature("hero/feature").await;
    let first = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();

    let second = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();

    assert!(!second.created);
    assert_eq!(second.number, first.number);
    assert_eq!(env.fake.pulls(OWNER, REPO).len(), 1);
    assert_eq!(env.fake.requests_to(Endpoint::CreatePull).len(), 1);
}

#[tokio::test]
async fn other_open_pull_requests_are_not_mistaken_for_this_one() {
    let env = Env::start().await;
    env.push_feature("hero/one").await;
    env.push_feature("hero/two").await;
    let one = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/one"))
        .await
        .unwrap();

    let two = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/two"))
        .await
        .unwrap();

    assert!(two.created);
    assert_ne!(two.number, one.number);
    assert_eq!(two.head, "hero/two");
}

#[tokio::test]
async fn already_exists_from_github_returns_the_existing_pull_request() {
    let env = Env::start().await;
    env.push_feature("hero/feature").await;
    let first = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();
    // The next lookup misses it, as when another worker opened it between
    // this one's lookup and create (or GitHub's list lags): the create is
    // then answered with GitHub's 422.
    env.fake.faults.on(Endpoint::ListPulls, 1, Fault::StaleList);

    let again = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();

    assert!(!again.created);
    assert_eq!(again.number, first.number);
    assert_eq!(env.fake.pulls(OWNER, REPO).len(), 1);
    let creates = env.fake.requests_to(Endpoint::CreatePull);
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[1].status, 422);
    assert_eq!(env.fake.requests_to(Endpoint::ListPulls).len(), 3);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_by_the_retry() {
    let env = Env::start().await;
    env.push_feature("hero/feature").await;
    env.fake
        .faults
        .on(Endpoint::CreatePull, 1, Fault::LoseResponse);

    let pull = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();

    assert_eq!(env.fake.pulls(OWNER, REPO).len(), 1);
    assert_eq!(pull.number, env.fake.pulls(OWNER, REPO)[0].number);
    assert!(!pull.created, "the retry found it rather than creating it");
    assert_eq!(env.fake.requests_to(Endpoint::CreatePull).len(), 1);
    assert_eq!(env.fake.requests_to(Endpoint::ListPulls).len(), 2);
}

#[tokio::test]
async fn a_create_answered_by_a_gateway_error_is_found_by_the_retry() {
    let env = Env::start().await;
    env.push_feature("hero/feature").await;
    env.fake
        .faults
        .on(Endpoint::CreatePull, 1, Fault::BadGatewayAfterHandling);

    let pull = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();

    let pulls = env.fake.pulls(OWNER, REPO);
    assert_eq!(pulls.len(), 1);
    assert_eq!(pull.number, pulls[0].number);
    assert_eq!(env.fake.requests_to(Endpoint::CreatePull).len(), 1);
}

#[tokio::test]
async fn a_closed_pull_request_from_the_same_head_is_not_reused() {
    let env = Env::start().await;
    env.push_feature("hero/feature").await;
    let first = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();
    env.fake.close_pull(OWNER, REPO, first.number);

    let second = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();

    assert!(second.created);
    assert_ne!(second.number, first.number);
}

#[tokio::test]
async fn no_commits_between_the_branches_is_an_invalid_request() {
    let env = Env::start().await;
    let unchanged = PullRequestSpec {
        head: "main".to_owned(),
        ..spec("main")
    };

    let error = env
        .forge
        .open_pull_request(&env.repo(), &unchanged)
        .await
        .unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Invalid);
    assert!(error.message.contains("No commits between"), "{error}");
    assert_eq!(env.fake.requests_to(Endpoint::CreatePull).len(), 1);
    env.assert_no_token_leaked(&[text(&error)]);
}

#[tokio::test]
async fn a_head_branch_that_was_never_pushed_is_an_invalid_request() {
    let env = Env::start().await;

    let error = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/missing"))
        .await
        .unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Invalid);
    assert!(error.message.contains("head invalid"), "{error}");
    assert!(env.fake.pulls(OWNER, REPO).is_empty());
}

#[tokio::test]
async fn a_branch_name_git_would_refuse_is_refused_before_any_request() {
    let env = Env::start().await;

    let error = env
        .forge
        .open_pull_request(&env.repo(), &spec("--upload-pack=evil"))
        .await
        .unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Invalid);
    assert!(env.fake.requests().is_empty());
}
