//! Command streams: output, timeouts, and streams that break or go silent.

use std::time::Duration;

use hero_worker::sandbox::{ExecRequest, Sandbox, SandboxErrorKind, exec_collect};

use crate::support::{Env, eventually, within};

/// A command that appends a line to `file` ten times a second until killed.
fn ticking(file: &str) -> String {
    format!("while true; do echo tick >> {file}; sleep 0.1; done")
}

/// Whether `file` stops growing, that is, the ticking command is dead.
async fn stopped_growing(sandbox: &dyn Sandbox, file: &str) -> bool {
    let before = sandbox.read(file).await.unwrap_or_default().len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = sandbox.read(file).await.unwrap_or_default().len();
    before == after
}

#[tokio::test]
async fn large_output_arrives_whole_and_in_order() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;

    let (exit, output) = exec_collect(&*sandbox, ExecRequest::new("seq 1 30000; echo done >&2"))
        .await
        .unwrap();

    let expected: String = (1..=30000).map(|n| format!("{n}\n")).collect();
    assert_eq!(exit.exit_code, Some(0));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
    assert_eq!(output.stderr, b"done\n");
}

#[tokio::test]
async fn keepalives_keep_a_quiet_command_alive_past_the_idle_timeout() {
    let env = Env::start_with(|config| config.stream_idle_timeout = Duration::from_secs(3)).await;
    let sandbox = env.sandbox().await;

    let (exit, output) = exec_collect(&*sandbox, ExecRequest::new("sleep 5; echo woke"))
        .await
        .unwrap();

    assert_eq!(exit.exit_code, Some(0));
    assert_eq!(output.stdout, b"woke\n");
}

#[tokio::test]
async fn a_command_past_its_timeout_is_reported_timed_out_and_killed() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    let ticks = "/home/user/ticks";
    let mut request = ExecRequest::new(ticking(ticks));
    request.timeout = Duration::from_secs(1);

    let (exit, _) = within(
        "a command past its timeout",
        exec_collect(&*sandbox, request),
    )
    .await
    .unwrap();

    assert!(exit.timed_out);
    assert_eq!(exit.exit_code, None);
    assert!(stopped_growing(&*sandbox, ticks).await);
    eventually("the fake forgets the process", || async {
        env.fake.running_processes(sandbox.id()) == 0
    })
    .await;
}

#[tokio::test]
async fn a_command_the_sandbox_fails_to_stop_is_killed_by_the_client() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    let ticks = "/home/user/ticks";
    env.fake.faults.ignore_next_command_timeout();
    let mut request = ExecRequest::new(ticking(ticks));
    request.timeout = Duration::from_secs(1);

    let (exit, _) = within(
        "a command envd forgot to stop",
        exec_collect(&*sandbox, request),
    )
    .await
    .unwrap();

    assert!(exit.timed_out);
    assert_eq!(exit.exit_code, None);
    eventually("the client's SendSignal kills it", || async {
        env.fake.running_processes(sandbox.id()) == 0
    })
    .await;
    assert!(stopped_growing(&*sandbox, ticks).await);
}

#[tokio::test]
async fn a_stream_cut_mid_way_is_an_error_not_a_result() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    env.fake.faults.cut_next_stream(2);

    let result = exec_collect(&*sandbox, ExecRequest::new("echo one; sleep 0.5; echo two")).await;

    let error = result.unwrap_err();
    assert_eq!(error.kind, SandboxErrorKind::Transient, "{error}");
    sandbox.health().await.unwrap();
    eventually("the client stops the command it lost", || async {
        env.fake.running_processes(sandbox.id()) == 0
    })
    .await;
}

#[tokio::test]
async fn a_stalled_stream_fails_within_the_idle_window_and_kills_the_command() {
    let env = Env::start_with(|config| config.stream_idle_timeout = Duration::from_secs(3)).await;
    let sandbox = env.sandbox().await;
    env.fake.faults.stall_next_stream();
    let mut request = ExecRequest::new("sleep 120");
    request.timeout = Duration::from_secs(300);

    let result = within("a silent stream", exec_collect(&*sandbox, request)).await;

    let error = result.unwrap_err();
    assert!(
        matches!(
            error.kind,
            SandboxErrorKind::TimedOut | SandboxErrorKind::Transient
        ),
        "{error}"
    );
    eventually("the client kills the silent command", || async {
        env.fake.running_processes(sandbox.id()) == 0
    })
    .await;
}

#[tokio::test]
async fn a_command_in_a_missing_directory_is_refused() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    let mut request = ExecRequest::new("true");
    request.cwd = Some("/home/user/nowhere".to_owned());

    let error = exec_collect(&*sandbox, request).await.unwrap_err();

    assert_eq!(error.kind, SandboxErrorKind::Refused, "{error}");
    assert!(error.message.contains("does not exist"), "{error}");
}
