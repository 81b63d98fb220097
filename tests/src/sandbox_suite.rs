//! One behavioural suite every sandbox provider must pass.
//!
//! Each check takes a provider and panics on a difference from the
//! contract in `hero_worker::sandbox`. [`sandbox_suite!`] turns them into
//! tests for one provider.

// These are assertions: a check fails by panicking.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hero_worker::sandbox::{
    Beneath, CreateSpec, EntryKind, ExecRequest, OutputStream, Sandbox, SandboxErrorKind,
    SandboxProvider, exec_collect,
};
use secrecy::SecretString;

fn spec() -> CreateSpec {
    CreateSpec {
        timeout: Duration::from_secs(300),
        ..CreateSpec::default()
    }
}

async fn run(sandbox: &dyn Sandbox, request: ExecRequest) -> (Option<i32>, String, String, bool) {
    let (exit, output) = exec_collect(sandbox, request).await.expect("exec");
    (
        exit.exit_code,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        exit.timed_out,
    )
}

fn path(sandbox: &dyn Sandbox, relative: &str) -> String {
    format!("{}/{relative}", sandbox.workdir())
}

pub async fn created_sandboxes_can_be_connected_to_by_id(provider: Arc<dyn SandboxProvider>) {
    let created = provider.create(spec()).await.unwrap();

    let connected = provider.connect(created.id()).await.unwrap();

    assert_eq!(connected.id(), created.id());
    assert_eq!(connected.workdir(), created.workdir());
    connected.health().await.unwrap();
    provider.health().await.unwrap();
}

pub async fn commands_report_exit_codes_and_separate_output(provider: Arc<dyn SandboxProvider>) {
    let sandbox = provider.create(spec()).await.unwrap();

    let ok = run(&*sandbox, ExecRequest::new("echo hello")).await;
    let failed = run(&*sandbox, ExecRequest::new("echo oops >&2; exit 3")).await;

    assert_eq!(ok, (Some(0), "hello\n".to_owned(), String::new(), false));
    assert_eq!(failed, (Some(3), String::new(), "oops\n".to_owned(), false));
}

pub async fn output_is_streamed_as_it_is_produced(provider: Arc<dyn SandboxProvider>) {
    let sandbox = provider.create(spec()).await.unwrap();
    let mut chunks = Vec::new();
    let mut sink = |stream: OutputStream, bytes: &[u8]| chunks.push((stream, bytes.to_vec()));

    sandbox
        .exec(
            ExecRequest::new("echo first; sleep 0.5; echo second >&2"),
            &mut sink,
        )
        .await
        .unwrap();

    assert_eq!(
        chunks,
        vec![
            (OutputStream::Stdout, b"first\n".to_vec()),
            (OutputStream::Stderr, b"second\n".to_vec())
        ]
    );
}

pub async fn commands_get_their_env_and_cwd(provider: Arc<dyn SandboxProvider>) {
    let sandbox = provider.create(spec()).await.unwrap();
    let sub = path(&*sandbox, "sub");
    sandbox.make_dir(&sub).await.unwrap();
    let mut request = ExecRequest::new("echo \"$GREETING\"; pwd; echo $HOME");
    request.cwd = Some(sub.clone());
    request.env = vec![("GREETING".to_owned(), SecretString::from("hi there"))];

    let (code, stdout, _, _) = run(&*sandbox, request).await;

    assert_eq!(code, Some(0));
    assert_eq!(stdout, format!("hi there\n{sub}\n{}\n", sandbox.workdir()));
}

pub async fn a_missing_cwd_is_refused(provider: Arc<dyn SandboxProvider>) {
    let sandbox = provider.create(spec()).await.unwrap();
    let mut request = ExecRequest::new("true");
    request.cwd = Some(path(&*sandbox, "does-not-exist"));

    let error = exec_collect(&*sandbox, request).await.unwrap_err();

    assert_ne!(error.kind, SandboxErrorKind::Gone, "{error}");
}

pub async fn a_command_past_its_timeout_is_killed_with_its_children(
    provider: Arc<dyn SandboxProvider>,
) {
    let sandbox = provider.create(spec()).await.unwrap();
    let marker = path(&*sandbox, "marker");
    let mut request = ExecRequest::new(format!(
        "(sleep 1.5; echo alive > {marker}) & echo started; sleep 30"
    ));
    request.timeout = Duration::from_millis(500);

    let (code, stdout, _, timed_out) = run(&*sandbox, request).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    assert!(timed_out);
    assert_eq!(code, None);
    assert_eq!(stdout, "started\n");
    let leftover = sandbox.read(&marker).await;
    assert_eq!(leftover.unwrap_err().kind, SandboxErrorKind::NotFound);
}

pub async fn a_cancelled_command_is_killed_with_its_children(provider: Arc<dyn SandboxProvider>) {
    let sandbox = provider.create(spec()).await.unwrap();
    let marker = path(&*sandbox, "marker");
    let mut request = ExecRequest::new(format!(
        "(sleep 1.5; echo alive > {marker}) & echo started; sleep 30"
    ));
    request.timeout = Duration::from_secs(30);
    let cancel = request.cancel.clone();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel.cancel();
    });

    let error = exec_collect(&*sandbox, request).await.unwrap_err();
    canceller.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;

    assert_eq!(error.kind, SandboxErrorKind::Cancelled, "{error}");
    let leftover = sandbox.read(&marker).await;
    assert_eq!(leftover.unwrap_err().kind, SandboxErrorKind::NotFound);
}

pub async fn files_can_be_written_read_listed_and_removed(provider: Arc<dyn SandboxProvider>) {
    let sandbox = provider.create(spec()).await.unwrap();
    let file = path(&*sandbox, "dir/nested/file.txt");
    let dir = path(&*sandbox, "dir");

    sandbox.write(&file, b"contents\n").await.unwrap();
    sandbox.write(&file, b"replaced\n").await.unwrap();

    assert_eq!(sandbox.read(&file).await.unwrap(), b"replaced\n");
    let stat = sandbox.stat(&file).await.unwrap();
    assert_eq!(
        (stat.kind, stat.size, stat.path.as_str()),
        (EntryKind::File, 9, file.as_str())
    );
    let listed = sandbox.list(&dir).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].kind),
        ("nested", EntryKind::Directory)
    );
    let (_, seen_by_shell, _, _) = run(&*sandbox, ExecRequest::new(format!("cat {file}"))).await;
    assert_eq!(seen_by_shell, "replaced\n");

    sandbox.remove(&dir).await.unwrap();

    assert_eq!(
        sandbox.read(&file).await.unwrap_err().kind,
        SandboxErrorKind::NotFound
    );
    assert_eq!(
        sandbox.stat(&dir).await.unwrap_err().kind,
        SandboxErrorKind::NotFound
    );
}

pub async fn files_written_by_commands_are_visible_to_file_operations(
    provider: Arc<dyn SandboxProvider>,
) {
    let sandbox = provider.create(spec()).await.unwrap();

    run(
        &*sandbox,
        ExecRequest::new("mkdir -p made/here && printf x > made/here/f"),
    )
    .await;

    assert_eq!(
        sandbox.read(&path(&*sandbox, "made/here/f")).await.unwrap(),
        b"x"
    );
}

pub async fn make_dir_reports_whether_it_created(provider: Arc<dyn SandboxProvider>) {
    let sandbox = provider.create(spec()).await.unwrap();
    let dir = path(&*sandbox, "a/b");

    assert!(sandbox.make_dir(&dir).await.unwrap());
    assert!(!sandbox.make_dir(&dir).await.unwrap());
    assert_eq!(sandbox.stat(&dir).await.unwrap().kind, EntryKind::Directory);
}

pub async fn a_killed_sandbox_is_gone(provider: Arc<dyn SandboxProvider>) {
    let sandbox = provider.create(spec()).await.unwrap();
    let id = sandbox.id().to_owned();

    assert!(provider.kill(&id).await.unwrap());

    assert!(!provider.kill(&id).await.unwrap());
    let error = provider.connect(&id).await.err().expect("connect fails");
    assert_eq!(error.kind, SandboxErrorKind::NotFound);
    let exec = exec_collect(&*sandbox, ExecRequest::new("true"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            exec.kind,
            SandboxErrorKind::Gone | SandboxErrorKind::NotFound
        ),
        "{exec}"
    );
    let health = sandbox.health().await.unwrap_err();
    assert!(matches!(
        health.kind,
        SandboxErrorKind::Gone | SandboxErrorKind::NotFound
    ));
}

pub async fn killing_a_sandbox_stops_its_running_command(provider: Arc<dyn SandboxProvider>) {
    let sandbox = provider.create(spec()).await.unwrap();
    let id = sandbox.id().to_owned();
    let killer = provider.clone();
    let mut request = ExecRequest::new("sleep 30");
    request.timeout = Duration::from_secs(60);

    let running = tokio::spawn(async move { exec_collect(&*sandbox, request).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    killer.kill(&id).await.unwrap();

    let result = tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the command ends once its sandbox is killed")
        .unwrap();
    match result {
        Err(error) => assert!(
            matches!(
                error.kind,
                SandboxErrorKind::Gone | SandboxErrorKind::NotFound
            ),
            "{error}"
        ),
        Ok((exit, _)) => assert_ne!(exit.exit_code, Some(0)),
    }
}

pub async fn list_filters_by_metadata(provider: Arc<dyn SandboxProvider>) {
    let tag = uuid::Uuid::new_v4().to_string();
    let labelled = |role: &str| CreateSpec {
        metadata: BTreeMap::from([
            ("suite".to_owned(), tag.clone()),
            ("role".to_owned(), role.to_owned()),
        ]),
        ..spec()
    };
    let a = provider.create(labelled("a")).await.unwrap();
    let b = provider.create(labelled("b")).await.unwrap();

    let all = provider
        .list(&BTreeMap::from([("suite".to_owned(), tag.clone())]))
        .await
        .unwrap();
    let only_b = provider
        .list(&BTreeMap::from([
            ("suite".to_owned(), tag.clone()),
            ("role".to_owned(), "b".to_owned()),
        ]))
        .await
        .unwrap();

    let mut ids: Vec<_> = all.iter().map(|s| s.id.as_str()).collect();
    ids.sort_unstable();
    let mut expected = vec![a.id(), b.id()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert_eq!(only_b.len(), 1);
    assert_eq!(only_b[0].id, b.id());
    assert_eq!(only_b[0].metadata["role"], "b");
}

pub async fn a_sandbox_dies_when_its_timeout_passes(provider: Arc<dyn SandboxProvider>) {
    let sandbox = provider.create(spec()).await.unwrap();
    let id = sandbox.id().to_owned();

    provider
        .set_timeout(&id, Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let error = provider.connect(&id).await.err().expect("expired");
    assert_eq!(error.kind, SandboxErrorKind::NotFound);
}

pub async fn paths_resolve_beneath_a_root_as_the_sandbox_sees_them(
    provider: Arc<dyn SandboxProvider>,
) {
    let sandbox = provider.create(spec()).await.unwrap();
    let root = path(&*sandbox, "repo");
    let setup = "mkdir -p repo/src other && echo hi > repo/src/a.txt && echo secret > other/s.txt \
                 && ln -s src/a.txt repo/inside && ln -s /etc/passwd repo/abs \
                 && ln -s ../other repo/up && ln -s src repo/dirlink";
    assert_eq!(run(&*sandbox, ExecRequest::new(setup)).await.0, Some(0));
    let resolve = |relative: &'static str| {
        let (sandbox, root) = (sandbox.clone(), root.clone());
        async move { sandbox.resolve_beneath(&root, relative).await.unwrap() }
    };

    assert_eq!(
        resolve("src/a.txt").await,
        Beneath::Inside(format!("{root}/src/a.txt"))
    );
    assert_eq!(
        resolve("inside").await,
        Beneath::Inside(format!("{root}/src/a.txt"))
    );
    assert_eq!(
        resolve("dirlink/a.txt").await,
        Beneath::Inside(format!("{root}/src/a.txt"))
    );
    assert_eq!(
        resolve("new/dir/file.txt").await,
        Beneath::Inside(format!("{root}/new/dir/file.txt"))
    );
    assert_eq!(
        resolve("src/../src/a.txt").await,
        Beneath::Inside(format!("{root}/src/a.txt"))
    );
    assert_eq!(resolve("../other/s.txt").await, Beneath::Outside);
    assert_eq!(resolve("abs").await, Beneath::Outside);
    assert_eq!(resolve("up/s.txt").await, Beneath::Outside);
    assert_eq!(resolve("up/new-file").await, Beneath::Outside);
}

pub async fn a_symlink_swapped_between_calls_is_resolved_afresh(
    provider: Arc<dyn SandboxProvider>,
) {
    let sandbox = provider.create(spec()).await.unwrap();
    let root = path(&*sandbox, "repo");
    run(&*sandbox, ExecRequest::new("mkdir -p repo outside && echo ok > repo/real && echo no > outside/f && ln -s real repo/link")).await;

    let before = sandbox.read_beneath(&root, "link", 1024).await.unwrap();
    run(
        &*sandbox,
        ExecRequest::new("ln -sfn ../outside/f repo/link"),
    )
    .await;
    let after = sandbox.read_beneath(&root, "link", 1024).await;

    assert_eq!(before.contents, b"ok\n");
    assert_eq!(before.path, format!("{root}/real"));
    assert_eq!(after.unwrap_err().kind, SandboxErrorKind::Refused);
}

pub async fn read_beneath_stops_at_its_limit_and_reports_the_size(
    provider: Arc<dyn SandboxProvider>,
) {
    let sandbox = provider.create(spec()).await.unwrap();
    let root = path(&*sandbox, "repo");
    sandbox
        .write(&format!("{root}/docs/big.txt"), &[b'x'; 10_000])
        .await
        .unwrap();

    let read = sandbox
        .read_beneath(&root, "docs/big.txt", 100)
        .await
        .unwrap();

    assert_eq!(read.contents.len(), 100);
    assert_eq!(read.size, 10_000);
    assert_eq!(read.path, format!("{root}/docs/big.txt"));
}

/// Expands to one `#[tokio::test]` per check. `$make` is an expression
/// (it may `.await`) giving a value whose `shared()` returns the provider;
/// the value lives until the test ends, so it can own temporary state.
#[macro_export]
macro_rules! sandbox_suite {
    ($make:expr) => {
        $crate::sandbox_suite!(@tests $make;
            created_sandboxes_can_be_connected_to_by_id,
            commands_report_exit_codes_and_separate_output,
            output_is_streamed_as_it_is_produced,
            commands_get_their_env_and_cwd,
            a_missing_cwd_is_refused,
            a_command_past_its_timeout_is_killed_with_its_children,
            a_cancelled_command_is_killed_with_its_children,
            files_can_be_written_read_listed_and_removed,
            files_written_by_commands_are_visible_to_file_operations,
            make_dir_reports_whether_it_created,
            a_killed_sandbox_is_gone,
            killing_a_sandbox_stops_its_running_command,
            list_filters_by_metadata,
            a_sandbox_dies_when_its_timeout_passes,
            paths_resolve_beneath_a_root_as_the_sandbox_sees_them,
            a_symlink_swapped_between_calls_is_resolved_afresh,
            read_beneath_stops_at_its_limit_and_reports_the_size,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let holder = $make;
                $crate::sandbox_suite::$name(holder.shared()).await;
            }
        )*
    };
}
