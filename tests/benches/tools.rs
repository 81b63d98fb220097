//! Each tool's overhead over the raw sandbox operation it wraps, on a local
//! sandbox under bubblewrap, in the same run: `read_file` against
//! `Sandbox::read`, `run_shell` of `true` against `Sandbox::exec`, and
//! every other tool against the sandbox operation it stands for
//! (`list_files` against `Sandbox::list`, `delete_file` against
//! `Sandbox::remove`, `run_git status` and `run_package_manager --version`
//! against the same command through `Sandbox::exec`). Target: at most 1.2
//! for `read_file` and `run_shell`; the others are reported.
//!
//! `cargo bench -p hero-tests --bench tools`

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::future::Future;
use std::time::{Duration, Instant};

use hero_common::redact::Redactor;
use hero_common::tool_call::{
    DeleteFileArgs, Edit, EditFileArgs, ListFilesArgs, ReadFileArgs, RunGitArgs,
    RunPackageManagerArgs, RunShellArgs, ToolCall, WriteFileArgs,
};
use hero_tests::local_sandboxes::TempProvider;
use hero_worker::sandbox::local::IsolationMode;
use hero_worker::sandbox::{CreateSpec, ExecRequest, SandboxProvider, exec_collect};
use hero_worker::tools::manifest::Manifest;
use hero_worker::tools::{ToolLimits, Toolbox};
use secrecy::SecretString;

/// Median time of `runs` calls of `step`, after a warm-up.
async fn median<F, Fut>(runs: usize, mut step: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    for _ in 0..runs / 10 {
        step().await;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        step().await;
        times.push(started.elapsed());
    }
    times.sort();
    times[runs / 2]
}

fn report(name: &str, tool: Duration, raw: Duration, target: Option<f64>) {
    let ratio = tool.as_secs_f64() / raw.as_secs_f64();
    let verdict = match target {
        Some(t) if ratio <= t => format!("meets the {t} target"),
        Some(t) => format!("MISSES the {t} target"),
        None => String::new(),
    };
    println!("{name:>19}: tool {tool:>10.2?}  raw {raw:>10.2?}  ratio {ratio:>5.2}  {verdict}");
}

#[tokio::main]
async fn main() {
    let local = TempProvider::new(IsolationMode::Required, false).await;
    let spec = CreateSpec {
        timeout: Duration::from_secs(600),
        ..CreateSpec::default()
    };
    let sandbox = local.provider.create(spec).await.unwrap();
    let root = format!("{}/repo", sandbox.workdir());
    let file = format!("{root}/src/lib.rs");
    let text = format!("// marker A\n{}", "fn main() {}\n".repeat(200));
    sandbox.write(&file, text.as_bytes()).await.unwrap();

    let secrets = vec![(
        "API_KEY".to_owned(),
        SecretString::from("sk_live_benchmark_secret_value"),
    )];
    let toolbox = Toolbox::new(
        sandbox.clone(),
        root.clone(),
        Manifest::default_for_repository(),
        Redactor::new(secrets.clone()).unwrap(),
        secrets,
        ToolLimits::default(),
    );

    println!("median per call; local sandbox under bubblewrap");
    let raw_read = median(2000, || async {
        sandbox.read(&file).await.unwrap();
    })
    .await;
    let tool_read = median(2000, || async {
        toolbox
            .run(
                ToolCall::ReadFile(ReadFileArgs {
                    path: "src/lib.rs".to_owned(),
                    start_line: None,
                    end_line: None,
                }),
                None,
            )
            .await
            .unwrap();
    })
    .await;
    report("read_file", tool_read, raw_read, Some(1.2));

    let raw_exec = median(100, || async {
        let mut request = ExecRequest::new("true");
        request.cwd = Some(root.clone());
        exec_collect(&*sandbox, request).await.unwrap();
    })
    .await;
    let tool_exec = median(100, || async {
        toolbox
            .run(
                ToolCall::RunShell(RunShellArgs {
                    command: "true".to_owned(),
                    cwd: None,
                    timeout_ms: None,
                }),
                None,
            )
            .await
            .unwrap();
    })
    .await;
    report("run_shell", tool_exec, raw_exec, Some(1.2));

    let raw_write = median(1000, || async {
        sandbox.write(&file, text.as_bytes()).await.unwrap();
    })
    .await;
    let tool_write = median(1000, || async {
        toolbox
            .run(
                ToolCall::WriteFile(WriteFileArgs {
                    path: "src/lib.rs".to_owned(),
                    content: text.clone(),
                }),
                None,
            )
            .await
            .unwrap();
    })
    .await;
    report("write_file", tool_write, raw_write, None);

    let tool_edit = median(500, || async {
        // Two edits that undo each other: each matches exactly once.
        let edits = vec![
            Edit {
                find: "// marker A".to_owned(),
                replace: "// marker B".to_owned(),
            },
            Edit {
                find: "// marker B".to_owned(),
                replace: "// marker A".to_owned(),
            },
        ];
        toolbox
            .run(
                ToolCall::EditFile(EditFileArgs {
                    path: "src/lib.rs".to_owned(),
                    edits,
                }),
                None,
            )
            .await
            .unwrap();
    })
    .await;
    report("edit_file", tool_edit, raw_write, None);

    let raw_list = median(1000, || async {
        sandbox.list(&format!("{root}/src")).await.unwrap();
    })
    .await;
    let tool_list = median(1000, || async {
        let list = ListFilesArgs {
            path: Some("src".to_owned()),
            recursive: None,
            limit: None,
            include_ignored: Some(true),
        };
        toolbox.run(ToolCall::ListFiles(list), None).await.unwrap();
    })
    .await;
    report("list_files", tool_list, raw_list, None);

    // Both sides write the file back first; the ratio is of write plus
    // delete.
    let doomed = format!("{root}/doomed.txt");
    let raw_delete = median(500, || async {
        sandbox.write(&doomed, b"x").await.unwrap();
        sandbox.remove(&doomed).await.unwrap();
    })
    .await;
    let tool_delete = median(500, || async {
        sandbox.write(&doomed, b"x").await.unwrap();
        let delete = DeleteFileArgs {
            path: "doomed.txt".to_owned(),
        };
        toolbox
            .run(ToolCall::DeleteFile(delete), None)
            .await
            .unwrap();
    })
    .await;
    report("delete_file", tool_delete, raw_delete, None);

    let raw_command = |line: &'static str| {
        let (sandbox, root) = (sandbox.clone(), root.clone());
        move || {
            let (sandbox, root) = (sandbox.clone(), root.clone());
            async move {
                let mut request = ExecRequest::new(line);
                request.cwd = Some(root);
                let (exit, _) = exec_collect(&*sandbox, request).await.unwrap();
                assert_eq!(exit.exit_code, Some(0), "{line}");
            }
        }
    };
    raw_command("git init -q")().await;
    let raw_git = median(100, raw_command("git status --porcelain")).await;
    let tool_git = median(100, || async {
        let status = RunGitArgs {
            args: vec!["status".to_owned(), "--porcelain".to_owned()],
        };
        toolbox.run(ToolCall::RunGit(status), None).await.unwrap();
    })
    .await;
    report("run_git", tool_git, raw_git, None);

    sandbox
        .write(&format!("{root}/package.json"), br#"{"name": "bench"}"#)
        .await
        .unwrap();
    let raw_npm = median(20, raw_command("npm --version")).await;
    let tool_npm = median(20, || async {
        let version = RunPackageManagerArgs {
            args: vec!["--version".to_owned()],
        };
        toolbox
            .run(ToolCall::RunPackageManager(version), None)
            .await
            .unwrap();
    })
    .await;
    report("run_package_manager", tool_npm, raw_npm, None);
}
