//! What the fake remembers: its sandboxes, their deadlines and running
//! commands, and the sweeper that kills sandboxes whose deadline passed.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hero_worker::sandbox::local::LocalProvider;
use hero_worker::sandbox::{Sandbox, SandboxProvider};
use serde_json::Value;
use tokio::task::AbortHandle;

use super::{Faults, Options};

/// How often the sweeper looks for expired sandboxes. Lookups check the
/// deadline too, so a request never reaches a sandbox past its deadline.
const SWEEP_EVERY: Duration = Duration::from_millis(100);

/// The envd version the fake claims: current envd (NOTES §2).
pub const ENVD_VERSION: &str = "0.6.13";

pub struct State {
    pub api_key: String,
    pub faults: Faults,
    provider: LocalProvider,
    sandboxes: Mutex<HashMap<String, Arc<FakeSandbox>>>,
    /// `Idempotency-Key` of a v2 create → the sandbox it created.
    idempotency: Mutex<HashMap<String, String>>,
    next_pid: AtomicU32,
}

pub struct FakeSandbox {
    pub id: String,
    pub template_id: String,
    pub metadata: BTreeMap<String, String>,
    pub started_at: DateTime<Utc>,
    /// envd's token; `None` for a v1 sandbox created without `secure`.
    pub access_token: Option<String>,
    pub local: Arc<dyn Sandbox>,
    end_at: Mutex<DateTime<Utc>>,
    processes: Mutex<HashMap<u32, RunningProcess>>,
}

/// A command started through `Process.Start`.
pub struct RunningProcess {
    /// `ProcessConfig` as it was asked for, for `Process.List`.
    pub config: Value,
    pub tag: Option<String>,
    /// Aborting the command's task drops the local exec, which kills the
    /// command's whole process group.
    pub abort: AbortHandle,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub async fn new(options: &Options, faults: Faults) -> Result<Arc<Self>, String> {
        let provider = super::local_provider(options).await?;
        Ok(Arc::new(Self {
            api_key: options.api_key.clone(),
            faults,
            provider,
            sandboxes: Mutex::new(HashMap::new()),
            idempotency: Mutex::new(HashMap::new()),
            next_pid: AtomicU32::new(100),
        }))
    }

    pub fn provider(&self) -> &LocalProvider {
        &self.provider
    }

    pub fn add(&self, sandbox: FakeSandbox, idempotency_key: Option<String>) -> Arc<FakeSandbox> {
        let sandbox = Arc::new(sandbox);
        lock(&self.sandboxes).insert(sandbox.id.clone(), sandbox.clone());
        if let Some(key) = idempotency_key {
            lock(&self.idempotency).insert(key, sandbox.id.clone());
        }
        sandbox
    }

    /// The sandbox an idempotency key already created, if it still lives.
    pub fn created_with(&self, key: &str) -> Option<Arc<FakeSandbox>> {
        let id = lock(&self.idempotency).get(key).cloned()?;
        self.live(&id)
    }

    /// A sandbox that exists and whose deadline has not passed. One whose
    /// deadline has passed is killed on sight, whatever the sweeper does.
    pub fn live(&self, id: &str) -> Option<Arc<FakeSandbox>> {
        let sandbox = lock(&self.sandboxes).get(id).cloned()?;
        if sandbox.end_at() <= Utc::now() {
            self.remove(id);
            return None;
        }
        Some(sandbox)
    }

    /// Every live sandbox.
    pub fn all_live(&self) -> Vec<Arc<FakeSandbox>> {
        let ids: Vec<String> = lock(&self.sandboxes).keys().cloned().collect();
        ids.iter().filter_map(|id| self.live(id)).collect()
    }

    /// Kills a sandbox; `false` when there was none.
    pub fn remove(&self, id: &str) -> bool {
        let Some(sandbox) = lock(&self.sandboxes).remove(id) else {
            return false;
        };
        for (_, process) in lock(&sandbox.processes).drain() {
            process.abort.abort();
        }
        let provider = self.provider.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            if let Err(error) = provider.kill(&id).await {
                tracing::warn!(sandbox = %id, %error, "fake e2b: killing the local sandbox failed");
            }
        });
        true
    }

    pub fn next_pid(&self) -> u32 {
        self.next_pid.fetch_add(1, Ordering::Relaxed)
    }
}

impl FakeSandbox {
    pub fn new(
        local: Arc<dyn Sandbox>,
        template_id: String,
        metadata: BTreeMap<String, String>,
        timeout: Duration,
        access_token: Option<String>,
    ) -> Self {
        let now = Utc::now();
        Self {
            id: local.id().to_owned(),
            template_id,
            metadata,
            started_at: now,
            access_token,
            local,
            end_at: Mutex::new(now + to_chrono(timeout)),
            processes: Mutex::new(HashMap::new()),
        }
    }

    pub fn end_at(&self) -> DateTime<Utc> {
        *lock(&self.end_at)
    }

    /// The deadline becomes now + `timeout`, shorter or longer.
    pub fn set_timeout(&self, timeout: Duration) {
        *lock(&self.end_at) = Utc::now() + to_chrono(timeout);
    }

    /// The deadline becomes now + `timeout` if that is later.
    pub fn extend(&self, timeout: Duration) {
        let wanted = Utc::now() + to_chrono(timeout);
        let mut end_at = lock(&self.end_at);
        if wanted > *end_at {
            *end_at = wanted;
        }
    }

    pub fn add_process(&self, pid: u32, process: RunningProcess) {
        lock(&self.processes).insert(pid, process);
    }

    pub fn forget_process(&self, pid: u32) {
        lock(&self.processes).remove(&pid);
    }

    /// Kills a command; `false` when there was no such pid.
    pub fn kill_process(&self, pid: u32) -> bool {
        match lock(&self.processes).remove(&pid) {
            Some(process) => {
                process.abort.abort();
                true
            }
            None => false,
        }
    }

    pub fn process_count(&self) -> usize {
        lock(&self.processes).len()
    }

    /// `ProcessInfo` of every running command.
    pub fn process_infos(&self) -> Vec<Value> {
        let processes = lock(&self.processes);
        let mut infos: Vec<(u32, Value)> = processes
            .iter()
            .map(|(pid, process)| {
                let mut info = serde_json::json!({ "config": process.config, "pid": pid });
                if let Some(tag) = &process.tag {
                    info["tag"] = Value::String(tag.clone());
                }
                (*pid, info)
            })
            .collect();
        infos.sort_by_key(|(pid, _)| *pid);
        infos.into_iter().map(|(_, info)| info).collect()
    }
}

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::days(365))
}

/// Kills sandboxes as their deadlines pass, for as long as the fake runs.
pub async fn sweep(state: Arc<State>) {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    loop {
        ticks.tick().await;
        let now = Utc::now();
        let due: Vec<String> = lock(&state.sandboxes)
            .values()
            .filter(|sandbox| sandbox.end_at() <= now)
            .map(|sandbox| sandbox.id.clone())
            .collect();
        for id in due {
            tracing::debug!(sandbox = %id, "fake e2b: sandbox expired");
            state.remove(&id);
        }
    }
}
