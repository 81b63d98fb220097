//! An API with a webhook secret, projects linked to one repository, and
//! signed deliveries sent to it.

use hero_common::jobs::queue::{self, JobMessage, Presence};
use hero_common::jobs::{Job, JobFilter};
use hero_common::settings::Settings;
use hero_tests::TestApp;
use hero_tests::fake_github::webhooks::{EventSource, signature};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use uuid::Uuid;

pub const SECRET: &str = "whsec-canary-3f9a1c7e5b";
pub const INSTALLATION: i64 = 42;

/// The test app and the repository its deliveries come from.
pub struct Hook {
    pub app: TestApp,
    pub source: EventSource,
}

/// What the webhook answered.
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Hook {
    /// An API that knows the webhook secret, with deliveries from
    /// `octo-org/shop` through installation 42.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        let mut settings = vec![("GITHUB_WEBHOOK_SECRET", SECRET)];
        settings.extend_from_slice(extra);
        Self {
            app: TestApp::spawn_with(&settings).await,
            source: EventSource::new("octo-org", "shop", Some(INSTALLATION)),
        }
    }

    /// A project of the test's user on `octo-org/shop`, linked to
    /// installation 42, with these `webhook_triggers`.
    pub async fn project(&self, name: &str, triggers: Value) -> Uuid {
        self.project_as(&self.app.token, name, Some(INSTALLATION), triggers)
            .await
    }

    pub async fn project_as(
        &self,
        token: &str,
        name: &str,
        installation: Option<i64>,
        triggers: Value,
    ) -> Uuid {
        let response = self
            .app
            .request_as(token, Method::POST, "/v1/projects")
            .json(&json!({
                "name": name,
                "repo_owner": "octo-org",
                "repo_name": "shop",
                "github_installation_id": installation,
                "webhook_triggers": triggers,
            }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "creating project {name}: {body}");
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Sends `payload` as GitHub would: signed, with a new delivery id.
    pub async fn deliver(&self, event: &str, payload: &Value) -> Answer {
        self.deliver_as(event, &Uuid::new_v4().to_string(), payload)
            .await
    }

    /// Sends `payload` under a chosen delivery id, as a redelivery keeps
    /// the first one's.
    pub async fn deliver_as(&self, event: &str, delivery: &str, payload: &Value) -> Answer {
        let body = payload.to_string().into_bytes();
        let signed = signature(SECRET, &body);
        self.send(
            &[
                ("x-github-event", event),
                ("x-github-delivery", delivery),
                ("x-hub-signature-256", &signed),
            ],
            body,
        )
        .await
    }

    /// Sends a body with exactly these headers (and a JSON content type).
    pub async fn send(&self, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
        let mut request = self
            .app
            .client
            .post(format!("{}/v1/webhooks/github", self.app.url))
            .header("content-type", "application/json")
            .header("user-agent", "GitHub-Hookshot/5a1b2c3");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.body(body).send().await.unwrap();
        Answer {
            status: response.status().as_u16(),
            body: response.json().await.unwrap_or(Value::Null),
        }
    }

    /// A ready, unleased sandbox for the project in `slot`, as a worker
    /// would have left it; returns its row id.
    pub async fn sandbox(&self, project: Uuid, slot: i32) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO sandboxes (id, project_id, provider, provider_id, state, slot)
             VALUES ($1, $2, 'local', $3, 'ready', $4)",
        )
        .bind(id)
        .bind(project)
        .bind(format!("local-{id}"))
        .bind(slot)
        .execute(&self.app.db.pool)
        .await
        .unwrap();
        id
    }

    /// Whether closing the sandbox row was asked for.
    pub async fn close_requested(&self, sandbox: Uuid) -> bool {
        sqlx::query_scalar("SELECT close_requested_at IS NOT NULL FROM sandboxes WHERE id = $1")
            .bind(sandbox)
            .fetch_one(&self.app.db.pool)
            .await
            .unwrap()
    }

    /// The project's jobs, newest first, from the record itself.
    pub async fn jobs(&self, project: Uuid) -> Vec<Job> {
        self.app
            .stores
            .jobs
            .list(project, &JobFilter::default(), None, 100)
            .await
            .unwrap()
    }

    /// Where the job's current dispatch is in the app's Redis queues.
    pub async fn in_queue(&self, job: &Job) -> Presence {
        let settings = Settings::load_from(None, self.app.env.clone()).unwrap();
        let mut redis = queue::connect(settings.redis_url.expose_secret())
            .await
            .unwrap();
        let message = JobMessage {
            job: job.id,
            dispatch: job.dispatch,
        };
        queue::presence(&mut redis, &settings.queue, job.kind, &message)
            .await
            .unwrap()
    }
}

impl Answer {
    /// The error code of a refused delivery.
    #[track_caller]
    pub fn error(&self, status: u16, code: &str) -> &str {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        self.body["error"]["message"].as_str().unwrap()
    }

    /// The report of an accepted delivery.
    #[track_caller]
    pub fn report(&self, status: u16, outcome: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["outcome"], outcome, "{}", self.body);
        &self.body
    }
}
