//! No secret value survives into a result or an error.

use hero_common::tool_call::{EditFileArgs, RunGitArgs, ToolCall};

use crate::fixture::{Fixture, SECRET, content, read, write};

#[tokio::test]
async fn a_secret_in_a_file_is_redacted_when_read() {
    let f = Fixture::local().await;
    f.run(write("config/settings.txt", &format!("key={SECRET}\n")))
        .await
        .unwrap();

    let result = f.run(read("config/settings.txt")).await.unwrap();

    assert_eq!(content(&result), "key=[redacted:API_KEY]\n");
}

#[tokio::test]
async fn a_secret_in_an_error_message_is_redacted() {
    let f = Fixture::local().await;

    let error = f
        .run(read(&format!("missing-{SECRET}.txt")))
        .await
        .unwrap_err();
    let edit = f
        .run(ToolCall::EditFile(EditFileArgs {
            path: "src/lib.rs".to_owned(),
            edits: vec![hero_common::tool_call::Edit {
                find: SECRET.to_owned(),
                replace: String::new(),
            }],
        }))
        .await
        .unwrap_err();

    assert!(!error.message.contains(SECRET), "{}", error.message);
    assert!(!edit.message.contains(SECRET), "{}", edit.message);
}

#[tokio::test]
async fn a_secret_in_git_output_is_redacted() {
    let f = Fixture::local().await;
    f.run(write("notes.txt", &format!("{SECRET}\n")))
        .await
        .unwrap();

    f.run(ToolCall::RunGit(RunGitArgs {
        args: vec!["add".to_owned(), "notes.txt".to_owned()],
    }))
    .await
    .unwrap();

    let result = f
        .run(ToolCall::RunGit(RunGitArgs {
            args: vec!["diff".to_owned(), "--cached".to_owned()],
        }))
        .await
        .unwrap();

    let text = format!("{result:?}");
    assert!(!text.contains(SECRET));
    assert!(text.contains("[redacted:API_KEY]"));
}
