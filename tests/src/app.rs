//! The API running in-process on a free port, against its own database.

use hero_api::Application;
use hero_common::api_token;
use hero_common::crypto::MasterKey;
use hero_common::domain::User;
use hero_common::settings::Settings;
use hero_common::store::Stores;
use reqwest::{Method, RequestBuilder};
use secrecy::ExposeSecret;

use crate::db::TestDb;
use crate::logs;

pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub client: reqwest::Client,
    pub stores: Stores,
    /// The hex of the master key the app seals with.
    pub key_hex: String,
    /// A user and their token, for requests that need one.
    pub user: User,
    pub token: String,
    pub db: TestDb,
    /// The settings the app was built from, as environment variables, so
    /// that a worker can be started with the same ones.
    pub env: Vec<(String, String)>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Spawns with extra settings, as environment variables would give them.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        Self::spawn_on(TestDb::new().await, extra, Startup::SharePool).await
    }

    /// Spawns on a database with no tables, starting as `hero-api` does:
    /// it connects on its own and applies the migrations.
    pub async fn spawn_on_empty_database() -> Self {
        Self::spawn_on(TestDb::empty().await, &[], Startup::Connect).await
    }

    async fn spawn_on(db: TestDb, extra: &[(&str, &str)], startup: Startup) -> Self {
        logs::capture();
        let key_hex = MasterKey::generate().to_hex();

        let mut env = vec![
            ("DATABASE_URL".to_owned(), db.url.expose_secret().to_owned()),
            ("SECRETS_ENCRYPTION_KEY".to_owned(), key_hex.clone()),
            ("HERO_BIND".to_owned(), "127.0.0.1:0".to_owned()),
            // Each app's queues and events live under their own Redis keys.
            ("HERO_QUEUE_PREFIX".to_owned(), db.name.clone()),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let settings = Settings::load_from(None, env.clone()).expect("test settings");

        let app = match startup {
            Startup::SharePool => Application::build_with_pool(&settings, db.pool.clone()).await,
            Startup::Connect => Application::build(&settings).await,
        }
        .expect("build app");
        let url = format!("http://{}", app.local_addr().expect("bound address"));
        tokio::spawn(app.run_until(std::future::pending()));

        let stores = Stores::postgres(db.pool.clone());
        let (user, token) = new_user(&stores, "alice").await;
        Self {
            url,
            client: reqwest::Client::new(),
            stores,
            key_hex,
            user,
            token,
            db,
            env,
        }
    }

    /// Another user with a token of their own.
    pub async fn other_user(&self, name: &str) -> (User, String) {
        new_user(&self.stores, name).await
    }

    /// A request as the test's user.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request_as(&self.token, method, path)
    }

    pub fn request_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token)
    }

    /// Creates a project for the test's user and returns its id.
    pub async fn create_project(&self, repo_name: &str) -> String {
        let response = self
            .request(Method::POST, "/v1/projects")
            .json(&serde_json::json!({ "repo_owner": "octo-org", "repo_name": repo_name }))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 201, "creating project {repo_name}");
        let body: serde_json::Value = response.json().await.expect("json");
        body["id"].as_str().expect("project id").to_owned()
    }
}

/// How the app gets its database.
enum Startup {
    /// The test's pool, which the kit has migrated.
    SharePool,
    /// Its own pool from DATABASE_URL, migrating first, as in production.
    Connect,
}

async fn new_user(stores: &Stores, name: &str) -> (User, String) {
    let user = stores.users.get_or_create(name).await.expect("user");
    let (token, hash) = api_token::generate();
    stores
        .tokens
        .create(user.id, &hash, Some("test"))
        .await
        .expect("token");
    (user, api_token::expose(&token).to_owned())
}
