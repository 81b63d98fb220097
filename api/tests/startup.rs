//! `hero-api` refuses to start on bad configuration, with one line that
//! names the setting.

use std::process::Command;

fn start(env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hero-api"))
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run hero-api");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_missing_encryption_key_is_named() {
    let (ok, stderr) = start(&[]);

    assert!(!ok);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("SECRETS_ENCRYPTION_KEY: required"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_setting_is_named_without_echoing_secrets() {
    let (ok, stderr) = start(&[
        ("SECRETS_ENCRYPTION_KEY", "not-thirty-two-bytes"),
        ("HERO_BIND", "127.0.0.1:0"),
    ]);

    assert!(!ok);
    assert!(stderr.contains("SECRETS_ENCRYPTION_KEY"), "{stderr}");
    assert!(!stderr.contains("not-thirty-two-bytes"), "{stderr}");
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
    assert!(
        stderr.contains("cannot reach Postgres at 127.0.0.1:1/hero"),
        "{stderr}"
    );
    assert!(!stderr.contains("pw-do-not-print"), "{stderr}");
}
