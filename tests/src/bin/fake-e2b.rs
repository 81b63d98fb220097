//! `fake-e2b --port N`: the fake E2B server on its own, for driving with
//! the official SDKs (see `tests/sdk/`). Point `E2B_API_URL` and
//! `E2B_SANDBOX_URL` at the address it prints and `E2B_API_KEY` at the key.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use hero_tests::fake_e2b::{self, Options};
use hero_worker::sandbox::local::IsolationMode;
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(about = "A fake E2B control plane and envd, backed by local sandboxes")]
struct Args {
    /// Port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Where sandboxes live; a fresh temporary directory by default.
    #[arg(long)]
    root: Option<PathBuf>,
    /// The API key clients must send.
    #[arg(long, env = "FAKE_E2B_API_KEY", default_value = "e2b_fake")]
    api_key: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    let temporary_root = args.root.is_none();
    let root = args
        .root
        .unwrap_or_else(|| std::env::temp_dir().join(format!("fake-e2b-{}", uuid::Uuid::new_v4())));
    let listener = tokio::net::TcpListener::bind(fake_e2b::local_address(args.port)).await?;
    let address = listener.local_addr()?;

    // The address goes to stdout alone, for scripts that start the fake.
    writeln!(std::io::stdout(), "http://{address}")?;
    std::io::stdout().flush()?;
    tracing::info!(%address, root = %root.display(), "fake E2B listening");

    let options = Options {
        root: root.clone(),
        api_key: args.api_key,
        isolation: IsolationMode::Required,
    };
    let served = fake_e2b::serve(listener, options, stop_signal()).await;
    if temporary_root {
        std::fs::remove_dir_all(&root).ok();
    }
    served.map_err(anyhow::Error::msg)
}

/// SIGINT or SIGTERM, so that a script stopping the fake leaves no
/// sandboxes behind.
async fn stop_signal() {
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        tokio::signal::ctrl_c().await.ok();
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("fake E2B stopping");
}
