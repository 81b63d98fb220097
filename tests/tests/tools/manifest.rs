//! The manifest's rules, enforced by the tools.

use hero_common::tool_call::ToolErrorCode;
use hero_worker::tools::ToolLimits;
use hero_worker::tools::manifest::{Manifest, ManifestError, ManifestSource, load};

use crate::fixture::{Fixture, content, read, shell, write};

#[tokio::test]
async fn an_operation_the_manifest_does_not_allow_is_refused_by_name() {
    let f = Fixture::local().await;
    let manifest = Manifest::parse(r#"{"allowedOperations": ["read"]}"#).unwrap();
    let toolbox = f.toolbox_with(manifest, ToolLimits::default());

    let read_result = toolbox.run(read("src/lib.rs"), None).await;
    let write_error = toolbox.run(write("a.txt", "x"), None).await.unwrap_err();
    let shell_error = toolbox.run(shell("true"), None).await.unwrap_err();

    assert!(read_result.is_ok());
    assert_eq!(write_error.code, ToolErrorCode::OperationNotAllowed);
    assert!(
        write_error.message.contains("`write`"),
        "{}",
        write_error.message
    );
    assert!(
        shell_error.message.contains("`terminal`"),
        "{}",
        shell_error.message
    );
}

#[tokio::test]
async fn a_repositorys_own_manifest_is_read_and_its_forbidden_files_enforced() {
    let f = Fixture::local().await;
    f.sh(r#"printf '{"version":1,"testCommand":"make test","forbiddenFiles":["docs/**"],"allowedOperations":["read","write"]}' > hero.json"#).await;

    let (manifest, source) = load(&*f.sandbox, &f.root).await.unwrap();
    let toolbox = f.toolbox_with(manifest.clone(), ToolLimits::default());

    assert_eq!(source, ManifestSource::File);
    assert_eq!(manifest.test_command.as_deref(), Some("make test"));
    let error = toolbox.run(read("docs/README.md"), None).await.unwrap_err();
    assert_eq!(error.code, ToolErrorCode::ForbiddenFile);
    assert!(
        toolbox.run(read(".env"), None).await.is_ok(),
        "its own list replaces the defaults"
    );
}

#[tokio::test]
async fn an_invalid_manifest_reports_every_problem() {
    let f = Fixture::local().await;
    f.sh(r#"printf '{"version":3,"allowedOperations":["fly"],"buildCommand":7}' > hero.json"#)
        .await;

    let error = load(&*f.sandbox, &f.root).await.unwrap_err();

    let ManifestError::Invalid(problems) = error else {
        panic!("{error}")
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["version", "buildCommand", "allowedOperations[0]"]);
}

#[tokio::test]
async fn a_manifest_is_generated_from_package_json() {
    let f = Fixture::local().await;
    f.sh(r#"printf '{"scripts":{"build":"tsc","test":"jest"}}' > package.json && touch yarn.lock"#)
        .await;

    let (manifest, source) = load(&*f.sandbox, &f.root).await.unwrap();

    assert_eq!(source, ManifestSource::Generated);
    assert_eq!(manifest.build_command.as_deref(), Some("yarn build"));
    assert_eq!(manifest.test_command.as_deref(), Some("yarn test"));
    let read_back = f
        .toolbox()
        .await
        .run(read("package.json"), None)
        .await
        .unwrap();
    assert!(content(&read_back).contains("jest"));
}
