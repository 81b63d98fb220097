use hero_worker::git::{GitError, hydrate};
use hero_worker::tools::manifest::ManifestSource;

use crate::fixture::{Fixture, TOKEN, host_git};

#[tokio::test]
async fn a_fresh_sandbox_gets_a_clone_at_the_branch_head_and_a_manifest() {
    let f = Fixture::new().await;
    let head = host_git(&f.origin, &["rev-parse", "main"]);

    let hydrated = hydrate(&f.git, &f.spec(None)).await.unwrap();

    assert_eq!(hydrated.commit, head);
    assert!(hydrated.changed);
    assert_eq!(hydrated.manifest_source, ManifestSource::Generated);
    assert_eq!(f.read("README.md").await.as_deref(), Some("# demo\n"));
}

#[tokio::test]
async fn hydrating_again_at_the_same_commit_changes_nothing() {
    let f = Fixture::new().await;
    let first = hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("scratch.txt", "agent work in progress").await;

    let second = hydrate(&f.git, &f.spec(Some(first.commit.clone())))
        .await
        .unwrap();

    assert!(!second.changed);
    assert_eq!(second.commit, first.commit);
    assert_eq!(
        f.read("scratch.txt").await.as_deref(),
        Some("agent work in progress")
    );
}

#[tokio::test]
async fn a_repository_whose_address_moved_is_fetched_from_where_the_forge_says_it_is_now() {
    let f = Fixture::new().await;
    let first = hydrate(&f.git, &f.spec(None)).await.unwrap();
    let moved = f.origin.with_file_name("moved.git");
    std::fs::rename(&f.origin, &moved).unwrap();
    let mut spec = f.spec(Some(first.commit.clone()));
    spec.clone_url = format!("file://{}", moved.display());

    let second = hydrate(&f.git, &spec).await.unwrap();

    assert_eq!(second.commit, first.commit);
    let config = f.read(".git/config").await.unwrap();
    assert!(config.contains("moved.git"), "{config}");
}

#[tokio::test]
async fn a_new_commit_on_the_branch_is_fetched_and_the_tree_reset_to_it() {
    let f = Fixture::new().await;
    let first = hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("README.md", "local edit").await;
    let newer = f.push_to_origin("CHANGELOG.md", "v2\n");

    let second = hydrate(&f.git, &f.spec(Some(first.commit))).await.unwrap();

    assert!(second.changed);
    assert_eq!(second.commit, newer);
    assert_eq!(f.read("CHANGELOG.md").await.as_deref(), Some("v2\n"));
    assert_eq!(f.read("README.md").await.as_deref(), Some("# demo\n"));
}

#[tokio::test]
async fn a_missing_branch_and_a_credentialed_url_are_refused() {
    let f = Fixture::new().await;
    let mut missing = f.spec(None);
    missing.branch = "no-such-branch".to_owned();
    let mut credentialed = f.spec(None);
    credentialed.clone_url = format!("https://x-access-token:{TOKEN}@github.com/o/r.git");
    let mut option = f.spec(None);
    option.branch = "--upload-pack=touch /tmp/pwned".to_owned();

    let missing = hydrate(&f.git, &missing).await.unwrap_err();
    let credentialed = hydrate(&f.git, &credentialed).await.unwrap_err();
    let option = hydrate(&f.git, &option).await.unwrap_err();

    assert!(matches!(missing, GitError::Failed { .. }), "{missing}");
    assert!(matches!(credentialed, GitError::Refused(_)));
    assert!(!credentialed.to_string().contains(TOKEN));
    assert!(matches!(option, GitError::Refused(_)));
}

#[tokio::test]
async fn the_token_never_lands_in_git_config() {
    let f = Fixture::new().await;

    hydrate(&f.git, &f.spec(None)).await.unwrap();

    let config = f.read(".git/config").await.unwrap();
    assert!(!config.contains(TOKEN), "{config}");
    assert!(
        !config.contains("extraHeader") && !config.contains("Authorization"),
        "{config}"
    );
}
