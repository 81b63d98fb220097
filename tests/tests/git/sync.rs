use hero_worker::git::{GitError, hydrate};
use hero_worker::tools::manifest::ForbiddenFiles;

use crate::fixture::{Fixture, TOKEN, host_git};

fn forbidden() -> ForbiddenFiles {
    ForbiddenFiles::new(&[".env".to_owned(), "*.key".to_owned()]).unwrap()
}

#[tokio::test]
async fn status_reports_branch_and_changes() {
    let f = Fixture::new().await;
    hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("README.md", "changed\n").await;
    f.write("new.txt", "new\n").await;

    let status = f.git.status().await.unwrap();

    assert_eq!(status.branch.as_deref(), Some("main"));
    assert_eq!(status.unstaged, ["README.md"]);
    assert_eq!(status.untracked, ["new.txt"]);
    assert!(status.staged.is_empty());
}

#[tokio::test]
async fn changes_are_committed_and_pushed_to_a_prefixed_branch_without_forbidden_files() {
    let f = Fixture::new().await;
    hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("src/feature.rs", "pub fn feature() {}\n").await;
    f.write(".env", format!("TOKEN={TOKEN}\n").as_str()).await;

    let synced = f
        .git
        .commit_and_push(&f.policy(), &forbidden(), "Add feature", "feature")
        .await
        .unwrap();

    assert_eq!(synced.branch, "hero/feature");
    assert_eq!(synced.files, ["src/feature.rs"]);
    assert_eq!(synced.skipped_forbidden, [".env"]);
    assert_eq!(
        host_git(&f.origin, &["rev-parse", "hero/feature"]),
        synced.commit
    );
    let files = host_git(&f.origin, &["ls-tree", "-r", "--name-only", "hero/feature"]);
    assert!(
        files.contains("src/feature.rs") && !files.contains(".env"),
        "{files}"
    );
    let author = host_git(
        &f.origin,
        &["log", "-1", "--format=%an <%ae>", "hero/feature"],
    );
    assert_eq!(author, "Hero Agent <agent@hero.example>");
}

#[tokio::test]
async fn syncing_again_to_an_existing_branch_carries_the_new_changes_onto_it() {
    let f = Fixture::new().await;
    let first_hydrate = hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("a.txt", "first\n").await;
    let first = f
        .git
        .commit_and_push(&f.policy(), &forbidden(), "First", "work")
        .await
        .unwrap();
    // Back on the default branch, as a later hydrate leaves the sandbox.
    f.push_to_origin("CHANGELOG.md", "v2\n");
    hydrate(&f.git, &f.spec(Some(first_hydrate.commit)))
        .await
        .unwrap();
    f.write("b.txt", "second\n").await;

    let second = f
        .git
        .commit_and_push(&f.policy(), &forbidden(), "Second", "work")
        .await
        .unwrap();

    assert_eq!(second.branch, "hero/work");
    assert_eq!(second.files, ["b.txt"]);
    let files = host_git(&f.origin, &["ls-tree", "-r", "--name-only", "hero/work"]);
    assert!(
        files.contains("a.txt") && files.contains("b.txt"),
        "{files}"
    );
    let parent = host_git(&f.origin, &["rev-parse", "hero/work~1"]);
    assert_eq!(
        parent, first.commit,
        "the branch grew; nothing was rewritten"
    );
}

#[tokio::test]
async fn conflicting_changes_for_an_existing_branch_are_refused_not_committed() {
    let f = Fixture::new().await;
    let hydrated = hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("README.md", "the branch's version\n").await;
    f.git
        .commit_and_push(&f.policy(), &forbidden(), "Branch", "work")
        .await
        .unwrap();
    f.push_to_origin("CHANGELOG.md", "v2\n");
    hydrate(&f.git, &f.spec(Some(hydrated.commit)))
        .await
        .unwrap();
    f.write("README.md", "another version\n").await;

    let error = f
        .git
        .commit_and_push(&f.policy(), &forbidden(), "Clash", "work")
        .await
        .unwrap_err();

    assert!(matches!(error, GitError::Refused(_)), "{error}");
    assert!(error.to_string().contains("README.md"), "{error}");
    let tip = host_git(&f.origin, &["log", "-1", "--format=%s", "hero/work"]);
    assert_eq!(tip, "Branch");
}

#[tokio::test]
async fn a_modified_tracked_forbidden_file_stops_the_sync() {
    let f = Fixture::new().await;
    hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("config.key", "leaked\n").await;
    f.write("ok.txt", "fine\n").await;

    let error = f
        .git
        .commit_and_push(&f.policy(), &forbidden(), "msg", "x")
        .await
        .unwrap_err();

    assert!(
        matches!(&error, GitError::Refused(m) if m.contains("config.key")),
        "{error}"
    );
    assert!(host_git(&f.origin, &["branch", "--list", "hero/x"]).is_empty());
}

#[tokio::test]
async fn pushing_to_the_default_branch_is_refused_unless_allowed() {
    let f = Fixture::new().await;
    hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("a.txt", "a\n").await;
    let before = host_git(&f.origin, &["rev-parse", "main"]);

    let refused = f
        .git
        .commit_and_push(&f.policy(), &forbidden(), "msg", "main")
        .await
        .unwrap_err();
    let mut allowed = f.policy();
    allowed.allow_default_branch = true;
    let pushed = f
        .git
        .commit_and_push(&allowed, &forbidden(), "msg", "main")
        .await
        .unwrap();

    assert!(matches!(refused, GitError::Refused(_)));
    assert_ne!(host_git(&f.origin, &["rev-parse", "main"]), before);
    assert_eq!(pushed.branch, "main");
}

#[tokio::test]
async fn discard_drops_changes_but_keeps_ignored_dependencies() {
    let f = Fixture::new().await;
    hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("README.md", "scribbled\n").await;
    f.write("stray.txt", "stray\n").await;
    f.write("node_modules/dep/index.js", "kept\n").await;

    f.git.discard().await.unwrap();

    assert_eq!(f.read("README.md").await.as_deref(), Some("# demo\n"));
    assert_eq!(f.read("stray.txt").await, None);
    assert_eq!(
        f.read("node_modules/dep/index.js").await.as_deref(),
        Some("kept\n")
    );
}

#[tokio::test]
async fn create_branch_switches_to_a_prefixed_branch_keeping_changes() {
    let f = Fixture::new().await;
    hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("wip.txt", "wip\n").await;

    let branch = f
        .git
        .create_branch(&f.policy(), "experiment")
        .await
        .unwrap();

    assert_eq!(branch, "hero/experiment");
    assert_eq!(
        f.git.status().await.unwrap().branch.as_deref(),
        Some("hero/experiment")
    );
    assert_eq!(f.read("wip.txt").await.as_deref(), Some("wip\n"));
}

#[tokio::test]
async fn a_forbidden_file_committed_since_hydrate_is_found_even_when_removed_again() {
    let f = Fixture::new().await;
    let hydrated = hydrate(&f.git, &f.spec(None)).await.unwrap();
    f.write("src/clean.rs", "pub fn clean() {}\n").await;
    let commit = "git -c user.name=A -c user.email=a@example.com commit -qm";
    let (code, output) = f
        .git
        .shell(
            &format!("git add src/clean.rs && {commit} clean"),
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(code, Some(0), "{output}");
    f.git
        .refuse_forbidden_history(&hydrated.commit, &forbidden())
        .await
        .unwrap();

    f.write(".env", "TOKEN=x\n").await;
    let (code, output) = f
        .git
        .shell(
            &format!("git add -f .env && {commit} leak && git rm -q .env && {commit} unleak"),
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(code, Some(0), "{output}");

    let error = f
        .git
        .refuse_forbidden_history(&hydrated.commit, &forbidden())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, GitError::Refused(message) if message.contains(".env")),
        "{error}"
    );
}
