//! Hero as it is deployed: a real `hero-api` process and any number of
//! real `hero-worker` processes, on a database and a Redis key prefix of
//! their own, with the local forge and local sandboxes. Processes can be
//! killed (SIGKILL), stopped (SIGTERM) and started again, for the fault
//! tests. Their output goes to files in the data directory, where tests
//! can look for what must never be logged.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use hero_common::crypto::MasterKey;
use hero_common::store::Stores;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::TestDb;

/// Where `cargo test` put the workspace's binaries: beside the `deps`
/// folder the test executable runs from.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing; `cargo test --workspace` builds it",
        path.display()
    );
    // `cargo test -p hero-tests` does not rebuild other packages' binaries;
    // one built before the newest migration would refuse the database.
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let newest = std::fs::read_dir(migrations)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.metadata().and_then(|m| m.modified()).ok())
        .max();
    if let (Some(built), Some(newest)) = (built, newest) {
        assert!(
            built >= newest,
            "{} predates the newest migration; run `cargo build --workspace --bins` \
             (or `cargo test --workspace`, which builds it)",
            path.display()
        );
    }
    path
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

pub struct Cluster {
    pub db: TestDb,
    pub stores: Stores,
    pub url: String,
    pub token: String,
    pub client: reqwest::Client,
    pub data_dir: PathBuf,
    /// The Redis key prefix every process of this cluster uses.
    pub prefix: String,
    env: Vec<(String, String)>,
    api: Option<Child>,
    workers: Vec<Worker>,
    started: usize,
}

/// A `hero-worker` process and where its probes and metrics answer.
struct Worker {
    process: Child,
    /// `http://127.0.0.1:PORT` of its `HERO_WORKER_BIND`.
    probes_url: String,
}

impl Cluster {
    /// An API and `workers` workers, started and answering.
    pub async fn start(workers: usize, extra: &[(&str, &str)]) -> Self {
        let db = TestDb::new().await;
        let data_dir = std::env::temp_dir().join(format!("hero-cluster-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&data_dir).expect("data dir");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let mut env: Vec<(String, String)> = [
            ("DATABASE_URL", db.url.expose_secret().to_owned()),
            ("SECRETS_ENCRYPTION_KEY", MasterKey::generate().to_hex()),
            ("HERO_BIND", format!("127.0.0.1:{port}")),
            ("HERO_QUEUE_PREFIX", db.name.clone()),
            ("HERO_FORGE", "local".to_owned()),
            ("HERO_FORGE_URL", format!("{url}/git")),
            ("HERO_DATA_DIR", data_dir.display().to_string()),
            ("HERO_CRON_SCHEDULE", "* * * * * *".to_owned()),
            ("HERO_LEASE_TTL", "3s".to_owned()),
            ("HERO_SHUTDOWN_TIMEOUT", "10s".to_owned()),
            ("RUST_LOG", "info,hero=debug".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );

        let stores = Stores::postgres(db.pool.clone());
        let user = stores.users.get_or_create("operator").await.expect("user");
        let (token, hash) = hero_common::api_token::generate();
        stores
            .tokens
            .create(user.id, &hash, Some("cluster"))
            .await
            .expect("token");

        let mut cluster = Self {
            prefix: db.name.clone(),
            db,
            stores,
            url,
            token: hero_common::api_token::expose(&token).to_owned(),
            client: reqwest::Client::new(),
            data_dir,
            env,
            api: None,
            workers: Vec::new(),
            started: 0,
        };
        cluster.start_api().await;
        for _ in 0..workers {
            cluster.start_worker();
        }
        cluster
    }

    fn spawn(&mut self, binary_name: &str, extra: &[(&str, String)]) -> Child {
        self.started += 1;
        let log = self
            .data_dir
            .join(format!("{binary_name}-{}.log", self.started));
        let file = std::fs::File::create(&log).expect("log file");
        let errors = file.try_clone().expect("log file");
        Command::new(binary(binary_name))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(errors)
            .kill_on_drop(true)
            .spawn()
            .expect("start a Hero process")
    }

    /// Starts the API (again) and waits until it answers.
    pub async fn start_api(&mut self) {
        let api = self.spawn("hero-api", &[]);
        self.api = Some(api);
        for _ in 0..200 {
            if let Ok(response) = self.client.get(format!("{}/readyz", self.url)).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "hero-api did not become ready; see {}",
            self.data_dir.display()
        );
    }

    pub fn start_worker(&mut self) {
        let bind = format!("127.0.0.1:{}", free_port());
        let probes_url = format!("http://{bind}");
        let process = self.spawn("hero-worker", &[("HERO_WORKER_BIND", bind)]);
        self.workers.push(Worker {
            process,
            probes_url,
        });
    }

    /// SIGKILLs the API: no chance to finish anything.
    pub async fn kill_api(&mut self) {
        if let Some(mut api) = self.api.take() {
            api.kill().await.ok();
        }
    }

    /// SIGKILLs the worker with process id `pid`.
    pub async fn kill_worker(&mut self, pid: u32) {
        if let Some(at) = self.position_of(pid) {
            let mut worker = self.workers.remove(at);
            worker.process.kill().await.ok();
        }
    }

    /// SIGTERMs a worker and waits for it to exit; returns its exit code.
    pub async fn stop_worker(&mut self, pid: u32) -> Option<i32> {
        let at = self.position_of(pid)?;
        let mut worker = self.workers.remove(at);
        let pid = rustix_pid(pid)?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).ok()?;
        worker.process.wait().await.ok()?.code()
    }

    fn position_of(&self, pid: u32) -> Option<usize> {
        self.workers
            .iter()
            .position(|w| w.process.id() == Some(pid))
    }

    /// Where the worker with process id `pid` serves `/healthz`, `/readyz`
    /// and `/metrics`.
    pub fn worker_probes_url(&self, pid: u32) -> Option<&str> {
        let at = self.position_of(pid)?;
        Some(&self.workers[at].probes_url)
    }

    /// The git token the local forge gives `owner/name`, to look for where
    /// it must never be.
    pub fn forge_token(&self, owner: &str, name: &str) -> String {
        let key = self
            .env
            .iter()
            .find(|(k, _)| k == "SECRETS_ENCRYPTION_KEY")
            .map(|(_, v)| MasterKey::parse(v).expect("the cluster's key"))
            .expect("a key");
        let tokens = hero_common::local_forge::ForgeTokens::new(&key);
        tokens.token_for(owner, name).expose_secret().to_owned()
    }

    /// Every `.git/config` in the cluster's local sandboxes.
    pub fn sandbox_git_configs(&self) -> Vec<String> {
        let mut configs = Vec::new();
        let root = self.data_dir.join("sandboxes");
        for sandbox in std::fs::read_dir(root).into_iter().flatten().flatten() {
            for candidate in ["fs/home/user/repo/.git/config"] {
                if let Ok(text) = std::fs::read_to_string(sandbox.path().join(candidate)) {
                    configs.push(text);
                }
            }
        }
        configs
    }

    pub fn worker_pids(&self) -> Vec<u32> {
        self.workers.iter().filter_map(|w| w.process.id()).collect()
    }

    /// Everything the processes printed so far.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = std::fs::read_dir(&self.data_dir) {
            for entry in entries.flatten() {
                if entry.path().extension().is_some_and(|e| e == "log") {
                    text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
                }
            }
        }
        text
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
    }

    /// A local-forge repository `owner/name` with `files`, and a project
    /// linked to it; returns the project id.
    pub async fn project(&self, owner: &str, name: &str, files: &[(&str, &str)]) -> String {
        crate::local_repos::seed(&self.data_dir, owner, name, files).await;
        let body =
            json!({"name": format!("{owner}-{name}"), "repo_owner": owner, "repo_name": name});
        let response = self
            .request(Method::POST, "/v1/projects")
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 201);
        let project: Value = response.json().await.expect("json");
        project["id"].as_str().expect("id").to_owned()
    }

    /// Enqueues a job; the accepted job's id.
    pub async fn enqueue(
        &self,
        project: &str,
        kind: &str,
        params: Value,
    ) -> reqwest::Result<String> {
        let response = self
            .request(Method::POST, &format!("/v1/projects/{project}/jobs"))
            .json(&json!({"kind": kind, "params": params}))
            .send()
            .await?
            .error_for_status()?;
        let job: Value = response.json().await?;
        Ok(job["id"].as_str().expect("job id").to_owned())
    }

    pub async fn job(&self, job: &str) -> Value {
        self.request(Method::GET, &format!("/v1/jobs/{job}"))
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json")
    }

    /// The job once it ended, waiting up to `within` (the API may be
    /// restarting meanwhile).
    pub async fn wait(&self, job: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let asked = self
                .request(Method::GET, &format!("/v1/jobs/{job}?wait=5"))
                .send()
                .await;
            if let Ok(response) = asked
                && let Ok(body) = response.json::<Value>().await
                && matches!(
                    body["status"].as_str(),
                    Some("succeeded" | "failed" | "cancelled")
                )
            {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {job} did not end within {within:?}; logs in {}",
                self.data_dir.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn rustix_pid(pid: u32) -> Option<rustix::process::Pid> {
    rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // kill_on_drop ends the processes; keep the data of a failed test.
        if !std::thread::panicking() {
            std::fs::remove_dir_all(&self.data_dir).ok();
        }
    }
}
