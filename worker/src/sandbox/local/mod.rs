//! Local sandboxes: a directory per sandbox on the worker's machine.
//!
//! A sandbox `ID` lives in `<root>/ID/`: `meta.json` says what it is and
//! when it expires, and `fs/home/user` is its workdir. Commands run under
//! bubblewrap when it works here ([`isolation`]); files are touched from
//! the worker through [`rooted_fs`], which keeps every path inside `fs/`.

mod isolation;
mod process;
mod rooted_fs;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use isolation::{ISOLATED_WORKDIR, Isolation, IsolationMode};
pub use rooted_fs::RootedFs;

use super::{
    Beneath, CreateSpec, EntryInfo, ExecExit, ExecRequest, OutputSink, ReadBeneath, Sandbox,
    SandboxError, SandboxInfo, SandboxProvider,
};

#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Where sandbox directories live, for example `HERO_DATA_DIR/sandboxes`.
    pub root: PathBuf,
    pub isolation: IsolationMode,
    /// Whether commands may reach the network (hydrate needs registries).
    pub network: bool,
}

/// The local provider. Cheap to clone; clones share the record of running
/// commands so `kill` can stop them.
#[derive(Clone)]
pub struct LocalProvider {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    isolation: Isolation,
    network: bool,
    /// Per sandbox, cancelled when it is destroyed so that its running
    /// commands stop with it.
    alive: Mutex<HashMap<String, CancellationToken>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    id: String,
    template: Option<String>,
    env: BTreeMap<String, String>,
    metadata: BTreeMap<String, String>,
    started_at: DateTime<Utc>,
    end_at: DateTime<Utc>,
}

impl LocalProvider {
    pub async fn new(config: LocalConfig) -> Result<Self, SandboxError> {
        let isolation = Isolation::detect(config.isolation)
            .await
            .map_err(SandboxError::refused)?;
        std::fs::create_dir_all(&config.root).map_err(|e| {
            SandboxError::refused(format!("cannot create {}: {e}", config.root.display()))
        })?;
        let root = config.root.canonicalize().map_err(|e| {
            SandboxError::refused(format!("cannot resolve {}: {e}", config.root.display()))
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                isolation,
                network: config.network,
                alive: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn is_isolated(&self) -> bool {
        self.inner.isolation.is_isolated()
    }

    fn dir(&self, id: &str) -> Result<PathBuf, SandboxError> {
        // Ids are ours: 20 lowercase letters and digits, as E2B's are. Anything
        // else could name a path outside the root.
        if id.len() != 20
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(SandboxError::not_found(format!("no sandbox {id:?}")));
        }
        Ok(self.inner.root.join(id))
    }

    fn read_meta(&self, id: &str) -> Result<Meta, SandboxError> {
        let path = self.dir(id)?.join("meta.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|_| SandboxError::not_found(format!("no sandbox {id}")))?;
        serde_json::from_str(&text)
            .map_err(|e| SandboxError::refused(format!("sandbox {id} is damaged: {e}")))
    }

    fn write_meta(&self, meta: &Meta) -> Result<(), SandboxError> {
        let dir = self.dir(&meta.id)?;
        let text = serde_json::to_vec_pretty(meta)
            .map_err(|e| SandboxError::refused(format!("encoding sandbox metadata: {e}")))?;
        let temporary = dir.join(".meta.json.tmp");
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, dir.join("meta.json")))
            .map_err(|e| SandboxError::transient(format!("writing sandbox metadata: {e}")))
    }

    /// The sandbox if it exists and has not expired; an expired one is
    /// destroyed on sight, as its provider timeout promises.
    fn live_meta(&self, id: &str) -> Result<Meta, SandboxError> {
        let meta = self.read_meta(id)?;
        if meta.end_at <= Utc::now() {
            self.destroy(id);
            return Err(SandboxError::not_found(format!("sandbox {id} expired")));
        }
        Ok(meta)
    }

    fn destroy(&self, id: &str) {
        if let Ok(dir) = self.dir(id) {
            std::fs::remove_dir_all(dir).ok();
        }
        if let Some(token) = self.lock_alive().remove(id) {
            token.cancel();
        }
    }

    /// A token cancelled when sandbox `id` is destroyed.
    fn alive_token(&self, id: &str) -> CancellationToken {
        self.lock_alive().entry(id.to_owned()).or_default().clone()
    }

    fn lock_alive(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.inner
            .alive
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn handle(&self, meta: Meta) -> Result<Arc<dyn Sandbox>, SandboxError> {
        let dir = self.dir(&meta.id)?;
        let fs_root = dir.join("fs");
        let workdir = if self.inner.isolation.is_isolated() {
            ISOLATED_WORKDIR.to_owned()
        } else {
            fs_root.join("home/user").display().to_string()
        };
        // Without bubblewrap, commands see host paths: map them onto `fs/`.
        let view_prefix = if self.inner.isolation.is_isolated() {
            String::new()
        } else {
            fs_root.display().to_string()
        };
        Ok(Arc::new(LocalSandbox {
            provider: self.clone(),
            files: RootedFs::new(&fs_root),
            home_dir: fs_root.join("home"),
            id: meta.id.clone(),
            workdir,
            view_prefix,
            env: meta.env,
        }))
    }
}

fn new_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

fn expiry(timeout: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::days(1))
}

#[async_trait]
impl SandboxProvider for LocalProvider {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn create(&self, spec: CreateSpec) -> Result<Arc<dyn Sandbox>, SandboxError> {
        let id = new_id();
        let dir = self.dir(&id)?;
        std::fs::create_dir_all(dir.join("fs/home/user"))
            .map_err(|e| SandboxError::transient(format!("creating sandbox {id}: {e}")))?;
        let meta = Meta {
            id: id.clone(),
            template: spec.template,
            env: spec.env,
            metadata: spec.metadata,
            started_at: Utc::now(),
            end_at: expiry(spec.timeout),
        };
        self.write_meta(&meta)?;
        tracing::debug!(sandbox = %id, "local sandbox created");
        self.handle(meta)
    }

    async fn connect(&self, id: &str) -> Result<Arc<dyn Sandbox>, SandboxError> {
        let meta = self.live_meta(id)?;
        self.handle(meta)
    }

    async fn kill(&self, id: &str) -> Result<bool, SandboxError> {
        let existed = self.dir(id).is_ok_and(|dir| dir.join("meta.json").exists());
        self.destroy(id);
        Ok(existed)
    }

    async fn list(
        &self,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Vec<SandboxInfo>, SandboxError> {
        let entries = std::fs::read_dir(&self.inner.root)
            .map_err(|e| SandboxError::transient(format!("listing sandboxes: {e}")))?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = self.live_meta(&id) else {
                continue;
            };
            if metadata
                .iter()
                .all(|(k, v)| meta.metadata.get(k) == Some(v))
            {
                found.push(SandboxInfo {
                    id: meta.id,
                    metadata: meta.metadata,
                    started_at: meta.started_at,
                    end_at: meta.end_at,
                });
            }
        }
        found.sort_by_key(|info| info.started_at);
        Ok(found)
    }

    async fn set_timeout(&self, id: &str, timeout: Duration) -> Result<(), SandboxError> {
        let mut meta = self.live_meta(id)?;
        meta.end_at = expiry(timeout);
        self.write_meta(&meta)
    }

    async fn health(&self) -> Result<(), SandboxError> {
        std::fs::metadata(&self.inner.root)
            .map(|_| ())
            .map_err(|e| SandboxError::transient(format!("sandbox root unavailable: {e}")))
    }
}

/// A handle on one local sandbox.
pub struct LocalSandbox {
    provider: LocalProvider,
    files: RootedFs,
    home_dir: PathBuf,
    id: String,
    workdir: String,
    /// What commands see in front of a path inside `fs/` (empty under
    /// bubblewrap, where `fs/home` is mounted at `/home`).
    view_prefix: String,
    env: BTreeMap<String, String>,
}

impl LocalSandbox {
    /// A path as commands see it, made relative to `fs/` for [`RootedFs`].
    fn rooted(&self, path: &str) -> Result<String, SandboxError> {
        let inside = if self.view_prefix.is_empty() {
            Some(path)
        } else {
            path.strip_prefix(self.view_prefix.as_str())
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        };
        match inside {
            Some(rest) if rest.starts_with('/') => Ok(rest.to_owned()),
            _ => Err(SandboxError::refused(format!(
                "{path:?} is outside this sandbox's files (under {})",
                self.workdir
            ))),
        }
    }

    fn check_alive(&self) -> Result<(), SandboxError> {
        self.provider
            .live_meta(&self.id)
            .map(|_| ())
            .map_err(|e| SandboxError::gone(format!("sandbox {} is gone: {}", self.id, e.message)))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(RootedFs) -> Result<T, SandboxError> + Send + 'static,
    ) -> Result<T, SandboxError> {
        self.check_alive()?;
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || work(files))
            .await
            .map_err(|e| SandboxError::transient(format!("file operation failed: {e}")))?
    }

    /// Maps a rooted path back to how commands see it.
    fn viewed(&self, mut entry: EntryInfo) -> EntryInfo {
        entry.path = format!("{}{}", self.view_prefix, entry.path);
        entry
    }
}

#[async_trait]
impl Sandbox for LocalSandbox {
    fn id(&self) -> &str {
        &self.id
    }

    fn workdir(&self) -> &str {
        &self.workdir
    }

    async fn health(&self) -> Result<(), SandboxError> {
        self.check_alive()
    }

    async fn exec(
        &self,
        request: ExecRequest,
        sink: OutputSink<'_>,
    ) -> Result<ExecExit, SandboxError> {
        self.check_alive()?;
        let cwd = request.cwd.unwrap_or_else(|| self.workdir.clone());
        // The cwd must exist inside the sandbox; checking through the rooted
        // view also stops a cwd outside it when commands see host paths.
        let rooted_cwd = self.rooted(&cwd)?;
        let info = self
            .blocking(move |files| files.stat(&rooted_cwd))
            .await
            .map_err(|e| SandboxError::refused(format!("cwd {cwd:?}: {}", e.message)))?;
        if info.kind != super::EntryKind::Directory {
            return Err(SandboxError::refused(format!(
                "cwd {cwd:?} is not a directory"
            )));
        }

        let isolation = &self.provider.inner.isolation;
        let mut command = isolation.command(
            &self.home_dir,
            &cwd,
            self.provider.inner.network,
            &request.command,
        );
        let vars = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(
                request
                    .env
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.expose_secret())),
            );
        process::set_environment(&mut command, &self.workdir, vars);

        let killed = self.provider.alive_token(&self.id);
        process::run(command, request.timeout, killed, request.cancel, sink).await
    }

    async fn read(&self, path: &str) -> Result<Vec<u8>, SandboxError> {
        let rooted = self.rooted(path)?;
        self.blocking(move |files| files.read(&rooted)).await
    }

    async fn write(&self, path: &str, contents: &[u8]) -> Result<(), SandboxError> {
        let rooted = self.rooted(path)?;
        let contents = contents.to_vec();
        self.blocking(move |files| files.write(&rooted, &contents))
            .await
    }

    async fn list(&self, path: &str) -> Result<Vec<EntryInfo>, SandboxError> {
        let rooted = self.rooted(path)?;
        let entries = self.blocking(move |files| files.list(&rooted)).await?;
        Ok(entries.into_iter().map(|e| self.viewed(e)).collect())
    }

    async fn remove(&self, path: &str) -> Result<(), SandboxError> {
        let rooted = self.rooted(path)?;
        let trimmed = rooted.trim_end_matches('/');
        if "/home/user".starts_with(trimmed) && matches!(trimmed, "" | "/home" | "/home/user") {
            return Err(SandboxError::refused(format!(
                "refusing to remove {path:?}: it holds the sandbox's workdir"
            )));
        }
        self.blocking(move |files| files.remove(&rooted)).await
    }

    async fn stat(&self, path: &str) -> Result<EntryInfo, SandboxError> {
        let rooted = self.rooted(path)?;
        let entry = self.blocking(move |files| files.stat(&rooted)).await?;
        Ok(self.viewed(entry))
    }

    async fn make_dir(&self, path: &str) -> Result<bool, SandboxError> {
        let rooted = self.rooted(path)?;
        self.blocking(move |files| files.make_dir(&rooted)).await
    }

    async fn resolve_beneath(&self, root: &str, relative: &str) -> Result<Beneath, SandboxError> {
        let rooted_root = self.rooted(root)?;
        let relative = relative.to_owned();
        let found = self
            .blocking(move |files| files.resolve_beneath(&rooted_root, &relative))
            .await?;
        Ok(match found {
            Beneath::Inside(path) => Beneath::Inside(format!("{}{path}", self.view_prefix)),
            Beneath::Outside => Beneath::Outside,
        })
    }

    async fn read_beneath(
        &self,
        root: &str,
        relative: &str,
        limit: usize,
    ) -> Result<ReadBeneath, SandboxError> {
        let rooted_root = self.rooted(root)?;
        let relative = relative.to_owned();
        let mut read = self
            .blocking(move |files| files.read_beneath(&rooted_root, &relative, limit))
            .await?;
        read.path = format!("{}{}", self.view_prefix, read.path);
        Ok(read)
    }
}
