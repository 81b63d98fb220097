use std::sync::Arc;

use hero_common::redact::Redactor;
use hero_common::tool_call::{
    ReadFileArgs, RunGitArgs, RunShellArgs, ToolCall, ToolError, ToolResult, WriteFileArgs,
};
use hero_tests::fake_e2b::FakeE2b;
use hero_tests::local_sandboxes::TempProvider;
use hero_worker::sandbox::e2b::E2bProvider;
use hero_worker::sandbox::local::IsolationMode;
use hero_worker::sandbox::{CreateSpec, ExecRequest, Sandbox, SandboxProvider, exec_collect};
use hero_worker::tools::manifest::{Manifest, ManifestSource};
use hero_worker::tools::{ToolLimits, Toolbox};
use secrecy::SecretString;

/// The secret every fixture's project has, given to commands as `API_KEY`.
pub const SECRET: &str = "sk_live_51HqLyjWDarjtT1zdp7dc";

/// A sandbox with a git repository at `<workdir>/repo`, and the toolbox on
/// it. Keeps whatever backs the sandbox alive.
pub struct Fixture {
    pub sandbox: Arc<dyn Sandbox>,
    pub root: String,
    _local: Option<TempProvider>,
    _fake: Option<(FakeE2b, E2bProvider)>,
}

const SETUP: &str = r#"
set -e
mkdir -p repo && cd repo
git init -q -b main
git config user.email dev@example.com && git config user.name Dev
mkdir -p src docs build node_modules/pkg
printf 'line one\nline two\nline three\n' > src/lib.rs
printf '# Readme\n' > docs/README.md
printf 'build/\nnode_modules/\n*.log\n' > .gitignore
printf 'DB_PASSWORD=hunter2\n' > .env
printf 'artifact\n' > build/out.bin
printf 'x\n' > node_modules/pkg/index.js
git add src docs .gitignore && git commit -qm initial
"#;

impl Fixture {
    pub async fn local() -> Self {
        let local = TempProvider::new(IsolationMode::Required, false).await;
        let sandbox = local.provider.create(spec()).await.unwrap();
        Self::prepare(sandbox, Some(local), None).await
    }

    pub async fn e2b() -> Self {
        let root = std::env::temp_dir().join(format!("hero-tools-e2b-{}", uuid::Uuid::new_v4()));
        let fake = FakeE2b::start(root).await;
        let provider = E2bProvider::new(fake.client_config()).unwrap();
        let sandbox = provider.create(spec()).await.unwrap();
        Self::prepare(sandbox, None, Some((fake, provider))).await
    }

    async fn prepare(
        sandbox: Arc<dyn Sandbox>,
        local: Option<TempProvider>,
        fake: Option<(FakeE2b, E2bProvider)>,
    ) -> Self {
        let (exit, output) = exec_collect(&*sandbox, ExecRequest::new(SETUP))
            .await
            .unwrap();
        assert_eq!(
            exit.exit_code,
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let root = format!("{}/repo", sandbox.workdir());
        Self {
            sandbox,
            root,
            _local: local,
            _fake: fake,
        }
    }

    /// A toolbox with the repository's manifest (generated: it has none).
    pub async fn toolbox(&self) -> Toolbox {
        let (manifest, source) = hero_worker::tools::manifest::load(&*self.sandbox, &self.root)
            .await
            .unwrap();
        assert_eq!(source, ManifestSource::Generated);
        self.toolbox_with(manifest, ToolLimits::default())
    }

    pub fn toolbox_with(&self, manifest: Manifest, limits: ToolLimits) -> Toolbox {
        let secrets = vec![("API_KEY".to_owned(), SecretString::from(SECRET))];
        let redactor = Redactor::new(secrets.clone()).unwrap();
        Toolbox::new(
            self.sandbox.clone(),
            self.root.clone(),
            manifest,
            redactor,
            secrets,
            limits,
        )
    }

    pub async fn run(&self, call: ToolCall) -> Result<ToolResult, ToolError> {
        self.toolbox().await.run(call, None).await
    }

    /// Runs a shell line in the repository, outside the tools (as setup).
    pub async fn sh(&self, line: &str) -> String {
        let mut request = ExecRequest::new(line);
        request.cwd = Some(self.root.clone());
        let (exit, output) = exec_collect(&*self.sandbox, request).await.unwrap();
        assert_eq!(
            exit.exit_code,
            Some(0),
            "{line}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

fn spec() -> CreateSpec {
    CreateSpec {
        timeout: std::time::Duration::from_secs(600),
        ..CreateSpec::default()
    }
}

pub fn read(path: &str) -> ToolCall {
    ToolCall::ReadFile(ReadFileArgs {
        path: path.to_owned(),
        start_line: None,
        end_line: None,
    })
}

pub fn write(path: &str, content: &str) -> ToolCall {
    ToolCall::WriteFile(WriteFileArgs {
        path: path.to_owned(),
        content: content.to_owned(),
    })
}

pub fn git(args: &[&str]) -> ToolCall {
    ToolCall::RunGit(RunGitArgs {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
    })
}

pub fn shell(command: &str) -> ToolCall {
    ToolCall::RunShell(RunShellArgs {
        command: command.to_owned(),
        cwd: None,
        timeout_ms: None,
    })
}

/// The content of a `read_file` result.
#[track_caller]
pub fn content(result: &ToolResult) -> &str {
    match result {
        ToolResult::ReadFile {
            content: Some(content),
            ..
        } => content,
        other => panic!("expected text from read_file, got {other:?}"),
    }
}

/// The output of a command result.
#[track_caller]
pub fn command_output(result: &ToolResult) -> &hero_common::tool_call::CommandOutput {
    match result {
        ToolResult::RunShell(output) | ToolResult::RunGit(output) => output,
        ToolResult::RunPackageManager { output, .. } => output,
        other => panic!("expected a command result, got {other:?}"),
    }
}
