//! Hero's own retries: after the wait GitHub names (`Retry-After`, then the
//! rate limit's reset), else after a backoff; a bounded number of times;
//! and never a blind second POST, as octocrab's own retry would send.

use std::time::{Duration, Instant};

use hero_tests::fake_github::{Endpoint, Fault};
use hero_worker::forge::{Forge, ForgeErrorKind};

use crate::support::{Env, OWNER, REPO, spec, text};

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let env = Env::start().await;
    env.fake.faults.on(
        Endpoint::GetRepository,
        1,
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
    );
    let started = Instant::now();

    let info = env.forge.repository(&env.repo()).await.unwrap();

    assert_eq!(info.default_branch, "main");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    let gets = env.fake.requests_to(Endpoint::GetRepository);
    assert_eq!(
        gets.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
}

#[tokio::test]
async fn a_secondary_rate_limit_with_retry_after_is_waited_out() {
    let env = Env::start().await;
    env.push_feature("hero/feature").await;
    env.fake.faults.on(
        Endpoint::CreatePull,
        1,
        Fault::SecondaryRateLimit {
            retry_after: Some(1),
            reset_in: 0,
        },
    );
    let started = Instant::now();

    let pull = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();

    assert!(pull.created);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(env.fake.pulls(OWNER, REPO).len(), 1);
}

#[tokio::test]
async fn a_secondary_rate_limit_without_retry_after_waits_for_the_reset() {
    let env = Env::start().await;
    env.fake.faults.on(
        Endpoint::GetRepository,
        1,
        Fault::SecondaryRateLimit {
            retry_after: None,
            reset_in: 1,
        },
    );
    let started = Instant::now();

    env.forge.repository(&env.repo()).await.unwrap();

    // The reset is a whole second ahead, and Hero adds one for rounding.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(env.fake.requests_to(Endpoint::GetRepository).len(), 2);
}

#[tokio::test]
async fn a_rate_limit_reset_beyond_the_cap_fails_at_once_naming_the_wait() {
    let env = Env::start().await;
    env.fake.faults.on(
        Endpoint::GetRepository,
        1,
        Fault::PrimaryRateLimit { reset_in: 1800 },
    );

    let error = env.forge.repository(&env.repo()).await.unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Transient);
    let wait = error.retry_after.unwrap();
    assert!(
        wait > Duration::from_secs(1700) && wait <= Duration::from_secs(1802),
        "{wait:?}"
    );
    assert_eq!(env.fake.requests_to(Endpoint::GetRepository).len(), 1);
    env.assert_no_token_leaked(&[text(&error)]);
}

#[tokio::test]
async fn a_500_on_create_is_retried_from_the_lookup_never_by_a_second_blind_post() {
    let env = Env::start().await;
    env.push_feature("hero/feature").await;
    env.fake
        .faults
        .on(Endpoint::CreatePull, 1, Fault::ServerError(500));

    let pull = env
        .forge
        .open_pull_request(&env.repo(), &spec("hero/feature"))
        .await
        .unwrap();

    assert!(pull.created);
    let pulls_traffic: Vec<(Endpoint, u16)> = env
        .fake
        .requests()
        .into_iter()
        .filter(|r| matches!(r.endpoint, Endpoint::ListPulls | Endpoint::CreatePull))
        .map(|r| (r.endpoint, r.status))
        .collect();
    assert_eq!(
        pulls_traffic,
        vec![
            (Endpoint::ListPulls, 200),
            (Endpoint::CreatePull, 500),
            (Endpoint::ListPulls, 200),
            (Endpoint::CreatePull, 201),
        ]
    );
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times_then_reported_as_transient() {
    let env = Env::start().await;
    env.forge.repository(&env.repo()).await.unwrap();
    env.fake
        .faults
        .on(Endpoint::GetRepository, 100, Fault::ServerError(502));
    let before = env.fake.requests_to(Endpoint::GetRepository).len();

    let error = env.forge.repository(&env.repo()).await.unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Transient);
    assert!(error.message.contains("502"), "{error}");
    let tries = env.fake.requests_to(Endpoint::GetRepository).len() - before;
    assert_eq!(tries, 4, "the forge's configured max_attempts");
    env.assert_no_token_leaked(&[text(&error)]);
}

#[tokio::test]
async fn a_403_that_is_not_a_rate_limit_is_refused_without_retrying() {
    let env = Env::start().await;
    env.fake
        .faults
        .on(Endpoint::GetRepository, 1, Fault::Forbidden);

    let error = env.forge.repository(&env.repo()).await.unwrap_err();

    assert_eq!(error.kind, ForgeErrorKind::Unauthorized);
    assert!(error.message.contains("not accessible"), "{error}");
    assert_eq!(env.fake.requests_to(Endpoint::GetRepository).len(), 1);
}
