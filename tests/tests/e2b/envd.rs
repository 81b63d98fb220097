//! envd: files, the filesystem RPCs, and what the proxy and envd's auth
//! answer.

use hero_worker::sandbox::{EntryKind, ExecRequest, SandboxErrorKind, exec_collect};

use crate::support::Env;

#[tokio::test]
async fn binary_files_round_trip() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    let contents: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();

    sandbox
        .write("/home/user/deep/er/blob.bin", &contents)
        .await
        .unwrap();

    assert_eq!(
        sandbox.read("/home/user/deep/er/blob.bin").await.unwrap(),
        contents
    );
}

#[tokio::test]
async fn stat_and_list_report_kinds_sizes_and_permission_bits() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    sandbox.write("/home/user/d/f.txt", b"12345").await.unwrap();
    exec_collect(
        &*sandbox,
        ExecRequest::new("chmod 640 d/f.txt && ln -s f.txt d/link"),
    )
    .await
    .unwrap();

    let file = sandbox.stat("/home/user/d/f.txt").await.unwrap();
    let dir = sandbox.stat("/home/user/d").await.unwrap();
    let link = sandbox.stat("/home/user/d/link").await.unwrap();
    let mut listed = sandbox.list("/home/user/d").await.unwrap();
    listed.sort_by(|a, b| a.name.cmp(&b.name));

    assert_eq!(
        (file.kind, file.size, file.mode),
        (EntryKind::File, 5, 0o640)
    );
    assert!(file.modified.is_some());
    assert_eq!(dir.kind, EntryKind::Directory);
    assert!(dir.mode <= 0o7777, "type bits leaked into {:o}", dir.mode);
    assert_eq!(link.kind, EntryKind::Symlink);
    assert_eq!(
        link.symlink_target.as_deref().map(|t| t.ends_with("f.txt")),
        Some(true)
    );
    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["f.txt", "link"]);
    assert_eq!(listed[0].path, "/home/user/d/f.txt");
}

#[tokio::test]
async fn missing_paths_are_not_found() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    let missing = "/home/user/missing";

    let read = sandbox.read(missing).await.unwrap_err();
    let stat = sandbox.stat(missing).await.unwrap_err();
    let list = sandbox.list(missing).await.unwrap_err();
    let remove = sandbox.remove(missing).await.unwrap_err();

    for error in [read, stat, list, remove] {
        assert_eq!(error.kind, SandboxErrorKind::NotFound, "{error}");
    }
}

#[tokio::test]
async fn reading_a_directory_or_listing_a_file_is_refused() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    sandbox.write("/home/user/file", b"x").await.unwrap();

    let read = sandbox.read("/home/user").await.unwrap_err();
    let list = sandbox.list("/home/user/file").await.unwrap_err();

    assert_eq!(read.kind, SandboxErrorKind::Refused, "{read}");
    assert_eq!(list.kind, SandboxErrorKind::Refused, "{list}");
}

#[tokio::test]
async fn a_wrong_access_token_is_refused_by_envd() {
    let env = Env::start().await;
    env.fake.faults.hand_out_wrong_tokens(true);
    let sandbox = env.sandbox().await;

    let read = sandbox.read("/home/user/x").await.unwrap_err();
    let write = sandbox.write("/home/user/x", b"x").await.unwrap_err();
    let list = sandbox.list("/home/user").await.unwrap_err();
    let exec = exec_collect(&*sandbox, ExecRequest::new("true"))
        .await
        .unwrap_err();

    for error in [read, write, list, exec] {
        assert_eq!(error.kind, SandboxErrorKind::Refused, "{error}");
    }
    // The health probe is the one route envd leaves open.
    sandbox.health().await.unwrap();
}

#[tokio::test]
async fn envd_refuses_requests_without_the_token() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    let client = reqwest::Client::new();
    let stat = |token: Option<String>| {
        let mut request = client
            .post(format!("{}/filesystem.Filesystem/Stat", env.fake.url))
            .header("E2b-Sandbox-Id", sandbox.id())
            .header("Content-Type", "application/json")
            .body(r#"{"path":"/home/user"}"#);
        if let Some(token) = token {
            request = request.header("X-Access-Token", token);
        }
        request.send()
    };

    let without = stat(None).await.unwrap();
    let with = stat(env.fake.access_token(sandbox.id())).await.unwrap();

    assert_eq!(without.status(), 401);
    assert_eq!(with.status(), 200);
    let body: serde_json::Value = with.json().await.unwrap();
    assert_eq!(body["entry"]["type"], "FILE_TYPE_DIRECTORY");
}

#[tokio::test]
async fn an_unknown_sandbox_gets_the_proxys_not_found() {
    let env = Env::start().await;

    let response = reqwest::Client::new()
        .get(format!("{}/health", env.fake.url))
        .header("E2b-Sandbox-Id", "zzzzzzzzzzzzzzzzzzzz")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 502);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "The sandbox was not found");
    assert_eq!(body["sandboxId"], "zzzzzzzzzzzzzzzzzzzz");
}

#[tokio::test]
async fn a_multipart_upload_is_read_back_by_the_client() {
    let env = Env::start().await;
    let sandbox = env.sandbox().await;
    let body = "--b0undary\r\n\
        Content-Disposition: form-data; name=\"file\"; filename=\"up/loaded.txt\"\r\n\
        Content-Type: text/plain\r\n\r\n\
        multipart contents\r\n--b0undary--\r\n";

    let response = reqwest::Client::new()
        .post(format!("{}/files", env.fake.url))
        .header("E2b-Sandbox-Id", sandbox.id())
        .header(
            "X-Access-Token",
            env.fake.access_token(sandbox.id()).unwrap(),
        )
        .header("Content-Type", "multipart/form-data; boundary=b0undary")
        .body(body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let written: serde_json::Value = response.json().await.unwrap();
    assert_eq!(written[0]["path"], "/home/user/up/loaded.txt");
    assert_eq!(
        sandbox.read("/home/user/up/loaded.txt").await.unwrap(),
        b"multipart contents"
    );
}
