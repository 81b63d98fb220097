//! What an agent can plant in the repository's git configuration (and its
//! own `~/.gitconfig`) never sees the forge token, and never redirects a
//! push.

use std::time::Duration;

use base64::Engine as _;
use hero_worker::git::{GitError, hydrate};
use hero_worker::tools::manifest::ForbiddenFiles;

use crate::fixture::{Fixture, TOKEN, host_git};

/// Runs a shell line in the fixture's repository, as `run_shell` would.
async fn agent_runs(f: &Fixture, line: &str) {
    let (code, output) = f.git.shell(line, Duration::from_secs(30)).await.unwrap();
    assert_eq!(code, Some(0), "{line}: {output}");
}

#[tokio::test]
async fn programs_and_proxies_planted_in_git_config_never_see_the_token() {
    let f = Fixture::new().await;
    hydrate(&f.git, &f.spec(None)).await.unwrap();
    let home = f.sandbox.workdir().to_owned();
    let spied = format!("{home}/spied.txt");
    let decoy = f.scratch().join("decoy.git").display().to_string();
    host_git(f.scratch(), &["init", "-q", "--bare", &decoy]);
    agent_runs(
        &f,
        &format!(
            "printf '#!/bin/sh\\nenv >> {spied}\\n' > {home}/spy.sh && chmod +x {home}/spy.sh && \
             git config core.fsmonitor {home}/spy.sh && \
             git config diff.external {home}/spy.sh && \
             git config http.proxy http://127.0.0.1:9 && \
             git config remote.origin.url file://{decoy} && \
             git config --global core.fsmonitor {home}/spy.sh"
        ),
    )
    .await;
    f.write("src/change.rs", "pub fn change() {}\n").await;

    let synced = f
        .git
        .commit_and_push(&f.policy(), &ForbiddenFiles::none(), "Change", "planted")
        .await
        .unwrap();

    assert_eq!(
        host_git(&f.origin, &["rev-parse", "hero/planted"]),
        synced.commit,
        "the push went to the forge's repository"
    );
    let decoy_refs = host_git(f.scratch(), &["-C", &decoy, "for-each-ref"]);
    assert!(
        decoy_refs.is_empty(),
        "nothing reached the decoy: {decoy_refs}"
    );
    let header =
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{TOKEN}"));
    let seen = std::fs::read_to_string(&spied).unwrap_or_default();
    assert!(
        seen.contains("GIT_CONFIG_COUNT"),
        "the planted program ran with git's environment, where a token would be"
    );
    assert!(
        !seen.contains(&header) && !seen.contains(TOKEN),
        "a planted program saw the token"
    );
    let config = f.read(".git/config").await.unwrap();
    assert!(
        !config.contains("fsmonitor") && !config.contains("proxy") && !config.contains(&decoy),
        "{config}"
    );
}

#[tokio::test]
async fn a_dot_git_that_points_elsewhere_is_refused_before_any_push() {
    let f = Fixture::new().await;
    hydrate(&f.git, &f.spec(None)).await.unwrap();
    agent_runs(
        &f,
        "mv .git .git-real && printf 'gitdir: .git-real\\n' > .git",
    )
    .await;
    f.write("src/change.rs", "pub fn change() {}\n").await;

    let error = f
        .git
        .commit_and_push(&f.policy(), &ForbiddenFiles::none(), "Change", "elsewhere")
        .await
        .unwrap_err();

    assert!(
        matches!(&error, GitError::Refused(message) if message.contains(".git is not a directory")),
        "{error}"
    );
    let branches = host_git(&f.origin, &["branch", "--list", "hero/elsewhere"]);
    assert!(branches.is_empty(), "{branches}");
}
