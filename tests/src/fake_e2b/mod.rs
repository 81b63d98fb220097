//! A fake E2B: the control plane and envd on one port, speaking the wire
//! formats of `shared/specs/e2b/` (and NOTES.md beside them) closely
//! enough that the official SDK drives it unchanged.
//!
//! Every E2B sandbox here is a local sandbox ([`LocalProvider`] under
//! bubblewrap, so paths inside look as they do on E2B: the home is
//! `/home/user`). envd requests are told apart from control-plane ones by
//! the `E2b-Sandbox-Id` header, as E2B's proxy does for its shared sandbox
//! host; pointing a client's sandbox URL (`E2B_SANDBOX_URL`) at the same
//! address as its API URL reaches both. Sandboxes really expire: a
//! sweeper kills each one when its deadline passes, after which envd
//! requests get the proxy's 502. [`Faults`] makes it misbehave on demand.

mod connect;
mod control;
mod envd;
mod faults;
mod multipart;
mod process;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use hero_worker::sandbox::e2b::E2bConfig;
use hero_worker::sandbox::local::{IsolationMode, LocalConfig, LocalProvider};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use faults::{Faults, Rejection, Scope};
use state::State;

/// How the fake is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the local sandboxes live.
    pub root: PathBuf,
    /// The only `X-API-Key` the control plane accepts.
    pub api_key: String,
    /// How the local sandboxes isolate commands. Only bubblewrap gives
    /// commands E2B's paths, so anything else is for experiments.
    pub isolation: IsolationMode,
}

/// A fake running in this process on a free port. Dropping it stops the
/// server and removes its sandboxes.
pub struct FakeE2b {
    /// `http://127.0.0.1:PORT`: the API URL and the sandbox URL.
    pub url: String,
    pub api_key: String,
    pub faults: Faults,
    state: Arc<State>,
    root: PathBuf,
    server: JoinHandle<()>,
    sweeper: JoinHandle<()>,
}

impl FakeE2b {
    /// Starts a fake whose sandboxes live under `root`, which it removes
    /// when dropped.
    pub async fn start(root: impl Into<PathBuf>) -> Self {
        let api_key = format!("e2b_{}", uuid::Uuid::new_v4().simple());
        let options = Options {
            root: root.into(),
            api_key: api_key.clone(),
            isolation: IsolationMode::Required,
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let address = listener.local_addr().expect("bound address");
        let state = State::new(&options, Faults::default())
            .await
            .expect("local provider (is bubblewrap installed? .ci/run installs it)");

        let sweeper = tokio::spawn(state::sweep(state.clone()));
        let app = router(state.clone());
        // Small stream frames must not wait for delayed ACKs (Nagle).
        let listener = listener.tap_io(|tcp| {
            tcp.set_nodelay(true).ok();
        });
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self {
            url: format!("http://{address}"),
            api_key,
            faults: state.faults.clone(),
            state,
            root: options.root,
            server,
            sweeper,
        }
    }

    /// A client configuration aimed at this fake, with short waits so that
    /// retries and stalls do not slow tests down.
    pub fn client_config(&self) -> E2bConfig {
        let mut config = E2bConfig::new(SecretString::from(self.api_key.clone()));
        config.api_url = self.url.clone();
        config.sandbox_url = Some(self.url.clone());
        config.request_timeout = Duration::from_secs(10);
        config.retry_base_delay = Duration::from_millis(20);
        config.stream_idle_timeout = Duration::from_secs(30);
        config
    }

    /// The envd access token of a live sandbox, for raw requests.
    pub fn access_token(&self, id: &str) -> Option<String> {
        self.state
            .live(id)
            .and_then(|sandbox| sandbox.access_token.clone())
    }

    /// How many commands are running in a live sandbox, as envd's
    /// `Process.List` would count them.
    pub fn running_processes(&self, id: &str) -> usize {
        self.state
            .live(id)
            .map_or(0, |sandbox| sandbox.process_count())
    }
}

impl Drop for FakeE2b {
    fn drop(&mut self) {
        self.server.abort();
        self.sweeper.abort();
        std::fs::remove_dir_all(&self.root).ok();
    }
}

/// Serves the fake on `listener` until `shutdown` completes: the body of
/// the `fake-e2b` binary.
pub async fn serve(
    listener: TcpListener,
    options: Options,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let state = State::new(&options, Faults::default())
        .await
        .map_err(|e| format!("starting local sandboxes: {e}"))?;
    let sweeper = tokio::spawn(state::sweep(state.clone()));
    let listener = listener.tap_io(|tcp| {
        tcp.set_nodelay(true).ok();
    });
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("serving: {e}"));
    sweeper.abort();
    served
}

/// The control plane and envd, on one router; envd routes are reached
/// with the `E2b-Sandbox-Id` header.
fn router(state: Arc<State>) -> Router {
    Router::new()
        .merge(control::router(state.clone()))
        .merge(envd::router(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state,
            faults::reject_when_asked,
        ))
}

/// The local provider the fake's sandboxes live in.
async fn local_provider(options: &Options) -> Result<LocalProvider, String> {
    LocalProvider::new(LocalConfig {
        root: options.root.clone(),
        isolation: options.isolation,
        // E2B sandboxes reach the internet unless told otherwise.
        network: true,
    })
    .await
    .map_err(|e| e.to_string())
}

/// The address the binary binds.
pub fn local_address(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
