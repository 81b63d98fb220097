//! Hero whole, in-process: the API (with its dispatcher) and one or more
//! workers on one database and one Redis key prefix, with the local forge
//! and local sandboxes in a data directory of their own. Tests and
//! benchmarks drive it over HTTP, as an IDE would.

use std::path::PathBuf;
use std::time::Duration;

use hero_common::crypto::MasterKey;
use hero_common::local_forge::ForgeTokens;
use hero_common::settings::Settings;
use hero_worker::serve::run_worker;
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TestApp;

pub struct HeroEnv {
    pub app: TestApp,
    pub data_dir: PathBuf,
    /// Settings a worker of this Hero runs with, as environment variables.
    pub worker_env: Vec<(String, String)>,
    workers: Vec<(CancellationToken, JoinHandle<()>)>,
}

impl HeroEnv {
    /// The API and one worker, with `extra` settings for both.
    pub async fn start(extra: &[(&str, &str)]) -> Self {
        let mut env = Self::api_only(extra).await;
        env.add_worker().await;
        env
    }

    /// The API alone; add workers with [`HeroEnv::add_worker`].
    pub async fn api_only(extra: &[(&str, &str)]) -> Self {
        let data_dir = std::env::temp_dir().join(format!("hero-env-{}", uuid::Uuid::new_v4()));
        let data = data_dir.to_str().expect("utf-8 temp dir").to_owned();
        let mut settings = vec![
            ("HERO_FORGE", "local"),
            ("HERO_DATA_DIR", data.as_str()),
            // Housekeeping every second, and leases that expire in seconds,
            // so that recovery is seen within a test.
            ("HERO_CRON_SCHEDULE", "* * * * * *"),
            ("HERO_LEASE_TTL", "3s"),
            ("HERO_SHUTDOWN_TIMEOUT", "5s"),
        ];
        settings.extend_from_slice(extra);
        let app = TestApp::spawn_with(&settings).await;
        let mut worker_env = app.env.clone();
        worker_env.push(("HERO_FORGE_URL".to_owned(), format!("{}/git", app.url)));
        Self {
            app,
            data_dir,
            worker_env,
            workers: Vec::new(),
        }
    }

    /// Starts another in-process worker.
    pub async fn add_worker(&mut self) {
        let settings = self.settings();
        let pool = self.app.db.pool.clone();
        let stop = CancellationToken::new();
        let stopping = stop.clone();
        let handle = tokio::spawn(async move {
            if let Err(error) = run_worker(&settings, pool, stopping).await {
                panic!("worker failed: {error:#}");
            }
        });
        self.workers.push((stop, handle));
    }

    /// Stops every in-process worker, letting running jobs wind down.
    pub async fn stop_workers(&mut self) {
        for (stop, handle) in self.workers.drain(..) {
            stop.cancel();
            handle.await.ok();
        }
    }

    /// Makes `owner/name` in the local forge with `files` on `main`, and
    /// links a project of the test's user to it; returns the project id.
    pub async fn project_with_repo(
        &self,
        owner: &str,
        name: &str,
        files: &[(&str, &str)],
    ) -> String {
        crate::local_repos::seed(&self.data_dir, owner, name, files).await;
        self.link_project(owner, name).await
    }

    /// Links a project of the test's user to `owner/name` on whichever
    /// forge this Hero uses; returns the project id.
    pub async fn link_project(&self, owner: &str, name: &str) -> String {
        let response = self
            .app
            .request(Method::POST, "/v1/projects")
            .json(&json!({ "name": format!("{owner}-{name}"), "repo_owner": owner, "repo_name": name }))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 201, "linking {owner}/{name}");
        let project: Value = response.json().await.expect("json");
        project["id"].as_str().expect("id").to_owned()
    }

    /// The settings this Hero's workers run with.
    pub fn settings(&self) -> Settings {
        Settings::load_from(None, self.worker_env.clone()).expect("worker settings")
    }

    /// A connection to this Hero's Redis (its keys are under
    /// `settings().queue.prefix`).
    pub async fn redis(&self) -> redis::aio::MultiplexedConnection {
        let url = self.settings().redis_url;
        redis::Client::open(url.expose_secret())
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis")
    }

    /// The token the local forge hands out for `owner/name`.
    pub fn local_forge_token(&self, owner: &str, name: &str) -> String {
        let key = MasterKey::parse(&self.app.key_hex).expect("the app's master key");
        ForgeTokens::new(&key)
            .token_for(owner, name)
            .expose_secret()
            .to_owned()
    }

    /// `GET path` as the test's user, its JSON body.
    pub async fn get(&self, path: &str) -> Value {
        self.app
            .request(Method::GET, path)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json")
    }

    /// Enqueues a job and returns its id.
    pub async fn enqueue(&self, project: &str, kind: &str, params: Value) -> String {
        let job = self
            .enqueue_with(project, json!({ "kind": kind, "params": params }))
            .await;
        job["id"].as_str().expect("job id").to_owned()
    }

    /// Enqueues a job from a full request body; returns the job as answered.
    pub async fn enqueue_with(&self, project: &str, body: Value) -> Value {
        let response = self
            .app
            .request(Method::POST, &format!("/v1/projects/{project}/jobs"))
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 202, "enqueueing {body}");
        response.json().await.expect("json")
    }

    /// The job once it ended, waiting up to `within`.
    pub async fn wait(&self, job: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let seconds = left.as_secs().clamp(1, 60);
            let response = self
                .app
                .request(Method::GET, &format!("/v1/jobs/{job}?wait={seconds}"))
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.expect("json");
            let status = body["status"].as_str().unwrap_or_default();
            if matches!(status, "succeeded" | "failed" | "cancelled") {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {job} did not end within {within:?}: {body}"
            );
        }
    }

    /// The job as soon as `reached` holds of it, looking every few
    /// milliseconds for up to `within`: for states that pass too quickly
    /// to wait on (running, queued again for a retry).
    pub async fn wait_until(
        &self,
        job: &str,
        within: Duration,
        reached: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let now = self.get(&format!("/v1/jobs/{job}")).await;
            if reached(&now) {
                return now;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {job} did not get there within {within:?}: {now}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Enqueues a job and waits for it to end.
    pub async fn run(&self, project: &str, kind: &str, params: Value) -> Value {
        let job = self.enqueue(project, kind, params).await;
        self.wait(&job, Duration::from_secs(120)).await
    }
}

impl Drop for HeroEnv {
    fn drop(&mut self) {
        for (stop, _) in &self.workers {
            stop.cancel();
        }
        std::fs::remove_dir_all(&self.data_dir).ok();
    }
}

/// Asserts a job succeeded and returns its result.
#[track_caller]
pub fn succeeded(job: &Value) -> &Value {
    assert_eq!(job["status"], "succeeded", "job did not succeed: {job}");
    &job["result"]
}
