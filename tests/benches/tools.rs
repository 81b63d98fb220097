//! Each tool's overhead over the raw sandbox operation it wraps, on a local
//! sandbox under bubblewrap, in the same run: `read_file` against
//! `Sandbox::read`, `run_shell` of `true` against `Sandbox::exec`, and the
//! other file tools for reference. Target: at most 1.2 for `read_file` and
//! `run_shell`.
//!
//! `cargo bench -p hero-tests --bench tools`

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::future::Future;
use std::time::{Duration, Instant};

use hero_common::redact::Redactor;
use hero_common::tool_call::{
    Edit, EditFileArgs, ReadFileArgs, RunShellArgs, ToolCall, WriteFileArgs,
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
    println!("{name:>12}: tool {tool:>10.2?}  raw {raw:>10.2?}  ratio {ratio:>5.2}  {verdict}");
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
}
