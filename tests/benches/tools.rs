//! Each tool's overhead over the raw sandbox operation it wraps, on a local
//! sandbox under bubblewrap, in the same run: `read_file` against
//! `Sandbox::read`, `run_shell` of `true` against `Sandbox::exec`, and
//! every other tool against the sandbox operation it stands for
//! (`list_files` against `Sandbox::list`, `delete_file` against
//! `Sandbox::remove`, `run_git status` and `run_package_manager --version`
//! against the same command through `Sandbox::exec`). Target: at most 1.2
//! for `read_file` and `run_shell`; the others are reported.
//!
//! Raw and tool calls are taken in turn. `cargo bench -p hero-tests --bench tools`

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

/// Median times of `runs` calls each of `raw` and `tool`, after a
/// warm-up, the two taken in turn so that both see the same machine (a
/// shared one drifts between phases far more than the overhead measured).
async fn medians<R, RF, T, TF>(runs: usize, mut raw: R, mut tool: T) -> (Duration, Duration)
where
    R: FnMut() -> RF,
    RF: Future<Output = ()>,
    T: FnMut() -> TF,
    TF: Future<Output = ()>,
{
    for _ in 0..runs / 10 {
        raw().await;
        tool().await;
    }
    let (mut raw_times, mut tool_times) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let started = Instant::now();
        raw().await;
        raw_times.push(started.elapsed());
        let started = Instant::now();
        tool().await;
        tool_times.push(started.elapsed());
    }
    raw_times.sort();
    tool_times.sort();
    (raw_times[runs / 2], tool_times[runs / 2])
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
    println!("median per call, raw and tool calls in turn; local sandbox under bubblewrap");
    let read = || {
        toolbox.run(
            ToolCall::ReadFile(ReadFileArgs {
                path: "src/lib.rs".to_owned(),
                start_line: None,
                end_line: None,
            }),
            None,
        )
    };
    let (raw, tool) = medians(
        2000,
        || async {
            sandbox.read(&file).await.unwrap();
        },
        || async {
            read().await.unwrap();
        },
    )
    .await;
    report("read_file", tool, raw, Some(1.2));

    let shell = || {
        toolbox.run(
            ToolCall::RunShell(RunShellArgs {
                command: "true".to_owned(),
                cwd: None,
                timeout_ms: None,
            }),
            None,
        )
    };
    let (raw, tool) = medians(100, raw_command("true"), || async {
        shell().await.unwrap();
    })
    .await;
    report("run_shell", tool, raw, Some(1.2));

    let write = || {
        toolbox.run(
            ToolCall::WriteFile(WriteFileArgs {
                path: "src/lib.rs".to_owned(),
                content: text.clone(),
            }),
            None,
        )
    };
    let raw_write = || async {
        sandbox.write(&file, text.as_bytes()).await.unwrap();
    };
    let (raw, tool) = medians(1000, raw_write, || async {
        write().await.unwrap();
    })
    .await;
    report("write_file", tool, raw, None);

    let edit = || {
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
        toolbox.run(
            ToolCall::EditFile(EditFileArgs {
                path: "src/lib.rs".to_owned(),
                edits,
            }),
            None,
        )
    };
    let (raw, tool) = medians(500, raw_write, || async {
        edit().await.unwrap();
    })
    .await;
    report("edit_file", tool, raw, None);

    let list = || {
        let list = ListFilesArgs {
            path: Some("src".to_owned()),
            recursive: None,
            limit: None,
            include_ignored: Some(true),
        };
        toolbox.run(ToolCall::ListFiles(list), None)
    };
    let (raw, tool) = medians(
        1000,
        || async {
            sandbox.list(&format!("{root}/src")).await.unwrap();
        },
        || async {
            list().await.unwrap();
        },
    )
    .await;
    report("list_files", tool, raw, None);

    // Both sides write the file back first; the ratio is of write plus
    // delete.
    let doomed = format!("{root}/doomed.txt");
    let (raw, tool) = medians(
        500,
        || async {
            sandbox.write(&doomed, b"x").await.unwrap();
            sandbox.remove(&doomed).await.unwrap();
        },
        || async {
            sandbox.write(&doomed, b"x").await.unwrap();
            let delete = DeleteFileArgs {
                path: "doomed.txt".to_owned(),
            };
            toolbox
                .run(ToolCall::DeleteFile(delete), None)
                .await
                .unwrap();
        },
    )
    .await;
    report("delete_file", tool, raw, None);

    raw_command("git init -q")().await;
    let (raw, tool) = medians(100, raw_command("git status --porcelain"), || async {
        let status = RunGitArgs {
            args: vec!["status".to_owned(), "--porcelain".to_owned()],
        };
        toolbox.run(ToolCall::RunGit(status), None).await.unwrap();
    })
    .await;
    report("run_git", tool, raw, None);

    sandbox
        .write(&format!("{root}/package.json"), br#"{"name": "bench"}"#)
        .await
        .unwrap();
    let (raw, tool) = medians(20, raw_command("npm --version"), || async {
        let version = RunPackageManagerArgs {
            args: vec!["--version".to_owned()],
        };
        toolbox
            .run(ToolCall::RunPackageManager(version), None)
            .await
            .unwrap();
    })
    .await;
    report("run_package_manager", tool, raw, None);
}
