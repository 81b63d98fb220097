//! Rate limits and server errors: retried a bounded number of times,
//! honouring `Retry-After` and `Should-Retry`, then reported as transient.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use hero_tests::fake_e2b::{Rejection, Scope};
use hero_worker::sandbox::{ExecRequest, SandboxErrorKind, SandboxProvider, exec_collect};

use crate::support::{Env, within};

#[tokio::test]
async fn a_rate_limited_request_is_retried_after_retry_after_and_succeeds() {
    let env = Env::start().await;
    env.fake
        .faults
        .reject_next(2, Rejection::too_many_requests(Some(1)));

    let listed = env.provider.list(&BTreeMap::new()).await;

    assert!(listed.is_ok(), "{listed:?}");
    assert_eq!(env.fake.faults.rejected(), 2);
}

#[tokio::test]
async fn rate_limiting_beyond_the_retry_bound_is_transient() {
    let env = Env::start_with(|config| config.max_retries = 3).await;
    env.fake
        .faults
        .reject_next(100, Rejection::too_many_requests(Some(0)));

    let error = env
        .provider
        .create(crate::support::spec())
        .await
        .err()
        .unwrap();

    assert_eq!(error.kind, SandboxErrorKind::Transient, "{error}");
    assert!(error.message.contains("429"), "{error}");
    assert_eq!(
        env.fake.faults.rejected(),
        4,
        "one attempt and three retries"
    );
}

#[tokio::test]
async fn should_retry_false_is_obeyed_at_once() {
    let env = Env::start().await;
    env.fake
        .faults
        .reject_next(5, Rejection::too_many_requests(Some(0)).should_retry(false));

    let error = env.provider.health().await.unwrap_err();

    assert_eq!(error.kind, SandboxErrorKind::Transient, "{error}");
    assert_eq!(env.fake.faults.rejected(), 1);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_fails_without_waiting_it_out() {
    let env = Env::start_with(|config| config.max_retry_wait = Duration::from_secs(5)).await;
    env.fake
        .faults
        .reject_next(5, Rejection::too_many_requests(Some(3600)));

    let error = within("a request told to wait an hour", env.provider.health())
        .await
        .unwrap_err();

    assert_eq!(error.kind, SandboxErrorKind::Transient, "{error}");
    assert_eq!(env.fake.faults.rejected(), 1);
}

#[tokio::test]
async fn server_errors_from_envd_are_retried() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    sandbox.write("/home/user/a.txt", b"kept").await.unwrap();
    env.fake.faults.reject_next(
        2,
        Rejection::server_error(StatusCode::SERVICE_UNAVAILABLE).only(Scope::Envd),
    );

    let read = sandbox.read("/home/user/a.txt").await.unwrap();

    assert_eq!(read, b"kept");
    assert_eq!(env.fake.faults.rejected(), 2);
}

#[tokio::test]
async fn a_rate_limited_command_start_is_retried_and_runs_once() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    env.fake
        .faults
        .reject_next(1, Rejection::too_many_requests(Some(0)).only(Scope::Envd));

    let (exit, _) = exec_collect(&*sandbox, ExecRequest::new("echo run >> /home/user/runs"))
        .await
        .unwrap();

    assert_eq!(exit.exit_code, Some(0));
    assert_eq!(sandbox.read("/home/user/runs").await.unwrap(), b"run\n");
    assert_eq!(env.fake.faults.rejected(), 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let env = Env::start().await;
    env.fake.faults.reject_next(
        5,
        Rejection::server_error(StatusCode::BAD_REQUEST).only(Scope::ControlPlane),
    );

    let error = env.provider.health().await.unwrap_err();

    assert_eq!(error.kind, SandboxErrorKind::Refused, "{error}");
    assert_eq!(env.fake.faults.rejected(), 1);
}

#[tokio::test]
async fn a_create_whose_answer_was_lost_is_retried_without_a_second_sandbox() {
    let env = Env::start().await;
    let tag = uuid::Uuid::new_v4().to_string();
    let labelled = hero_worker::sandbox::CreateSpec {
        metadata: BTreeMap::from([("suite".to_owned(), tag.clone())]),
        ..crate::support::spec()
    };
    env.fake.faults.reject_next(
        1,
        Rejection::server_error(StatusCode::GATEWAY_TIMEOUT)
            .after_handling()
            .only(Scope::ControlPlane),
    );

    let created = env.provider.create(labelled).await.unwrap();

    let listed = env
        .provider
        .list(&BTreeMap::from([("suite".to_owned(), tag)]))
        .await
        .unwrap();
    assert_eq!(env.fake.faults.rejected(), 1);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].id, created.id());
}
