//! `hero-worker` refuses to start on bad configuration, with a line that
//! names the setting and never a secret.

use std::process::Command;

fn start(env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hero-worker"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run hero-worker");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_missing_encryption_key_is_named() {
    let (ok, stderr) = start(&[]);

    assert!(!ok);
    assert!(
        stderr.contains("SECRETS_ENCRYPTION_KEY: required"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_cron_schedule_is_named() {
    let (ok, stderr) = start(&[
        ("SECRETS_ENCRYPTION_KEY", &"k".repeat(32)),
        ("HERO_CRON_SCHEDULE", "whenever"),
    ]);

    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("HERO_CRON_SCHEDULE"), "{stderr}");
}

#[test]
fn an_unreachable_database_is_reported_without_its_password() {
    let (ok, stderr) = start(&[
        ("SECRETS_ENCRYPTION_KEY", &"k".repeat(32)),
        (
            "DATABASE_URL",
            "postgres://hero:pw-do-not-print@127.0.0.1:1/hero",
        ),
    ]);

    assert!(!ok);
    assert!(stderr.contains("127.0.0.1:1/hero"), "{stderr}");
    assert!(!stderr.contains("pw-do-not-print"), "{stderr}");
}
