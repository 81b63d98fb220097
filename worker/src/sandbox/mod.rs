//! Sandboxes: where an agent's commands run.
//!
//! One interface, two providers: [`local`] (a directory per sandbox on this
//! machine, commands under bubblewrap) and [`e2b`] (E2B's cloud sandboxes).
//! Paths given to a [`Sandbox`] are absolute paths as commands inside the
//! sandbox see them; [`Sandbox::workdir`] is the writable home where Hero
//! keeps the repository.

pub mod e2b;
pub mod error;
mod from_settings;
pub mod local;
mod quote;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

pub use error::{SandboxError, SandboxErrorKind};
pub use from_settings::provider_from_settings;
pub use quote::shell_quote;

/// Metadata key that marks a sandbox as Hero's, so orphans can be found.
pub const MANAGED_BY_KEY: &str = "managed_by";
pub const MANAGED_BY_VALUE: &str = "hero";

/// What a new sandbox should be.
#[derive(Debug, Clone, Default)]
pub struct CreateSpec {
    /// The provider's template (E2B) or image; `None` for the default.
    pub template: Option<String>,
    /// Environment every command in the sandbox gets. Project secrets do
    /// not go here: they are passed to each command instead.
    pub env: BTreeMap<String, String>,
    /// How long the sandbox lives without being refreshed.
    pub timeout: Duration,
    /// Labels, filterable with [`SandboxProvider::list`].
    pub metadata: BTreeMap<String, String>,
}

/// A sandbox as a provider lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxInfo {
    pub id: String,
    pub metadata: BTreeMap<String, String>,
    pub started_at: DateTime<Utc>,
    /// When the provider will kill it unless its timeout is extended.
    pub end_at: DateTime<Utc>,
}

/// Creates, finds and destroys sandboxes.
#[async_trait]
pub trait SandboxProvider: Send + Sync {
    /// `local` or `e2b`, as stored in the lease table.
    fn name(&self) -> &'static str;

    async fn create(&self, spec: CreateSpec) -> Result<Arc<dyn Sandbox>, SandboxError>;

    /// A handle on an existing sandbox. Its timeout is never shortened.
    async fn connect(&self, id: &str) -> Result<Arc<dyn Sandbox>, SandboxError>;

    /// Destroys a sandbox; `false` when it was already gone.
    async fn kill(&self, id: &str) -> Result<bool, SandboxError>;

    /// Running sandboxes whose metadata contains every pair in `metadata`.
    async fn list(
        &self,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Vec<SandboxInfo>, SandboxError>;

    /// Sets the sandbox to die `timeout` from now unless refreshed again.
    async fn set_timeout(&self, id: &str, timeout: Duration) -> Result<(), SandboxError>;

    /// Whether the provider itself answers (its API is reachable).
    async fn health(&self) -> Result<(), SandboxError>;
}

/// A command to run in a sandbox, through `/bin/bash -c`.
#[derive(Debug, Clone)]
pub struct ExecRequest {
    pub command: String,
    /// Absolute, inside the sandbox; the workdir when `None`.
    pub cwd: Option<String>,
    /// Added to the sandbox's environment for this command only.
    pub env: Vec<(String, SecretString)>,
    /// The command is killed, with everything it started, after this long.
    pub timeout: Duration,
    /// Cancelling it kills the command (its job was cancelled); the exec
    /// then fails with [`SandboxErrorKind::Cancelled`].
    pub cancel: CancellationToken,
}

impl ExecRequest {
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            cwd: None,
            env: Vec::new(),
            timeout: Duration::from_secs(60),
            cancel: CancellationToken::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// Receives a command's output as it is produced.
pub type OutputSink<'a> = &'a mut (dyn FnMut(OutputStream, &[u8]) + Send);

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecExit {
    /// `None` when it was killed by a signal (as on timeout).
    pub exit_code: Option<i32>,
    pub timed_out: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
}

/// A file system entry inside a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    pub name: String,
    /// Absolute, inside the sandbox.
    pub path: String,
    pub kind: EntryKind,
    pub size: u64,
    /// Unix permission bits.
    pub mode: u32,
    pub modified: Option<DateTime<Utc>>,
    pub symlink_target: Option<String>,
}

/// Where a path beneath a root leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beneath {
    /// The absolute path it resolves to, every symlink followed, still
    /// inside the root. Components that do not exist yet are kept as given.
    Inside(String),
    /// Through `..` or a symlink, it leaves the root.
    Outside,
}

/// A file read beneath a root: where it really is and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadBeneath {
    pub path: String,
    /// At most the `limit` asked for.
    pub contents: Vec<u8>,
    /// The file's whole size.
    pub size: u64,
}

/// Resolves `$HERO_RESOLVE_PATH` beneath `$HERO_RESOLVE_ROOT` with the
/// sandbox's own `realpath`, so symlinks are followed where they live.
/// Exit 3 means the path leaves the root.
const RESOLVE_SCRIPT: &str = r#"root=$(cd -P -- "$HERO_RESOLVE_ROOT" && pwd -P) || exit 2
target=$(realpath -m -- "$root/$HERO_RESOLVE_PATH") || exit 2
case "$target" in "$root"|"$root"/*) printf '%s' "$target" ;; *) exit 3 ;; esac"#;

/// One live sandbox.
#[async_trait]
pub trait Sandbox: Send + Sync {
    fn id(&self) -> &str;

    /// The writable home directory commands start in.
    fn workdir(&self) -> &str;

    /// Whether the sandbox still answers; a dead one reports `Gone`.
    async fn health(&self) -> Result<(), SandboxError>;

    /// Runs a command, streaming its output into `sink`. A command that
    /// outlives its timeout is killed and reported with `timed_out`, not as
    /// an error.
    async fn exec(
        &self,
        request: ExecRequest,
        sink: OutputSink<'_>,
    ) -> Result<ExecExit, SandboxError>;

    async fn read(&self, path: &str) -> Result<Vec<u8>, SandboxError>;

    /// Writes a file, creating parent directories and replacing what was
    /// there.
    async fn write(&self, path: &str, contents: &[u8]) -> Result<(), SandboxError>;

    /// The entries directly inside a directory.
    async fn list(&self, path: &str) -> Result<Vec<EntryInfo>, SandboxError>;

    /// Removes a file, or a directory with everything in it.
    async fn remove(&self, path: &str) -> Result<(), SandboxError>;

    /// Information about one entry, without following a final symlink.
    async fn stat(&self, path: &str) -> Result<EntryInfo, SandboxError>;

    /// Creates a directory and its parents; `false` when it existed.
    async fn make_dir(&self, path: &str) -> Result<bool, SandboxError>;

    /// Resolves `relative` beneath the directory `root` as the sandbox's own
    /// file system sees it, following every symlink (including ones a
    /// command made a moment ago). The default asks the sandbox's
    /// `realpath`; providers that can resolve without a command override it.
    async fn resolve_beneath(&self, root: &str, relative: &str) -> Result<Beneath, SandboxError> {
        let mut request = ExecRequest::new(RESOLVE_SCRIPT);
        request.env = vec![
            (
                "HERO_RESOLVE_ROOT".to_owned(),
                SecretString::from(root.to_owned()),
            ),
            (
                "HERO_RESOLVE_PATH".to_owned(),
                SecretString::from(relative.to_owned()),
            ),
        ];
        request.timeout = Duration::from_secs(30);
        let mut output = CollectedOutput::default();
        let mut sink = |stream: OutputStream, bytes: &[u8]| match stream {
            OutputStream::Stdout => output.stdout.extend_from_slice(bytes),
            OutputStream::Stderr => output.stderr.extend_from_slice(bytes),
        };
        let exit = self.exec(request, &mut sink).await?;
        match exit.exit_code {
            Some(0) => Ok(Beneath::Inside(
                String::from_utf8_lossy(&output.stdout).into_owned(),
            )),
            Some(3) => Ok(Beneath::Outside),
            _ => Err(SandboxError::not_found(format!(
                "cannot resolve {relative:?} under {root:?}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))),
        }
    }

    /// Reads at most `limit` bytes of the file `relative` leads to beneath
    /// `root`; `Refused` when it leads outside.
    async fn read_beneath(
        &self,
        root: &str,
        relative: &str,
        limit: usize,
    ) -> Result<ReadBeneath, SandboxError> {
        let Beneath::Inside(path) = self.resolve_beneath(root, relative).await? else {
            return Err(SandboxError::refused(format!(
                "{relative:?} leads outside {root}"
            )));
        };
        let mut contents = self.read(&path).await?;
        let size = u64::try_from(contents.len()).unwrap_or(u64::MAX);
        contents.truncate(limit);
        Ok(ReadBeneath {
            path,
            contents,
            size,
        })
    }
}

/// A command's whole output, for callers that do not stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectedOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs a command and collects its output.
pub async fn exec_collect(
    sandbox: &dyn Sandbox,
    request: ExecRequest,
) -> Result<(ExecExit, CollectedOutput), SandboxError> {
    let mut output = CollectedOutput::default();
    let mut sink = |stream: OutputStream, bytes: &[u8]| match stream {
        OutputStream::Stdout => output.stdout.extend_from_slice(bytes),
        OutputStream::Stderr => output.stderr.extend_from_slice(bytes),
    };
    let exit = sandbox.exec(request, &mut sink).await?;
    Ok((exit, output))
}
