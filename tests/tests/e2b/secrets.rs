//! No API key, access token or command secret in an error message or log.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::StatusCode;
use hero_tests::fake_e2b::Rejection;
use hero_tests::logs;
use hero_worker::sandbox::e2b::E2bProvider;
use hero_worker::sandbox::{ExecRequest, SandboxError, SandboxProvider, exec_collect};
use secrecy::{ExposeSecret, SecretString};

use crate::support::{Env, spec};

#[track_caller]
fn assert_free_of(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "a secret leaked into: {text}");
    }
}

#[tokio::test]
async fn no_key_token_or_command_secret_appears_in_errors_or_logs() {
    let captured = logs::capture();
    let env = Env::start_with(|config| config.stream_idle_timeout = Duration::from_secs(3)).await;
    let api_key = env.config.api_key.expose_secret().to_owned();
    let command_secret = format!("hunter2-{}", uuid::Uuid::new_v4().simple());
    let mut errors: Vec<SandboxError> = Vec::new();

    // Errors from the control plane: a wrong key, a rate limit, a 5xx.
    let mut wrong = env.config.clone();
    let wrong_key = format!("e2b_wrong_{}", uuid::Uuid::new_v4().simple());
    wrong.api_key = SecretString::from(wrong_key.clone());
    errors.push(E2bProvider::new(wrong).unwrap().health().await.unwrap_err());
    env.fake
        .faults
        .reject_next(10, Rejection::too_many_requests(Some(0)));
    errors.push(env.provider.list(&BTreeMap::new()).await.unwrap_err());
    env.fake
        .faults
        .reject_next(10, Rejection::server_error(StatusCode::BAD_GATEWAY));
    errors.push(env.provider.create(spec()).await.err().unwrap());
    env.fake
        .faults
        .reject_next(0, Rejection::too_many_requests(None));

    // Errors from envd, with a secret in the command's environment.
    let sandbox = env.sandbox().await;
    let token = env.fake.access_token(sandbox.id()).unwrap();
    let mut request = ExecRequest::new("echo started; sleep 30");
    request.env = vec![(
        "PASSWORD".to_owned(),
        SecretString::from(command_secret.clone()),
    )];
    env.fake.faults.stall_next_stream();
    errors.push(exec_collect(&*sandbox, request).await.unwrap_err());
    errors.push(sandbox.read("/home/user/missing").await.unwrap_err());
    env.fake.faults.hand_out_wrong_tokens(true);
    let mistrusted = env.provider.connect(sandbox.id()).await.unwrap();
    errors.push(mistrusted.list("/home/user").await.unwrap_err());
    env.provider.kill(sandbox.id()).await.unwrap();
    errors.push(sandbox.stat("/home/user").await.unwrap_err());

    let secrets = [
        api_key.as_str(),
        wrong_key.as_str(),
        token.as_str(),
        command_secret.as_str(),
    ];
    for error in &errors {
        assert_free_of(&error.to_string(), &secrets);
        assert_free_of(&format!("{error:?}"), &secrets);
    }
    assert_free_of(&captured.text(), &secrets);
}
