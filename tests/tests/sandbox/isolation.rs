//! What a command under bubblewrap must not be able to do.

use std::time::Duration;

use hero_tests::local_sandboxes::TempProvider;
use hero_worker::sandbox::local::IsolationMode;
use hero_worker::sandbox::{CreateSpec, ExecRequest, Sandbox, exec_collect};

async fn isolated(network: bool) -> (TempProvider, std::sync::Arc<dyn Sandbox>) {
    let temp = TempProvider::new(IsolationMode::Required, network).await;
    let spec = CreateSpec {
        timeout: Duration::from_secs(300),
        ..CreateSpec::default()
    };
    let sandbox = hero_worker::sandbox::SandboxProvider::create(&temp.provider, spec)
        .await
        .unwrap();
    (temp, sandbox)
}

async fn sh(sandbox: &dyn Sandbox, command: &str) -> (Option<i32>, String) {
    let (exit, output) = exec_collect(sandbox, ExecRequest::new(command))
        .await
        .unwrap();
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (exit.exit_code, text)
}

#[tokio::test]
async fn the_workdir_is_home_user_and_writable() {
    let (_temp, sandbox) = isolated(false).await;

    let (code, out) = sh(&*sandbox, "pwd; touch here && echo wrote").await;

    assert_eq!(sandbox.workdir(), "/home/user");
    assert_eq!((code, out.as_str()), (Some(0), "/home/user\nwrote\n"));
}

#[tokio::test]
async fn the_hosts_homes_and_other_data_are_not_visible() {
    let (temp, sandbox) = isolated(false).await;
    let host_file = temp.root.join("host-only.txt");
    std::fs::write(&host_file, "host data").unwrap();

    let (_, root_listing) = sh(&*sandbox, "ls -A /root 2>&1; echo end").await;
    let (code, _) = sh(&*sandbox, &format!("cat {}", host_file.display())).await;
    let (_, shadow) = sh(&*sandbox, "cat /etc/shadow 2>&1; echo end").await;

    assert!(
        root_listing.contains("No such file") || root_listing == "end\n",
        "{root_listing}"
    );
    assert_ne!(
        code,
        Some(0),
        "a host file outside the sandbox was readable"
    );
    assert!(
        !shadow.contains("root:"),
        "/etc/shadow must be masked: {shadow}"
    );
}

#[tokio::test]
async fn the_system_is_read_only() {
    let (_temp, sandbox) = isolated(false).await;

    for target in ["/usr/hero-test", "/etc/hero-test", "/bin/hero-test"] {
        let (code, _) = sh(&*sandbox, &format!("touch {target}")).await;

        assert_ne!(code, Some(0), "{target} was writable");
        assert!(!std::path::Path::new(target).exists());
    }
}

#[tokio::test]
async fn host_processes_are_not_visible() {
    let (_temp, sandbox) = isolated(false).await;

    let (_, pids) = sh(&*sandbox, "ls /proc | grep -E '^[0-9]+$'").await;
    let own_pid = std::process::id().to_string();

    let visible: Vec<&str> = pids.lines().collect();
    assert!(
        visible.len() <= 4,
        "saw {} processes: {visible:?}",
        visible.len()
    );
    assert!(!visible.contains(&own_pid.as_str()));
}

#[tokio::test]
async fn network_is_off_unless_enabled() {
    // Postgres listens on 127.0.0.1:5432 for the tests, so it is a port
    // that answers on the host.
    let probe = "exec 3<>/dev/tcp/127.0.0.1/5432 && echo connected";
    let (_off_temp, offline) = isolated(false).await;
    let (_on_temp, online) = isolated(true).await;

    let (off_code, _) = sh(&*offline, probe).await;
    let (on_code, on_out) = sh(&*online, probe).await;

    assert_ne!(off_code, Some(0));
    assert_eq!((on_code, on_out.as_str()), (Some(0), "connected\n"));
}

#[tokio::test]
async fn the_workers_environment_does_not_leak_into_commands() {
    let (_temp, sandbox) = isolated(false).await;

    let (_, env) = sh(&*sandbox, "env").await;

    for name in [
        "DATABASE_URL",
        "SECRETS_ENCRYPTION_KEY",
        "CARGO",
        "RUST_BACKTRACE",
    ] {
        assert!(!env.contains(&format!("{name}=")), "{name} leaked: {env}");
    }
    assert!(env.contains("HOME=/home/user"));
}
