//! Building the API from settings and serving it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use hero_common::db;
use hero_common::github_oauth::OAuthTokenStore;
use hero_common::jobs::dispatch::Dispatcher;
use hero_common::jobs::events::StatusFeed;
use hero_common::jobs::queue;
use hero_common::local_forge::{ForgeLayout, ForgeTokens};
use hero_common::settings::{ForgeKind, Settings};
use hero_common::store::Stores;
use hero_common::vault::Vault;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::routes;
use crate::routes::git::LocalForgeServer;
use crate::state::AppState;
use crate::webhooks::signature::WebhookSecret;

/// The API, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    dispatcher: Dispatcher,
    feed: StatusFeed,
    dispatch_interval: Duration,
}

impl Application {
    /// Connects to Postgres, applies migrations, opens the vault and binds
    /// `settings.bind` (port 0 picks a free port, as tests do).
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let pool = db::connect(&settings.database_url, 20).await?;
        db::migrate(&pool).await?;
        Self::build_with_pool(settings, pool).await
    }

    pub async fn build_with_pool(settings: &Settings, pool: PgPool) -> anyhow::Result<Self> {
        hero_common::metrics::install();
        let stores = Stores::postgres(pool.clone());
        let key = settings.encryption_key()?;
        let previous = &settings.secrets_encryption_key_previous;
        let vault = Vault::open(&stores, key, previous)
            .await
            .context("registering the encryption keys")?;
        let oauth = OAuthTokenStore::from_settings(settings, pool.clone(), &stores).await?;
        let redis_url = settings.redis_url.expose_secret();
        let redis_client = redis::Client::open(redis_url).context("REDIS_URL is not usable")?;
        let redis = queue::connect(redis_url)
            .await
            .context("connecting to Redis (REDIS_URL)")?;
        let dispatcher = Dispatcher::new(stores.jobs.clone(), redis, settings.queue.clone());
        let feed = StatusFeed::listen(&pool)
            .await
            .context("listening for job status changes")?;
        let state = AppState {
            stores,
            vault: Arc::new(vault),
            oauth,
            dispatcher: dispatcher.clone(),
            feed: feed.clone(),
            redis_client,
            local_forge: (settings.forge == ForgeKind::Local).then(|| {
                Arc::new(LocalForgeServer {
                    layout: ForgeLayout::in_data_dir(&settings.data_dir),
                    tokens: ForgeTokens::new(key),
                })
            }),
            github_webhook_secret: settings
                .github_webhook_secret
                .clone()
                .map(|secret| Arc::new(WebhookSecret::new(secret))),
        };

        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("cannot listen on {} (HERO_BIND)", settings.bind))?;
        Ok(Self {
            listener,
            router: app(state, settings.max_body_bytes),
            dispatcher,
            feed,
            dispatch_interval: settings.dispatch_interval,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.listener.local_addr()?, "hero-api listening");
        // Job results and streamed events are small writes that must not
        // wait on delayed ACKs.
        let listener = self.listener.tap_io(|tcp| {
            tcp.set_nodelay(true).ok();
        });
        // The dispatcher runs beside the routes; several API replicas each
        // run one, and they share the work through the job record.
        let stop = CancellationToken::new();
        let dispatching = tokio::spawn(self.dispatcher.run(
            self.feed,
            self.dispatch_interval,
            stop.clone(),
        ));
        let served = axum::serve(listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP");
        stop.cancel();
        dispatching.await.ok();
        served
    }
}

/// The router with its middleware: request spans, a body limit, and a
/// panic turned into a JSON 500 rather than a dropped connection.
pub fn app(state: AppState, max_body_bytes: usize) -> Router {
    let (router, _) = routes::router(state);
    router
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(CatchPanicLayer::custom(|_| panic_response()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("", MatchedPath::as_str);
                tracing::info_span!("request", method = %request.method(), route)
            }),
        )
}

fn panic_response() -> Response {
    tracing::error!("request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error; it has been logged",
    )
    .into_response()
}
