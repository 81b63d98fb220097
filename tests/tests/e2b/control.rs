//! The control plane: create, get, connect, list, timeouts and kill.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use hero_worker::sandbox::e2b::{E2bProvider, SandboxState};
use hero_worker::sandbox::{
    CreateSpec, ExecRequest, SandboxErrorKind, SandboxProvider, exec_collect,
};
use secrecy::SecretString;

use crate::support::{Env, eventually, spec};

#[tokio::test]
async fn a_created_sandbox_gets_its_env_metadata_and_timeout() {
    let env = Env::start().await;
    let tag = uuid::Uuid::new_v4().to_string();
    let requested = CreateSpec {
        env: BTreeMap::from([("GREETING".to_owned(), "hello from create".to_owned())]),
        metadata: BTreeMap::from([("suite".to_owned(), tag.clone())]),
        timeout: Duration::from_secs(3600),
        template: None,
    };

    let sandbox = env.provider.create(requested).await.unwrap();

    let (exit, output) = exec_collect(&*sandbox, ExecRequest::new("echo \"$GREETING\""))
        .await
        .unwrap();
    assert_eq!(exit.exit_code, Some(0));
    assert_eq!(output.stdout, b"hello from create\n");
    let listed = env
        .provider
        .list(&BTreeMap::from([("suite".to_owned(), tag)]))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, sandbox.id());
    assert!(listed[0].end_at > Utc::now() + chrono::Duration::minutes(30));
    assert_eq!(sandbox.workdir(), "/home/user");
}

#[tokio::test]
async fn get_describes_a_sandbox_as_it_was_created() {
    let env = Env::start().await;
    let metadata = BTreeMap::from([("suite".to_owned(), "get".to_owned())]);
    let requested = CreateSpec {
        metadata: metadata.clone(),
        timeout: Duration::from_secs(3600),
        ..spec()
    };
    let sandbox = env.provider.create(requested).await.unwrap();

    let detail = env.provider.get(sandbox.id()).await.unwrap();

    assert_eq!(detail.sandbox_id, sandbox.id());
    assert_eq!(detail.template_id, "base");
    assert_eq!(detail.state, SandboxState::Running);
    assert_eq!(detail.metadata, Some(metadata));
    assert!(detail.started_at <= Utc::now(), "{detail:?}");
    assert!(
        detail.end_at > Utc::now() + chrono::Duration::minutes(30),
        "{detail:?}"
    );
    assert!(
        detail.cpu_count >= 1 && detail.memory_mb >= 128,
        "{detail:?}"
    );
}

#[tokio::test]
async fn get_of_a_killed_or_unknown_sandbox_is_not_found() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    assert!(env.provider.kill(sandbox.id()).await.unwrap());

    let killed = env.provider.get(sandbox.id()).await.unwrap_err();
    let unknown = env.provider.get("aaaaaaaaaaaaaaaaaaaa").await.unwrap_err();

    assert_eq!(killed.kind, SandboxErrorKind::NotFound, "{killed}");
    assert_eq!(unknown.kind, SandboxErrorKind::NotFound, "{unknown}");
}

#[tokio::test]
async fn connecting_never_shortens_a_sandboxs_timeout() {
    let env = Env::start_with(|config| config.connect_timeout = Duration::from_secs(5)).await;
    let tag = uuid::Uuid::new_v4().to_string();
    let long_lived = CreateSpec {
        metadata: BTreeMap::from([("suite".to_owned(), tag.clone())]),
        timeout: Duration::from_secs(3600),
        ..spec()
    };
    let created = env.provider.create(long_lived).await.unwrap();
    let filter = BTreeMap::from([("suite".to_owned(), tag)]);
    let before = env.provider.list(&filter).await.unwrap()[0].end_at;

    let connected = env.provider.connect(created.id()).await.unwrap();

    let after = env.provider.list(&filter).await.unwrap()[0].end_at;
    assert!(
        after >= before,
        "connect moved the deadline from {before} to {after}"
    );
    connected.health().await.unwrap();
}

#[tokio::test]
async fn connecting_to_an_unknown_sandbox_is_not_found() {
    let env = Env::start().await;

    let error = env
        .provider
        .connect("aaaaaaaaaaaaaaaaaaaa")
        .await
        .err()
        .unwrap();

    assert_eq!(error.kind, SandboxErrorKind::NotFound, "{error}");
}

#[tokio::test]
async fn an_expired_sandbox_is_gone_for_every_operation() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    let id = sandbox.id().to_owned();

    env.provider
        .set_timeout(&id, Duration::from_secs(1))
        .await
        .unwrap();
    eventually("the sandbox expires", || async {
        sandbox.health().await.is_err()
    })
    .await;

    let health = sandbox.health().await.unwrap_err();
    assert_eq!(health.kind, SandboxErrorKind::Gone, "{health}");
    let exec = exec_collect(&*sandbox, ExecRequest::new("true"))
        .await
        .unwrap_err();
    assert_eq!(exec.kind, SandboxErrorKind::Gone, "{exec}");
    let read = sandbox.read("/home/user/x").await.unwrap_err();
    assert_eq!(read.kind, SandboxErrorKind::Gone, "{read}");
    let list = sandbox.list("/home/user").await.unwrap_err();
    assert_eq!(list.kind, SandboxErrorKind::Gone, "{list}");
    assert!(!env.provider.kill(&id).await.unwrap());
    let listed = env.provider.list(&BTreeMap::new()).await.unwrap();
    assert!(listed.iter().all(|info| info.id != id));
}

#[tokio::test]
async fn set_timeout_can_extend_a_sandboxs_life() {
    let env = Env::start().await;
    let short = CreateSpec {
        timeout: Duration::from_secs(5),
        ..spec()
    };
    let sandbox = env.provider.create(short).await.unwrap();

    env.provider
        .set_timeout(sandbox.id(), Duration::from_secs(600))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;

    sandbox.health().await.unwrap();
}

#[tokio::test]
async fn set_timeout_of_an_unknown_sandbox_is_not_found() {
    let env = Env::start().await;

    let error = env
        .provider
        .set_timeout("aaaaaaaaaaaaaaaaaaaa", Duration::from_secs(5))
        .await
        .unwrap_err();

    assert_eq!(error.kind, SandboxErrorKind::NotFound, "{error}");
}

#[tokio::test]
async fn a_killed_sandbox_stops_its_running_command_and_is_gone() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    let id = sandbox.id().to_owned();
    let running = {
        let sandbox = sandbox.clone();
        tokio::spawn(async move { exec_collect(&*sandbox, ExecRequest::new("sleep 30")).await })
    };
    eventually("the command starts", || async {
        env.fake.running_processes(&id) == 1
    })
    .await;

    assert!(env.provider.kill(&id).await.unwrap());

    let result = crate::support::within("the killed command", running)
        .await
        .unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.kind, SandboxErrorKind::Gone, "{error}");
}

#[tokio::test]
async fn list_follows_pages_and_filters_by_awkward_metadata() {
    let env = Env::start().await;
    let tag = uuid::Uuid::new_v4().to_string();
    // More than one page of 100, with the characters the filter encoding
    // must protect: spaces, separators, percent signs, slashes, non-ASCII.
    let awkward = "a b&c=d/e%f+g é";
    let labelled = || CreateSpec {
        metadata: BTreeMap::from([
            ("suite".to_owned(), tag.clone()),
            ("odd key&=".to_owned(), awkward.to_owned()),
        ]),
        ..spec()
    };
    let created = join_all((0..103).map(|_| env.provider.create(labelled()))).await;
    let mut expected: Vec<String> = created
        .into_iter()
        .map(|sandbox| sandbox.unwrap().id().to_owned())
        .collect();
    env.provider.create(spec()).await.unwrap();

    let listed = env
        .provider
        .list(&BTreeMap::from([
            ("suite".to_owned(), tag.clone()),
            ("odd key&=".to_owned(), awkward.to_owned()),
        ]))
        .await
        .unwrap();
    let near_miss = env
        .provider
        .list(&BTreeMap::from([
            ("suite".to_owned(), tag.clone()),
            ("odd key&=".to_owned(), "a b".to_owned()),
        ]))
        .await
        .unwrap();

    let mut ids: Vec<String> = listed.iter().map(|info| info.id.clone()).collect();
    ids.sort();
    expected.sort();
    assert_eq!(ids, expected);
    assert!(near_miss.is_empty());
    assert_eq!(listed[0].metadata["odd key&="], awkward);
}

#[tokio::test]
async fn a_wrong_api_key_is_refused() {
    let env = Env::start().await;
    let mut config = env.config.clone();
    config.api_key = SecretString::from("e2b_not_the_key");
    let intruder = E2bProvider::new(config).unwrap();

    let health = intruder.health().await.unwrap_err();
    let create = intruder.create(spec()).await.err().unwrap();

    assert_eq!(health.kind, SandboxErrorKind::Refused, "{health}");
    assert_eq!(create.kind, SandboxErrorKind::Refused, "{create}");
    env.provider.health().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_api_is_transient() {
    let env = Env::start().await;
    let mut config = env.config.clone();
    // A port nothing listens on: the fake's, once its listener is gone.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    config.api_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let provider = E2bProvider::new(config).unwrap();

    let error = provider.health().await.unwrap_err();

    assert_eq!(error.kind, SandboxErrorKind::Transient, "{error}");
}
